"""The `kb` command: help on every subcommand, one-line errors, a real build, the desk's commands joined in."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kb_builder.cli import main

from conftest import COMPLAINT, ROOT, write_case
from test_sla import first_uncovered_year

BUILDER = {"build", "check"}
DESK = {"serve", "worker", "outbox", "db", "staff", "keys", "purge", "publish", "link", "phrasings", "demo-data", "report",
        "capa", "erase-identity"}


def all_commands(group, ctx, prefix=()):
    """Every command path, the entry point's included (they are listed, not in group.commands, until asked for)."""
    for name in group.list_commands(ctx):
        yield prefix + (name,)
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, ctx, prefix + (name,))


COMMANDS = list(all_commands(main, click.Context(main)))


def test_kb_help_lists_the_builders_and_the_desks_commands():
    """The installed `kb` script, as a user runs it: the desk's commands come from the kb.commands entry point."""
    kb = Path(sys.executable).with_name("kb")
    res = subprocess.run([str(kb), "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    listed = {line.split()[0] for line in res.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == BUILDER | DESK, ("the desk's commands are missing: reinstall (pip install -e .) so that the "
                                      "kb.commands entry point of pyproject.toml is in the installed metadata")
    assert {c[0] for c in COMMANDS} == BUILDER | DESK


@pytest.mark.parametrize("args", [()] + COMMANDS, ids=lambda a: " ".join(a) or "kb")
def test_every_command_has_help(args):
    res = CliRunner().invoke(main, [*args, "--help"], prog_name="kb")
    assert res.exit_code == 0
    assert "Usage: kb" in res.output
    assert len(res.output.splitlines()) > 3


def test_build_and_check_do_not_load_the_desk(empty_kb):
    """kb_builder stands alone: only a desk command imports intake_api (and Flask)."""
    code = ("import sys; from kb_builder.cli import main\n"
            "main(['--config', sys.argv[1], 'check'], standalone_mode=False)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'intake_api', 'flask'}))")
    res = subprocess.run([sys.executable, "-c", code, str(empty_kb / "kb.yml")], capture_output=True, text=True,
                         timeout=120, check=False, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == "[]"


def test_check_reports_broken_content_in_one_message(empty_kb):
    write_case(empty_kb, "x", category="nope")
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "check"])
    assert res.exit_code == 1
    assert "Error: 1 content problem found, nothing was changed" in res.output
    assert "Traceback" not in res.output


def test_check_and_build_warn_before_deadlines_reach_a_year_without_official_calendar(empty_kb, monkeypatch):
    from kb_builder import official_calendar
    gap = first_uncovered_year()
    warning = (f"Warning: {gap} 年的法定节假日与调休安排尚未收录", f"The official holiday calendar for {gap} is not known yet")
    monkeypatch.setattr(official_calendar, "local_today", lambda _tz: dt.date(gap - 1, 12, 1))
    for command in ("check", "build"):
        res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), command])
        assert res.exit_code == 0, res.output
        assert all(w in res.output for w in warning), res.output
    monkeypatch.setattr(official_calendar, "local_today", lambda _tz: dt.date(gap - 1, 6, 1))  # 60+ days ahead
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "check"])
    assert res.exit_code == 0 and "holiday calendar" not in res.output


def test_check_and_build_stop_warning_once_an_admin_entered_the_year(empty_kb, db_url, monkeypatch):
    """The days an admin entered in the workspace (the database) cover the year for `kb check` and `kb build` too."""
    from sqlalchemy.orm import Session

    from intake_api.db import make_engine
    from intake_api.models import CalendarDay
    from kb_builder import official_calendar
    gap = first_uncovered_year()
    monkeypatch.setattr(official_calendar, "local_today", lambda _tz: dt.date(gap - 1, 12, 1))
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "check"])
    assert f"The official holiday calendar for {gap} is not known yet" in res.output  # nothing entered yet
    engine = make_engine(db_url)
    with Session(engine) as session:
        session.add(CalendarDay(day=dt.date(gap, 1, 1), kind="holiday", name="元旦", added_by="staff:hr"))
        session.commit()
    engine.dispose()
    for command in ("check", "build"):
        res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), command])
        assert res.exit_code == 0 and "holiday calendar" not in res.output, res.output
    # A database that is not there (or not reachable) has entered nothing: the warning stays, nothing is created.
    missing = empty_kb / "nowhere" / "complaints.db"
    monkeypatch.setenv("KB_DATABASE_URL", f"sqlite:///{missing}")
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "check"])
    assert res.exit_code == 0 and f"holiday calendar for {gap}" in res.output and not missing.parent.exists()
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "check"])
    assert res.exit_code == 0 and f"holiday calendar for {gap}" in res.output


