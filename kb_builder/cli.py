"""The `kb` command: build the knowledge base, check content, serve, manage the database."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import KbError


def _config(ctx: click.Context):
    from .config import load_config
    try:
        return load_config(ctx.obj["config_path"])
    except KbError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="KB_CONFIG",
              help="Path to kb.yml (default: ./kb.yml or the nearest parent's; env KB_CONFIG).")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Employee-complaint knowledge base: answers people before they complain."""
    ctx.obj = {"config_path": config_path}


@main.command()
@click.option("--strict", is_flag=True, envvar="KB_STRICT", help="Treat warnings as errors: MkDocs warnings (e.g. broken "
              "links) and personal data found in a case file.")
@click.option("--full", is_flag=True, help="Rebuild every page (default: only pages whose text changed, when "
                                           "theme, settings, hand-written pages and navigation are unchanged).")
@click.pass_context
def build(ctx: click.Context, strict: bool, full: bool) -> None:
    """Validate content, write FAQ pages, build the search index and the site.

    Everything is built beside the live outputs and swapped in at the end:
    when anything fails, the previous site and index stay as they were.
    """
    from .build import build as run_build
    config = _config(ctx)
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
    _warn_calendar(config)


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate all content files and report every problem; write nothing."""
    from .build import check as run_check
    config = _config(ctx)
    try:
        result = run_check(config)
    except KbError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"OK: {result.cases} published cases, {result.sops} SOPs, {result.unpublished} unpublished.")
    _warn_personal_data(result.personal_data)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    _warn_calendar(config)


def _warn_personal_data(problems) -> None:
    """Each find with file, line and kind (never the value); `kb build --strict` fails on them instead."""
    if problems:
        click.echo(f"Warning: {len(problems)} personal data finding{'s' if len(problems) != 1 else ''} in case files "
                   "(`kb build --strict` fails on these):", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)


def _warn_calendar(config) -> None:
    """Say when deadlines will soon fall in a year the official holiday calendar does not cover yet."""
    from intake_api.sla import calendar_warning, make_clock
    clock = make_clock(config)
    years = clock.calendar.years_without_official_calendar(clock.today())
    if years:
        click.echo("Warning: " + " / ".join(calendar_warning(years)), err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, envvar="KB_PORT", help="Port to listen on (env KB_PORT).")
@click.option("--workers", default=2, show_default=True, help="Number of worker processes.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Serve the built site and the intake API together with gunicorn."""
    from intake_api import create_app
    from intake_api.serve import run
    config = _config(ctx)
    if not (config.index_dir / "kb-index.json").is_file():
        raise click.ClickException(f"no index at {config.index_dir}: run `kb build` first")
    app = create_app({"KB_CONFIG": str(config.root / "kb.yml") if ctx.obj["config_path"] is None
                      else str(ctx.obj["config_path"])})
    _warn_calendar(config)
    _first_run_hint(app)
    click.echo(f"Serving {config.site_dir} and the API on http://{host}:{port}/ ({workers} workers)")
    run(app, host=host, port=port, workers=workers)


def _first_run_hint(app) -> None:
    """With no staff account yet the desk cannot be used: say how to create the first admin."""
    from sqlalchemy import func, select

    from intake_api.db import get_session
    from intake_api.models import StaffUser
    with app.app_context():
        if get_session().scalar(select(func.count()).select_from(StaffUser)):
            return
    kb = sys.argv[0] if sys.argv and sys.argv[0].endswith("kb") else "kb"
    click.echo("No staff account yet. Create the first admin (it asks for a password), then log in at /staff/:")
    click.echo(f"  {kb} staff create admin --role admin")


def _complaint(session, number: str):
    """The complaint with this number, or a one-line error."""
    from sqlalchemy import select

    from intake_api.models import Complaint
    c = session.scalar(select(Complaint).where(Complaint.number == number))
    if c is None:
        raise click.ClickException(f"no complaint {number} (numbers look like TS-2026-000123)")
    return c


@main.group()
def db() -> None:
    """Database tasks."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply pending schema migrations to the configured database."""
    from intake_api.db import prepare
    config = _config(ctx)
    prepare(config)
    click.echo(f"Database is up to date: {config.db_url.split('@')[-1]}")


