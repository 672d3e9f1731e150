"""The one module that owns the database: engine, sessions and migrations."""

from __future__ import annotations

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
    configure_crypto(kb.path("database").parent)
    engine = make_engine(kb.db_url)
    upgrade(engine)
    return engine


def init_app(app: Flask) -> None:
    configure_crypto(Path(app.config["INSTANCE_DIR"]), app.config.get("IDENTITY_KEYS"))
    engine = make_engine(app.config["DATABASE_URL"])
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
