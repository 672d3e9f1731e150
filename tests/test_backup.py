"""`kb db backup`: a consistent copy of the live SQLite database, taken while complaints keep coming."""

import sqlite3
import threading

from click.testing import CliRunner

from conftest import COMPLAINT
from kb_builder.cli import main


def test_backup_while_complaints_arrive_is_complete_and_self_contained(built_kb, tmp_path, monkeypatch):
    from intake_api import create_app

    url = f"sqlite:///{tmp_path / 'live.db'}"
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": url}, "TESTING": True,
                      "RATELIMIT_ENABLED": False})
    client = app.test_client()
    for _ in range(20):
        assert client.post("/api/v1/complaints", json=COMPLAINT).status_code == 201

    def keep_submitting():
        other = app.test_client()
        for _ in range(30):
            assert other.post("/api/v1/complaints", json=COMPLAINT).status_code == 201

    writer = threading.Thread(target=keep_submitting)
    writer.start()
    monkeypatch.setenv("KB_DATABASE_URL", url)
    target = tmp_path / "backups" / "kb-2026-11-30.db"
    target.parent.mkdir()
    res = CliRunner().invoke(main, ["--config", str(built_kb / "kb.yml"), "db", "backup", str(target)])
    writer.join()
    assert res.exit_code == 0, res.output
    assert "identity keys" in res.output
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file, no WAL beside it
        count, = copy.execute("SELECT count(*) FROM complaints").fetchone()
        assert 20 <= count <= 50 and f"Backed up {count} complaints" in res.output
        assert copy.execute("SELECT count(*) FROM complaints WHERE number IS NULL OR tracking_hash IS NULL"
                            ).fetchone() == (0,)
    finally:
        copy.close()
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    app.extensions["db_engine"].dispose()

    # Never over an existing backup, and PostgreSQL is sent to its own tools.
    again = CliRunner().invoke(main, ["--config", str(built_kb / "kb.yml"), "db", "backup", str(target)])
    assert again.exit_code == 1 and "already exists" in again.output and str(target) in again.output
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    pg = CliRunner().invoke(main, ["--config", str(built_kb / "kb.yml"), "db", "backup", str(tmp_path / "x.db")])
    assert pg.exit_code == 1 and "pg_dump" in pg.output and "Traceback" not in pg.output


def test_a_failed_backup_leaves_nothing_behind(tmp_path):
    import pytest

    from intake_api.db import BackupError, backup_sqlite
    broken = tmp_path / "live.db"
    broken.write_bytes(b"this is not a database" * 100)
    target = tmp_path / "out" / "backup.db"
    target.parent.mkdir()
    with pytest.raises(BackupError) as info:
        backup_sqlite(f"sqlite:///{broken}", target)
    assert str(target) in str(info.value)
    assert list(target.parent.iterdir()) == []