@db.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup(ctx: click.Context, target: Path) -> None:
    """Copy the embedded SQLite database to TARGET while the server runs (a consistent snapshot)."""
    from intake_api.db import BackupError, backup_sqlite
    config = _config(ctx)
    try:
        count = backup_sqlite(config.db_url, target)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up {count} complaints to {target}.")
    click.echo("Identity fields in it are encrypted: keep the identity keys (instance/identity.keys or "
               "KB_IDENTITY_KEYS) too, stored apart from the backup.")


@main.group()
def staff() -> None:
    """Staff accounts for the workspace (/staff/)."""


@staff.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["handler", "admin", "relations"]), default="handler", show_default=True,
              help="handler: the complaints of their teams; admin: all complaints; relations (employee "
                   "relations): also every confidential complaint and its complainant's identity.")
@click.option("--team", "teams", multiple=True, help="A team id from process.teams in kb.yml (repeatable).")
@click.option("--name", "display_name", help="Name shown in the workspace (default: the username).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, envvar="KB_STAFF_PASSWORD",
              help="At least 10 characters; asked for when not given (env KB_STAFF_PASSWORD).")
@click.pass_context
def staff_create(ctx: click.Context, username: str, role: str, teams: tuple[str, ...], display_name: str | None,
                 password: str) -> None:
    """Create a staff account (the password is stored as an argon2 hash)."""
    from sqlalchemy.orm import Session

    from intake_api.auth import StaffError, create_staff
    from intake_api.db import prepare
    config = _config(ctx)
    with Session(prepare(config)) as session:
        try:
            create_staff(session, username, password, role, list(teams), display_name,
                         known_teams=[t.id for t in config.process.teams])
        except StaffError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(f"Created {role} '{username}'" + (f" in teams {', '.join(teams)}" if teams else "") + ".")


@main.group()
def keys() -> None:
    """Identity encryption keys (identity fields are encrypted at rest)."""


@keys.command("new")
def keys_new() -> None:
    """Print a new key (for KB_IDENTITY_KEYS)."""
    from cryptography.fernet import Fernet
    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
@click.option("--generate/--no-generate", default=True, show_default=True,
              help="Put a new key in front of instance/identity.keys first. With KB_IDENTITY_KEYS, use "
                   "--no-generate after listing the new key first.")
@click.pass_context
def keys_rotate(ctx: click.Context, generate: bool) -> None:
    """Re-encrypt every identity field with the newest key, then drop the old keys from the key file."""
    import os

    from cryptography.fernet import Fernet
    from sqlalchemy.orm import Session

    from intake_api import crypto, privacy
    from intake_api.db import configure_crypto, prepare
    config = _config(ctx)
    instance = config.path("database").parent
    key_file = instance / "identity.keys"
    env_keys = os.environ.get("KB_IDENTITY_KEYS")
    engine = prepare(config)  # loads the current keys, creating the file on first use
    if generate and env_keys:
        raise click.ClickException("KB_IDENTITY_KEYS is set: put the new key first there and use --no-generate")
    old = crypto.parse_keys(env_keys) if env_keys else crypto.load_keys(instance)
    ring = ([Fernet.generate_key().decode()] if generate else []) + old
    configure_crypto(instance, ring)
    with Session(engine) as session:
        n = privacy.rotate_keys(session)
        session.commit()
    if generate:
        key_file.write_text("# Identity encryption keys, newest first. Keep a copy apart from database backups.\n"
                            + ring[0] + "\n")
        os.chmod(key_file, 0o600)
        click.echo(f"Re-encrypted {n} complaints with a new key; old keys removed from {key_file}.")
    else:
        click.echo(f"Re-encrypted {n} complaints with the first key of KB_IDENTITY_KEYS; you can now drop the others.")


@main.command()
@click.option("--older-than-days", type=int, help="Default: process.privacy.retention_days in kb.yml.")
@click.option("--dry-run", is_flag=True, help="List what would be purged; change nothing.")
@click.pass_context
def purge(ctx: click.Context, older_than_days: int | None, dry_run: bool) -> None:
    """Remove text and identity from closed complaints past the retention period (counts are kept)."""
    from sqlalchemy.orm import Session

    from intake_api import privacy
    from intake_api.db import prepare
    config = _config(ctx)
    days = older_than_days or config.process.privacy.retention_days
    with Session(prepare(config)) as session:
        numbers = privacy.purge(session, days, dry_run=dry_run)
        session.commit()
    verb = "Would purge" if dry_run else "Purged"
    click.echo(f"{verb} {len(numbers)} closed complaints older than {days} days" + (": " + ", ".join(numbers) if numbers else "."))


