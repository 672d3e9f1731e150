"""The `kb` command: build and check the knowledge base; other packages add their own commands.

The desk's commands (serve, staff, db, publish...) live in intake_api/cli.py
and join through the `kb.commands` entry point group, loaded only when a
command not defined here is asked for, as Flask loads `flask.commands`:
kb_builder never imports intake_api, and `kb build` does not load the desk.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import click

from .config import KbConfig, load_config
from .errors import KbError
from .official_calendar import calendar_gap

ENTRY_POINT_GROUP = "kb.commands"


@dataclass
class Project:
    """What every `kb` command shares: the kb.yml it was pointed at, read once."""

    config_path: Path | None
    _config: KbConfig | None = field(default=None, repr=False)

    def config(self) -> KbConfig:
        """The validated kb.yml; a problem in it becomes a one-line error naming the key and the fix."""
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except KbError as exc:
                raise click.ClickException(str(exc)) from None
        return self._config

    @property
    def config_file(self) -> Path:
        return self.config_path if self.config_path is not None else self.config().root / "kb.yml"


pass_project = click.make_pass_decorator(Project)


class KbGroup(click.Group):
    """The `kb` group: its own commands, then those that packages register under `kb.commands`.

    Each entry point names a function taking this group (`register(kb)`), as
    datasette's plugins add commands; it is loaded on the first command this
    group does not know, or for the list in `kb --help`.
    """

    _registered: list[str] | None = None  # the entry points loaded, once loaded

    def _register_entry_points(self) -> None:
        if self._registered is not None:
            return
        self._registered = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            ep.load()(self)
            self._registered.append(ep.name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            if self._registered == []:  # an install older than pyproject.toml's entry points
                raise click.UsageError(f"{exc.message} No package adds commands to kb ({ENTRY_POINT_GROUP} entry "
                                       "points): reinstall the project (pip install -e .).", exc.ctx) from None
            raise

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._register_entry_points()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._register_entry_points()
        return super().list_commands(ctx)


@click.group(cls=KbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="KB_CONFIG",
              help="Path to kb.yml (default: ./kb.yml or the nearest parent's; env KB_CONFIG).")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Employee-complaint knowledge base: answers people before they complain."""
    ctx.obj = Project(config_path)


@main.command()
@click.option("--strict", is_flag=True, envvar="KB_STRICT", help="Treat warnings as errors: MkDocs warnings (e.g. broken "
              "links) and personal data found in a case file.")
@click.option("--full", is_flag=True, help="Rebuild every page (default: only pages whose text changed, when "
                                           "theme, settings, hand-written pages and navigation are unchanged).")
@pass_project
def build(project: Project, strict: bool, full: bool) -> None:
    """Validate content, write FAQ pages, build the search index and the site.

    Everything is built beside the live outputs and swapped in at the end:
    when anything fails, the previous site and index stay as they were.
    """
    from .build import build as run_build
    config = project.config()
    try:
        result = run_build(config, strict=strict, full=full)
    except KbError as exc:
        raise click.ClickException(str(exc)) from None
    _warn_personal_data(result.personal_data)
    how = f"incremental: {result.pages_written} pages changed" if result.incremental else "full"
    click.echo(f"Built {result.cases} cases and {result.sops} SOPs ({result.unpublished} unpublished left out), "
               f"{result.pages} generated pages ({how}).")
    click.echo(f"  site:  {config.site_dir}\n  index: {config.index_dir}")
    if config.search.semantic:
        click.echo(f"  sentence vectors: {result.embedded} article lines embedded anew, the rest reused")
    click.echo("  seconds: " + ", ".join(f"{k} {v}" for k, v in result.seconds.items()))
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    warn_calendar(config)


@main.command()
@pass_project
def check(project: Project) -> None:
    """Validate all content files and report every problem; write nothing."""
    from .build import check as run_check
    config = project.config()
    try:
        result = run_check(config)
    except KbError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"OK: {result.cases} published cases, {result.sops} SOPs, {result.unpublished} unpublished.")
    _warn_personal_data(result.personal_data)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    warn_calendar(config)


def _warn_personal_data(problems) -> None:
    """Each find with file, line and kind (never the value); `kb build --strict` fails on them instead."""
    if problems:
        click.echo(f"Warning: {len(problems)} personal data finding{'s' if len(problems) != 1 else ''} in case files "
                   "(`kb build --strict` fails on these):", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)


def warn_calendar(config: KbConfig) -> None:
    """Say when deadlines will soon fall in a year neither the official holiday calendar nor an admin covers."""
    gap = calendar_gap(config)
    if gap:
        click.echo("Warning: " + " / ".join(gap), err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
