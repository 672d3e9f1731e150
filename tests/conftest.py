"""Fixtures: a copy of the project in a temp dir, built once; apps on copies of a database migrated once."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import uuid
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("kb.yml", "mkdocs.yml")
PROJECT_DIRS = ("docs", "overrides", "content")

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
# What the recogniser learns from an examples file is kept between processes (kb_builder/recognise_store.py,
# keyed by the file's content): one folder for the whole run spares each `kb serve` a test starts 7 s of learning.
os.environ.setdefault("KB_CACHE_DIR", str(ROOT / "build" / "test-cache"))


def _cheap_password_hashes() -> None:
    """argon2's own test profile for passwords hashed in the test processes.

    The product's hasher costs about 0.15 s of CPU per hash and per check, on purpose; the suite creates
    and logs in staff hundreds of times (a third of test_accounts.py's time was argon2). Servers a test
    starts (`kb serve`, workers) keep the real cost, and test_access.py checks the product's parameters
    in a process of its own. A cheap hash checked by a server is re-hashed at the real cost on login.
    """
    from argon2 import PasswordHasher, profiles

    from intake_api import auth
    auth._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    auth._DUMMY_HASH = auth._hasher.hash("unknown users are checked against this")


_cheap_password_hashes()


def copy_project(dest: Path, content: bool = True) -> Path:
    """The project's configuration, hand-written docs and (optionally) sample content."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, dest / name)
    for name in PROJECT_DIRS:
        if name == "content" and not content:
            (dest / "content" / "cases").mkdir(parents=True)
            (dest / "content" / "sops").mkdir(parents=True)
            # HR's examples of danger and harassment are settings, not articles: always there.
            shutil.copy(ROOT / "content" / "recognise.yml", dest / "content" / "recognise.yml")
            shutil.copytree(ROOT / "content" / "notifications", dest / "content" / "notifications")
            continue
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("faq", "sop", "__pycache__"))
    return dest


def write_case(folder: Path, case_id: str, front: str | None = None, body: str = "## 问题\n\n正文。\n", **fields) -> Path:
    """Write a case file; `front` replaces the whole front matter when given."""
    if front is None:
        data = {"id": case_id, "title": f"标题 {case_id}", "category": "facilities", "tags": "[测试]",
                "language": "zh-Hans", "questions": "\n  - 问题一\n  - 问题二", "resolved": "2026-10-01",
                "published": "true"}
        data.update(fields)
        front = "\n".join(f"{k}: {v}" for k, v in data.items() if v is not None)
    path = folder / "content" / "cases" / f"{case_id}.md"
    path.write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")
    return path


@pytest.fixture
def kb_tree(tmp_path: Path) -> Path:
    """A fresh copy of the project with the sample content, not built."""
    return copy_project(tmp_path / "kb")


@pytest.fixture
def empty_kb(tmp_path: Path) -> Path:
    """A project copy with no content at all, for small hand-made trees."""
    return copy_project(tmp_path / "kb", content=False)


@pytest.fixture(scope="session")
def built_kb(tmp_path_factory) -> Path:
    """The sample knowledge base, built once for the whole session (read-only for tests)."""
    from kb_builder.build import build
    from kb_builder.config import load_config

    root = copy_project(tmp_path_factory.mktemp("built") / "kb")
    build(load_config(root / "kb.yml"))
    return root


