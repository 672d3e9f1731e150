"""operations/configuration.md agrees with the declarations (as datasette's test_docs checks its settings)."""

import re
from pathlib import Path

import click

from kb_builder import config_reference, settings
from kb_builder.cli import main as kb_command

ROOT = Path(__file__).resolve().parents[1]
REGENERATE = "run `python -m kb_builder.config_reference --write` and commit operations/configuration.md"


def documented(pattern: str) -> set[str]:
    """First-column names of the reference's table rows that match pattern."""
    text = config_reference.REFERENCE.read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", text, re.MULTILINE) if re.fullmatch(pattern, m.group(1))}


def test_every_kb_yml_key_is_documented_and_every_documented_key_exists():
    declared = {k.name for k in config_reference.kb_yml_keys()}
    in_file = documented(r"[a-z_][a-z0-9_.<>\[\]]*")
    assert not declared - in_file, f"kb.yml keys missing from operations/configuration.md: {declared - in_file}; {REGENERATE}"
    assert not in_file - declared, f"documented kb.yml keys that do not exist: {in_file - declared}; {REGENERATE}"


def test_every_environment_variable_is_documented_and_every_documented_one_is_declared():
    declared = {v.name for v in settings.ALL_ENVIRONMENT}
    in_file = documented(r"[A-Z][A-Z0-9_]*")
    assert not declared - in_file, f"variables missing from operations/configuration.md: {declared - in_file}; {REGENERATE}"
    assert not in_file - declared, f"documented variables that are not declared: {in_file - declared}; {REGENERATE}"


def test_the_reference_is_exactly_what_the_declarations_generate():
    assert config_reference.REFERENCE.read_text(encoding="utf-8") == config_reference.render(), REGENERATE


def test_every_key_and_variable_has_help():
    no_help = [k.name for k in config_reference.kb_yml_keys() if not k.help]
    assert not no_help, f"kb.yml keys without help: {no_help}; add a docstring under the field"
    assert all(v.help for v in settings.ALL_ENVIRONMENT)


def test_every_variable_a_kb_option_reads_is_declared_with_that_option():
    declared = {v.name: set(v.option.split(", ")) for v in settings.ENVIRONMENT if v.option}

    def options(cmd: click.Command, path: str):
        for param in cmd.params:
            if isinstance(param, click.Option) and param.envvar:
                yield param.envvar, f"{path} {param.opts[0]}"
        if isinstance(cmd, click.Group):  # through list_commands: a group may load its commands lazily
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                yield from options(cmd.get_command(ctx, name), f"{path} {name}")

    found: dict[str, set[str]] = {}
    for name, option in options(kb_command, "kb"):
        found.setdefault(name, set()).add(option)
    assert found == declared, "click envvar= options and kb_builder/settings.py disagree"


def test_no_module_reads_a_kb_variable_itself():
    """KB_* variables are read by load_config only (or by click, for the options declared above)."""
    readers = re.compile(r"(os\.environ|getenv)[^\n]*[\"'](KB_[A-Z_]+)")
    offenders = []
    for package in ("kb_builder", "intake_api"):
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(2)}" for m in readers.finditer(path.read_text())]
    # Until the desk's commands leave kb_builder/cli.py (issue 17, point 2); in intake_api/cli.py
    # `kb keys rotate` must take config.secrets.identity_keys instead.
    offenders = [o for o in offenders if o != "kb_builder/cli.py: KB_IDENTITY_KEYS"]
    assert not offenders, f"read through load_config (kb_builder/settings.py declares them): {offenders}"


def test_every_kb_variable_named_in_the_code_is_declared():
    names = set()
    for package in ("kb_builder", "intake_api", "tests", "benchmarks", "scripts"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"\bKB_[A-Z][A-Z0-9_]*\b", path.read_text(encoding="utf-8")))
    names -= {"KB_OVERRIDES"}  # create_app's test_config key, not a variable
    undeclared = names - {v.name for v in settings.ALL_ENVIRONMENT}
    assert not undeclared, f"declare these in kb_builder/settings.py: {undeclared}"