@main.command()
@click.argument("number")
@click.option("--approve", is_flag=True, help="Write it as published: true (default: a draft, published: false).")
@click.pass_context
def publish(ctx: click.Context, number: str, approve: bool) -> None:
    """Write a resolved complaint as a redacted case file under content/cases/ (a draft unless --approve)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from intake_api import publish as pub
    from intake_api.db import prepare
    from intake_api.models import StaffUser
    from intake_api.process import record
    config = _config(ctx)
    with Session(prepare(config)) as session:
        c = _complaint(session, number)
        if c.status not in ("resolved", "closed") or not c.response:
            raise click.ClickException(f"{number} is {c.status}: only a resolved complaint with a response can be published")
        staff = [n for u in session.scalars(select(StaffUser)) for n in (u.username, u.display_name)]
        draft = pub.read_draft(config, number.lower()) or pub.draft_from(config, c, staff)
        try:
            path = pub.write_case(config, draft, pub.redactor_for(config, c, staff), published=approve)
        except KbError as exc:
            raise click.ClickException(str(exc)) from None
        record(session, c, "admin:cli", "article_published" if approve else "article_draft", None, path.name)
        session.commit()
    state = "published" if approve else "draft (published: false)"
    click.echo(f"Wrote {path} as a {state}. Review it, then run `kb build`.")


@main.command("demo-data")
@click.option("--quarter", default="2026Q3", show_default=True, help="Which quarter to fill, as YYYYQn.")
@click.option("--complaints", default=400, show_default=True, help="How many ordinary complaints.")
@click.option("--seed", default=7, show_default=True, help="Random seed (the same seed gives the same data).")
@click.pass_context
def demo_data(ctx: click.Context, quarter: str, complaints: int, seed: int) -> None:
    """Fill the database with a realistic quarter of complaints, deflections and searches (for trying kb report)."""
    from zoneinfo import ZoneInfo

    from sqlalchemy.orm import Session

    from intake_api import demo
    from intake_api.alerts import TermWeights
    from intake_api.db import prepare
    from intake_api.metrics import Period
    from intake_api.sla import make_clock
    config = _config(ctx)
    try:
        period = Period.quarter(quarter, ZoneInfo(config.timezone))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--quarter") from None
    with Session(prepare(config)) as session:
        made = demo.generate(session, config, make_clock(config), period, complaints, seed,
                             weights=TermWeights(config.index_dir))
    click.echo(f"Added {made['complaints']} complaints, {made['deflections']} deflections and "
               f"{made['searches']} searches in {period.label}.")


@main.command()
@click.option("--quarter", required=True, help="The quarter to review, as YYYYQn (e.g. 2026Q4).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder for report-<quarter>.html, .md and the chart images.")
@click.pass_context
def report(ctx: click.Context, quarter: str, out_dir: Path) -> None:
    """Write the quarterly review: a self-contained HTML file and Markdown with chart images."""
    from zoneinfo import ZoneInfo

    from sqlalchemy.orm import Session

    from intake_api import report as rep
    from intake_api.alerts import TermWeights
    from intake_api.db import prepare
    from intake_api.metrics import Period
    config = _config(ctx)
    try:
        period = Period.quarter(quarter, ZoneInfo(config.timezone))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--quarter") from None
    with Session(prepare(config)) as session:
        data = rep.collect(session, config, period, TermWeights(config.index_dir))
    md_path, html_path = rep.write(data, out_dir)
    click.echo(f"Wrote {html_path} and {md_path} ({data['sla']['total']} complaints).")


@main.command("erase-identity")
@click.argument("number")
@click.option("--reason", required=True, help="Why, for the audit history (e.g. 'request of 2026-11-20').")
@click.pass_context
def erase_identity(ctx: click.Context, number: str, reason: str) -> None:
    """Erase a named complainant's identity on request; the history records that it was erased."""
    from sqlalchemy.orm import Session

    from intake_api import privacy
    from intake_api.db import prepare
    config = _config(ctx)
    with Session(prepare(config)) as session:
        c = _complaint(session, number)
        privacy.erase_identity(session, c, "admin:cli", reason)
        session.commit()
    click.echo(f"Erased the identity on {number}.")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
