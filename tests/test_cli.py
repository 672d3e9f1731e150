"""The `kb` command: help on every subcommand, one-line errors, a real build."""

import pytest
from click.testing import CliRunner

from kb_builder.cli import main

from conftest import write_case


def all_commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,)
        if hasattr(cmd, "commands"):
            yield from all_commands(cmd, prefix + (name,))


@pytest.mark.parametrize("args", [()] + list(all_commands(main)), ids=lambda a: " ".join(a) or "kb")
def test_every_command_has_help(args):
    res = CliRunner().invoke(main, [*args, "--help"], prog_name="kb")
    assert res.exit_code == 0
    assert "Usage: kb" in res.output
    assert len(res.output.splitlines()) > 3


def test_check_reports_broken_content_in_one_message(empty_kb):
    write_case(empty_kb, "x", category="nope")
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "check"])
    assert res.exit_code == 1
    assert "Error: 1 content problem found, nothing was changed" in res.output
    assert "Traceback" not in res.output


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