# The PostgreSQL server every machine runs (trust auth); each test gets its own database.
PG_ADMIN_URL = os.environ.get("KB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


class TemplateDatabases:
    """One migrated database per backend for the session; each test gets a copy of it.

    Migrating took most of an `app` fixture's time (Alembic runs every
    revision); copying a migrated SQLite file or `CREATE DATABASE … TEMPLATE`
    costs a fraction of that. Tests of the migrations themselves use empty
    databases of their own.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.templates: dict[str, str] = {}  # backend -> SQLite file or PostgreSQL database name
        self.created: list[str] = []  # PostgreSQL templates to drop at the end, migrated or not
        self._admin = None

    @property
    def admin(self):
        from sqlalchemy import create_engine
        if self._admin is None:
            self._admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        return self._admin

    def _pg(self, sql: str) -> None:
        from sqlalchemy import text
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    @staticmethod
    def _pg_url(name: str) -> str:
        from sqlalchemy.engine import make_url
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def _migrate(self, url: str) -> None:
        from intake_api.db import make_engine, upgrade
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()  # PostgreSQL copies a template only while nobody is connected to it

    def template(self, backend: str) -> str:
        """The migrated template of a backend, made on first use."""
        if backend not in self.templates:
            if backend == "sqlite":
                path = self.folder / "template.db"
                self._migrate(f"sqlite:///{path}")
                with sqlite3.connect(path) as conn:  # one self-contained file: no WAL beside it to copy
                    conn.execute("PRAGMA journal_mode=DELETE")
                self.templates[backend] = str(path)
            else:
                name = f"kbt_tmpl_{uuid.uuid4().hex[:12]}"
                self._pg(f'CREATE DATABASE "{name}"')
                self.created.append(name)
                self._migrate(self._pg_url(name))
                self.templates[backend] = name
        return self.templates[backend]

    def copy(self, backend: str, folder: Path) -> str:
        """A migrated database of its own: SQLite in folder, or a new PostgreSQL database."""
        template = self.template(backend)
        if backend == "sqlite":
            path = folder / "complaints.db"
            shutil.copyfile(template, path)
            return f"sqlite:///{path}"
        name = f"kbt_{uuid.uuid4().hex[:16]}"
        self._pg(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self._pg_url(name)

    def drop(self, url: str) -> None:
        if url.startswith("postgresql"):
            from sqlalchemy.engine import make_url
            self._pg(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        for name in self.created:
            self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self._admin is not None:
            self._admin.dispose()


def pytest_sessionstart(session):
    """Learn the recogniser once, before xdist starts its workers (xdist's own hook runs last).

    Otherwise every worker of a fresh clone learnt it at the same moment, each for about 14 s of CPU, into
    the store they share (KB_CACHE_DIR); they now read it back.
    """
    if hasattr(session.config, "workerinput") or session.config.option.collectonly:
        return
    from intake_api.sensitive import recogniser
    from kb_builder.config import load_config
    recogniser(load_config(ROOT / "kb.yml"))


def pytest_collection_modifyitems(config, items):
    """A test marked backend("sqlite") or backend("postgresql") keeps only its run on that database.

    Every test through the desk, the API (Flask's client), the migrations and the concurrency paths runs on
    both databases. A test through gunicorn and a browser checks the page, the script and the server, none of
    which depends on the database; run on both it cost minutes of the suite's budget for nothing more. The
    end-to-end files alternate between the two, so each database is also driven end to end.
    """
    keep, dropped = [], []
    for item in items:
        mark = item.get_closest_marker("backend")
        params = item.callspec.params if hasattr(item, "callspec") else {}
        backend = params.get("db_url") or params.get("live_db_url")
        if mark is not None and backend is not None and backend != mark.args[0]:
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    # The longest files first: xdist's loadfile hands files to workers in this order, and a long file
    # started last kept one worker busy minutes after the others had finished.
    items.sort(key=lambda item: _FIRST.get(Path(str(item.fspath)).name, len(_FIRST)))


# Test files by their measured worker time, longest first (`pytest --durations=0`, stop 32: 80–240 s each);
# the others follow in their usual order. Only the order changes: a stale list costs time, never a test.
_FIRST = {name: rank for rank, name in enumerate((
    "test_notifications.py", "test_recognise.py", "test_review_figures.py", "test_i18n_browser.py",
    "test_privacy.py", "test_hardening.py", "test_accounts.py", "test_learning.py", "test_attachments.py",
    "test_search.py", "test_hostile_input.py", "test_build.py", "test_crafted_input.py", "test_publishing.py",
    "test_investigation.py", "test_browser.py", "test_fuzz.py", "test_form_status_browser.py"))}


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory):
    templates = TemplateDatabases(tmp_path_factory.mktemp("db-templates"))
    yield templates
    templates.close()


@pytest.fixture(params=BACKENDS)
def db_url(request, db_templates: TemplateDatabases, tmp_path: Path):
    """A database of its own, already migrated: a SQLite file, or a PostgreSQL database dropped afterwards."""
    url = db_templates.copy(request.param, tmp_path)
    yield url
    db_templates.drop(url)


@pytest.fixture
def app(built_kb: Path, db_url: str):
    from intake_api import create_app

    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url},
                      "TESTING": True})
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def query_db(db_url: str, sql: str, **params) -> list[tuple]:
    """Read the database directly, as an outside observer would (JSON columns as Python values)."""
    import json

    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(sql), params).fetchall()
    finally:
        engine.dispose()

    def value(v):
        if isinstance(v, str) and v[:1] in "[{":
            try:
                return json.loads(v)
            except ValueError:
                return v
        return v
    return [tuple(value(v) for v in row) for row in rows]


def plan_notifications(app) -> int:
    """The worker's first step, alone: the history the desk recorded, turned into outbox messages."""
    from sqlalchemy.orm import Session

    from intake_api import notify
    total = 0
    with Session(app.extensions["db_engine"]) as session:
        while (n := notify.plan_pending(session, app.config["KB"], app.extensions["kb_clock"].zone)) > 0:
            total += n
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_kb_serve(kb_yml: Path, db_url: str, output=subprocess.PIPE, notifications: bool = False,
                   start_seconds: float = 120, **env_changes):
    """`kb serve` (gunicorn, 2 workers) on a free port, once it answers: (process, base URL).

    output: where its log goes (a pipe, or an open file the test reads later);
    notifications: also run its notification worker (off unless a test looks at messages: it is a process more);
    start_seconds: how long it may take to answer (a test that needs its own server on a busy machine waits longer);
    env_changes: variables to set, or to remove when given as None.
    """
    port = free_port()
    env = dict(os.environ, KB_CONFIG=str(kb_yml), KB_DATABASE_URL=db_url)
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    kb = Path(sys.executable).with_name("kb")
    worker = [] if notifications else ["--no-notifications"]
    proc = subprocess.Popen([str(kb), "serve", "--port", str(port), "--workers", "2", *worker], env=env,
                            stdout=output, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + start_seconds  # a loaded 2-core machine takes its time to load the encoder
    while True:
        try:
            urllib.request.urlopen(url + "/api/v1/meta", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                log = proc.stdout.read() if proc.stdout else f"(log in {getattr(output, 'name', output)})"
                raise RuntimeError("kb serve did not start:\n" + log)
            time.sleep(0.2)


def stop_kb_serve(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def empty_tables(db_url: str) -> None:
    """Delete every row and keep the schema: a shared server's database as good as new for the next test."""
    from sqlalchemy import create_engine

    from intake_api.models import Base
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):  # rows that others point to go last
                conn.execute(table.delete())
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def live_db_url(request, db_templates: TemplateDatabases, tmp_path_factory):
    """The database of the module's live server (migrated); query this one in tests that use `live_server`."""
    url = db_templates.copy(request.param, tmp_path_factory.mktemp("live"))
    yield url
    db_templates.drop(url)


@pytest.fixture(scope="module")
def module_server(built_kb: Path, live_db_url: str):
    """`kb serve` (gunicorn, 2 workers) on a free port, started once for a module's tests."""
    proc, url = start_kb_serve(built_kb / "kb.yml", live_db_url)
    yield url
    stop_kb_serve(proc)


@pytest.fixture
def live_server(request, module_server: str, live_db_url: str) -> str:
    """The module's `kb serve`, its database emptied for this test: the rows a test counts are its own.

    Starting gunicorn per test cost seconds each; a test that needs a server
    configured its own way starts one with start_kb_serve.
    """
    if "db_url" in request.fixturenames:
        pytest.fail("live_server uses the database in live_db_url: query that one; db_url (also behind app "
                    "and client) would be a second, unrelated database")
    empty_tables(live_db_url)
    return module_server


@pytest.fixture(scope="session")
def static_site(built_kb: Path):
    """The built site under a plain static HTTP server in a thread: all MkDocs' own search needs."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from kb_builder.config import load_config

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    site = load_config(built_kb / "kb.yml").path("site")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_staff(app):
    """Create staff accounts in the app's database: make_staff('fac', 'handler', ['facilities'])."""
    from intake_api.auth import create_staff
    from intake_api.db import get_session

    def make(username: str, role: str = "handler", teams: list[str] | None = None):
        with app.app_context():
            session = get_session()
            user = create_staff(session, username, PASSWORD, role, teams or [])
            session.commit()
            return user.username
    return make


def api_login(client, username: str) -> str:
    """Log in through the staff API; return the CSRF token for later requests."""
    res = client.post("/api/v1/staff/login", json={"username": username, "password": PASSWORD})
    assert res.status_code == 200, res.get_json()
    token = res.get_json()["csrf_token"]
    client.environ_base["HTTP_X_CSRFTOKEN"] = token  # every staff API request carries it (boundary.py)
    return token


COMPLAINT = {
    "category": "facilities",
    "description": "三楼茶水间的饮水机坏了，已经两天没有热水",
    "request": "请尽快修好",
    "occurred_at": "2026-11-20",
    "location": "A 栋 3 楼茶水间",
}


# Debian's chromium, driven by Playwright (never a downloaded browser): one per test module, a fresh
# context per test. Browser test files use these fixtures; the launch arguments are shared with the
# one test that starts its own (test_attachments) and the benchmarks.
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A Simplified-Chinese desktop page in a context of its own."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def token_of(html: str) -> str:
    """The CSRF token a workspace form carries."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def workspace_login(app, username: str, password: str = PASSWORD):
    """A test client logged in to the workspace through its login form (CSRF token included)."""
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    res = client.post("/staff/login", data={"username": username, "password": password, "csrf_token": token_of(page)})
    assert res.status_code == 302
    return client
