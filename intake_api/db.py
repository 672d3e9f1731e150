"""The one module that owns the database: engine, sessions and migrations."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
CONNECT_TIMEOUT = 5  # seconds; a connect_timeout in the database URL wins


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers and the writer work at once; synchronous=FULL makes a
    # committed complaint survive a power cut, which an acknowledgement promises.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # libpq waits for an unreachable server as long as TCP does (minutes): give
    # up after CONNECT_TIMEOUT seconds so a request fails cleanly and the
    # health check answers 503, long before gunicorn kills the worker (30 s).
    query = {k.lower() for k in parsed.query}
    connect_args = {} if "connect_timeout" in query else {"connect_timeout": CONNECT_TIMEOUT}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


class BackupError(Exception):
    """A backup that cannot be made; the message says why and what to do."""


def backup_sqlite(url: str, target: Path) -> int:
    """Copy the live SQLite database to target, as it was at one moment; return its complaint count.

    Copying the file while `kb serve` writes can catch a page half-written,
    and misses what is still in the WAL file. SQLite's online backup API
    copies a consistent snapshot, the WAL included, while writers go on. The
    copy is checked (integrity_check), made a single self-contained file
    (no WAL), and only then given its name: a failed backup leaves nothing
    that looks like one.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError("the database is PostgreSQL: back it up with its own tools "
                          "(pg_dump -Fc, or continuous archiving); `kb db backup` copies the embedded SQLite file")
    source = Path(parsed.database or "")
    if not source.is_file():
        raise BackupError(f"{source}: no database file here (check KB_DATABASE_URL / paths.database in kb.yml)")
    if target.exists():
        raise BackupError(f"{target}: already exists; choose a new file name (a backup never overwrites one)")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=10)
    dst = sqlite3.connect(partial)
    try:
        # One step, one read transaction: in WAL mode writers go on meanwhile, and a
        # stepwise copy would start over each time another connection wrote.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"{target}: the copy failed its integrity check; nothing was written, try again")
        count = dst.execute("SELECT count(*) FROM complaints").fetchone()[0]
        dst.commit()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{target}: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        dst.close()
        src.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)
    return count


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to date with Alembic."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def configure_crypto(instance_dir: Path, keys: list[str] | None = None) -> None:
    """Load the identity keys before anything reads or writes identity fields (migrations too)."""
    from . import crypto
    crypto.configure(keys or crypto.load_keys(Path(instance_dir)))


def prepare(kb) -> Engine:
    """Keys configured and schema up to date: what every `kb` database command needs first."""
    configure_crypto(kb.instance_dir, list(kb.secrets.identity_keys))
    engine = make_engine(kb.db_url)
    upgrade(engine)
    return engine


def init_app(app: Flask) -> None:
    kb = app.config["KB"]
    configure_crypto(kb.instance_dir, list(kb.secrets.identity_keys))
    engine = make_engine(kb.db_url)
    if app.config.get("DB_AUTO_MIGRATE", True):
        upgrade(engine)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    """The request's session, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def close_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