def test_build_and_db_upgrade(empty_kb, tmp_path, monkeypatch):
    write_case(empty_kb, "only-case")
    runner = CliRunner()
    res = runner.invoke(main, ["--config", str(empty_kb / "kb.yml"), "build"])
    assert res.exit_code == 0, res.output
    assert "Built 1 cases and 0 SOPs" in res.output
    assert (empty_kb / "site" / "faq" / "facilities" / "only-case" / "index.html").is_file()
    monkeypatch.setenv("KB_DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite")
    res = runner.invoke(main, ["--config", str(empty_kb / "kb.yml"), "db", "upgrade"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "db.sqlite").is_file()


def test_desk_commands_fail_in_one_line_saying_what_to_do(app, client, built_kb, db_url, monkeypatch):
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    number = client.post("/api/v1/complaints", json=COMPLAINT).get_json()["number"]
    app.extensions["db_engine"].dispose()
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("LANG", "en_GB.UTF-8")  # the shell's language (C and POSIX: Simplified Chinese)
    cases = [
        (["publish", number], f"Error: {number} is “Received”: only a resolved complaint with a response can be "
                              "published"),
        (["erase-identity", "TS-2026-999999", "--reason", "request"],
         "Error: No complaint TS-2026-999999 (numbers look like TS-2026-000123)"),
        (["staff", "create", "li", "--password", "short"],
         "Error: The password needs at least 10 characters"),
        (["staff", "create", "li", "--team", "nope", "--password", "long enough"],
         "Error: Unknown teams nope: use hr-desk, "),  # every team follows
        (["report", "--quarter", "2026Q5"],  # a usage error: click adds the usage line above
         "Error: Invalid value for --quarter: quarter '2026Q5': write it as YYYYQn, e.g. 2026Q4"),
    ]
    for args, message in cases:
        res = CliRunner().invoke(main, ["--config", str(built_kb / "kb.yml"), *args])
        assert res.exit_code != 0, args
        assert res.output.splitlines()[-1] == message or res.output.startswith(message), res.output
        assert "Traceback" not in res.output
    monkeypatch.setenv("LANG", "C.UTF-8")
    res = CliRunner().invoke(main, ["--config", str(built_kb / "kb.yml"), "publish", number])
    assert res.output.splitlines()[-1] == f"Error: {number} 的状态是“已受理”：只有已反馈结果且有答复的投诉才能发布为文章"
    # A number is a number whatever its case.
    res = CliRunner().invoke(main, ["--config", str(built_kb / "kb.yml"), "erase-identity", number.lower(),
                                    "--reason", "request of 2026-11-20"])
    assert res.exit_code == 0 and res.output == f"Erased the identity on {number}.\n"


def test_an_unreachable_database_is_named_with_the_fix(empty_kb, monkeypatch):
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql://kb:secret@127.0.0.1:1/complaints")
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "db", "upgrade"])
    assert res.exit_code == 1
    assert res.output.startswith("Error: postgresql://kb:***@127.0.0.1:1/complaints: ")
    assert "(is it running? check KB_DATABASE_URL or paths.database in kb.yml)" in res.output
    assert len(res.output.splitlines()) == 1 and "secret" not in res.output


def test_an_install_without_the_entry_points_says_to_reinstall(monkeypatch):
    from kb_builder import cli
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    bare = cli.KbGroup(commands={"build": cli.build, "check": cli.check}, params=main.params, callback=main.callback)
    res = CliRunner().invoke(bare, ["serve"])
    assert res.exit_code == 2
    assert res.output.splitlines()[-1] == ("Error: No such command 'serve'. No package adds commands to kb "
                                           "(kb.commands entry points): reinstall the project (pip install -e .).")
    assert CliRunner().invoke(main, ["serv"]).output.splitlines()[-1] == "Error: No such command 'serv'. Did you mean 'serve'?"
