"""The desk's `kb` commands: serve, the database, staff accounts, identity keys, privacy chores, publishing, the review.

They join kb_builder's `kb` command through the `kb.commands` entry point
(pyproject.toml calls `register`), so kb_builder never imports this package.
Domain errors inside, click errors at the edge: each command's failure is one
line saying what to do, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kb_builder.cli import Project, pass_project, warn_calendar
from kb_builder.config import KbConfig
from kb_builder.errors import KbError

from . import crypto, i18n
from . import publish as drafts
from .auth import ROLES, StaffError
from .db import BackupError, configure_crypto, prepare
from .desk import Actor, Desk, DeskError
from .metrics import Period
from .models import utcnow
from .sla import make_clock

OPERATOR = Actor.operator()  # whoever runs `kb` on the server; the history says admin:cli
DOMAIN_ERRORS = (KbError, StaffError, BackupError, crypto.KeyringError, DeskError)


def register(kb: click.Group) -> None:
    """Add the desk's commands to the `kb` group (the `kb.commands` entry point)."""
    for command in (serve, worker, outbox, db, staff, keys, purge, publish, link, phrasings, demo_data, report, capa,
                    erase_identity):
        kb.add_command(command)


@contextmanager
def domain_errors(config: KbConfig | None = None) -> Iterator[None]:
    """Turn the desk's errors into one-line click errors; an unreachable database names itself."""
    i18n.use(i18n.from_environment())  # the desk's messages in the shell's language (LANG=en_GB.UTF-8 kb ...)
    try:
        yield
    except DOMAIN_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    except OperationalError as exc:
        where = make_url(config.db_url).render_as_string(hide_password=True) if config else "the database"
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise click.ClickException(f"{where}: {reason} (is it running? check KB_DATABASE_URL or "
                                   "paths.database in kb.yml)") from None


@contextmanager
def open_desk(project: Project, term_weights: bool = False) -> Iterator[Desk]:
    """The desk over the up-to-date database; what it has not committed itself is committed at the end.

    Loaded objects stay readable after the commit, for the command's last line.
    """
    config = project.config()
    engine = prepare(config)
    with domain_errors(config), Session(engine, expire_on_commit=False) as session:
        weights = None
        if term_weights:
            from .alerts import TermWeights
            weights = TermWeights(config.index_dir)
        yield Desk(session, config, make_clock(config, engine), weights)
        session.commit()


def every(fetch):
    """Each page's items of a paged desk list in turn (fetch(n) gives page n): a command prints them all."""
    n = 1
    while True:
        result = fetch(n)
        yield result.items
        if n >= result.pages:
            return
        n += 1


def _quarter(config: KbConfig, quarter: str) -> Period:
    try:
        return Period.quarter(quarter, ZoneInfo(config.timezone))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--quarter") from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, envvar="KB_PORT", help="Port to listen on (env KB_PORT).")
@click.option("--workers", default=2, show_default=True, help="Number of worker processes.")
@click.option("--notifications/--no-notifications", "with_worker", default=True, show_default=True,
              help="Run one notification worker (`kb worker`) beside the web workers; production may run its "
                   "own instead.")
@pass_project
def serve(project: Project, host: str, port: int, workers: int, with_worker: bool) -> None:
    """Serve the built site and the intake API together with gunicorn (and, by default, the notification worker)."""
    from . import create_app
    from .serve import run
    config = project.config()
    if not (config.index_dir / "kb-index.json").is_file():
        raise click.ClickException(f"no index at {config.index_dir}: run `kb build` first")
    with domain_errors(config):
        app = create_app({"KB_CONFIG": str(project.config_file)})
    warn_calendar(config)
    _first_run_hint(app)
    click.echo(f"Serving {config.site_dir} and the API on http://{host}:{port}/ ({workers} workers)")
    background = _start_worker(project) if with_worker else None
    try:
        run(app, host=host, port=port, workers=workers)
    finally:
        if background is not None:
            background.terminate()
            background.wait(timeout=10)


def _start_worker(project: Project):
    """`kb worker` as a child process: its own database connections, stopped with the server.

    On Linux the kernel stops it too if `kb serve` itself is killed (no orphan sending on its own). It runs
    at a lower priority (nice 10) than the web workers, so a burst of submissions is answered first and its
    notifications follow.
    """
    import os
    import signal
    import subprocess

    def die_with_parent() -> None:
        # Deliveries can wait a moment, submissions should not: on a busy machine the web workers come first.
        os.nice(10)
        try:
            import ctypes
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    # Not `-m kb_builder.cli`: as __main__ its Project class would not be the one the commands look for.
    command = [sys.executable, "-c", "from kb_builder.cli import main; main()"]
    return subprocess.Popen([*command, "--config", str(project.config_file), "worker", "--beside", str(os.getpid())],
                            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None)


@click.command()
@click.option("--once", is_flag=True, help="Plan reminders and deliver what is due, then stop (cron, tests).")
@click.option("--beside", type=int, hidden=True,
              help="The process id of `kb serve`: while its web workers are busy, messages that can wait go slower.")
@pass_project
def worker(project: Project, once: bool, beside: int | None) -> None:
    """Deliver notifications from the outbox and send SLA reminders; run as many as you like."""
    import logging
    import signal
    import threading

    from .worker import Worker
    config = project.config()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with domain_errors(config):
        engine = prepare(config)
        w = Worker(config, engine, make_clock(config, engine), beside=beside)
        if once:
            w.schedule()
            n = w.run_once()
            click.echo(f"Delivered or tried {n} messages.")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        w.run(stop)


@click.group()
def outbox() -> None:
    """The notification outbox: what waits, what failed (dead letters), re-sending."""


@outbox.command("status")
@pass_project
def outbox_status(project: Project) -> None:
    """Messages per status, and the dead letters with their last error."""
    from . import outbox as box
    with open_desk(project) as d:
        counts = box.counts(d.session)
        dead = box.dead_letters(d.session, 1, 50)
    click.echo(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "The outbox is empty.")
    for m in dead.items:
        click.echo(f"  dead #{m.id} {m.kind} over {m.channel} after {m.attempts} attempts: {m.last_error}")
    if dead.total > len(dead.items):
        click.echo(f"  ... the newest {len(dead.items)} of {dead.total} dead letters (the workspace's outbox page has all)")


@outbox.command("resend")
@click.argument("message_id", type=int)
@pass_project
def outbox_resend(project: Project, message_id: int) -> None:
    """Put a dead letter back in the queue (after fixing what made it fail)."""
    from . import outbox as box
    with open_desk(project) as d:
        if not box.resend(d.session, message_id):
            raise click.ClickException(f"no dead letter #{message_id} (`kb outbox status` lists them)")
    click.echo(f"Message #{message_id} will be sent again.")


def _first_run_hint(app) -> None:
    """With no staff account yet the desk cannot be used: say how to create the first admin."""
    from .web import desk
    with app.app_context():
        if desk().has_staff():
            return
    kb = sys.argv[0] if sys.argv and sys.argv[0].endswith("kb") else "kb"
    click.echo("No staff account yet. Create the first admin (it asks for a password), then log in at /staff/:")
    click.echo(f"  {kb} staff create admin --role admin")


@click.group()
def db() -> None:
    """Database tasks."""


@db.command()
@pass_project
def upgrade(project: Project) -> None:
    """Apply pending schema migrations to the configured database."""
    config = project.config()
    with domain_errors(config):
        prepare(config)
    click.echo(f"Database is up to date: {make_url(config.db_url).render_as_string(hide_password=True)}")


@db.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@pass_project
def backup(project: Project, target: Path) -> None:
    """Copy the embedded SQLite database to TARGET while the server runs (a consistent snapshot)."""
    from .db import backup_sqlite
    config = project.config()
    with domain_errors(config):
        count = backup_sqlite(config.db_url, target)
    click.echo(f"Backed up {count} complaints to {target}.")
    click.echo("Identity fields in it are encrypted: keep the identity keys (instance/identity.keys or "
               "KB_IDENTITY_KEYS) too, stored apart from the backup.")


@click.group()
def staff() -> None:
    """Staff accounts for the workspace (/staff/)."""


@staff.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="handler", show_default=True,
              help="handler: the complaints of their teams; admin: all complaints; relations (employee "
                   "relations): also every confidential complaint and its complainant's identity.")
@click.option("--team", "teams", multiple=True, help="A team id from process.teams in kb.yml (repeatable).")
@click.option("--name", "display_name", help="Name shown in the workspace (default: the username).")
@click.option("--department", help="The department they belong to (process.departments): they are never assigned "
                                   "complaints about it.")
@click.option("--email", help="Where this person's notifications are e-mailed (they can change it in the workspace).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, envvar="KB_STAFF_PASSWORD",
              help="At least 10 characters; asked for when not given (env KB_STAFF_PASSWORD).")
@pass_project
def staff_create(project: Project, username: str, role: str, teams: tuple[str, ...], display_name: str | None,
                 department: str | None, email: str | None, password: str) -> None:
    """Create a staff account (the password is stored as an argon2 hash)."""
    with open_desk(project) as d:
        user = d.create_staff(OPERATOR, username, password, role, list(teams), display_name, department, email)
    click.echo(f"Created {role} '{user.username}'" + (f" in teams {', '.join(teams)}" if teams else "") + ".")


@staff.command("list")
@pass_project
def staff_list(project: Project) -> None:
    """Every staff account: role, teams, department, e-mail, and whether it is active."""
    with open_desk(project) as d:
        users = d.staff_accounts(OPERATOR)
    if not users:
        click.echo("No staff account yet: `kb staff create admin --role admin` makes the first one.")
        return
    rows = [("username", "name", "role", "teams", "department", "email", "active")]
    rows += [(u.username, u.display_name, u.role, ",".join(u.teams or []) or "-", u.department or "-",
              u.email or "-", "yes" if u.active else "no") for u in users]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


@staff.command("deactivate")
@click.argument("username")
@pass_project
def staff_deactivate(project: Project, username: str) -> None:
    """Stop an account: it can no longer log in and its open sessions end at once (the history keeps its name)."""
    with open_desk(project) as d:
        user = d.update_staff(OPERATOR, username, active=False)
    click.echo(f"Deactivated '{user.username}'; its sessions have ended.")


@staff.command("reactivate")
@click.argument("username")
@pass_project
def staff_reactivate(project: Project, username: str) -> None:
    """Let a deactivated account log in again (with its old password, or reset it first)."""
    with open_desk(project) as d:
        user = d.update_staff(OPERATOR, username, active=True)
    click.echo(f"Reactivated '{user.username}'.")


@staff.command("reset-password")
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True,
              envvar="KB_STAFF_PASSWORD", help="At least 10 characters; asked for twice when not given "
                                               "(env KB_STAFF_PASSWORD).")
@pass_project
def staff_reset_password(project: Project, username: str, password: str) -> None:
    """Set a new password for an account; its open sessions end (the password is never recorded)."""
    with open_desk(project) as d:
        user = d.reset_password(OPERATOR, username, password)
    click.echo(f"New password set for '{user.username}'; its sessions have ended.")


@staff.command("set")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), help="The new role.")
@click.option("--team", "teams", multiple=True, help="The account's teams from now on (repeatable; replaces them).")
@click.option("--no-teams", is_flag=True, help="Remove the account from every team.")
@click.option("--department", help="The department they belong to (process.departments); '' for none.")
@click.option("--email", help="Where their notifications go; '' for none.")
@pass_project
def staff_set(project: Project, username: str, role: str | None, teams: tuple[str, ...], no_teams: bool,
              department: str | None, email: str | None) -> None:
    """Change an account's role, teams, department or e-mail; each change is audited."""
    if teams and no_teams:
        raise click.UsageError("give --team or --no-teams, not both")
    new_teams = [] if no_teams else list(teams) if teams else None
    if role is None and new_teams is None and department is None and email is None:
        raise click.UsageError("nothing to change: give --role, --team, --no-teams, --department or --email")
    with open_desk(project) as d:
        user = d.update_staff(OPERATOR, username, role=role, teams=new_teams, department=department, email=email)
    click.echo(f"'{user.username}': role {user.role}, teams {', '.join(user.teams or []) or '-'}, "
               f"department {user.department or '-'}, e-mail {user.email or '-'}.")


@staff.command("audit")
@click.option("--user", "username", help="Only the changes to this account.")
@click.option("--limit", default=50, show_default=True, help="How many changes per page, newest first.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1), help="Which page of them.")
@pass_project
def staff_audit(project: Project, username: str | None, limit: int, page: int) -> None:
    """Who changed which account, when, and from what to what (never a password)."""
    with open_desk(project) as d:
        result = d.staff_audit(OPERATOR, username, page, limit)
    if not result.items:
        click.echo("No changes to staff accounts recorded yet.")
    for a in result.items:
        change = f": {a.from_value or '-'} -> {a.to_value or '-'}" if a.from_value or a.to_value else ""
        click.echo(f"{a.at:%Y-%m-%d %H:%M}  {a.actor}  {a.username}  {a.action}{change}")
    if result.pages > 1:
        click.echo(f"Page {result.page} of {result.pages} ({result.total} changes): --page for the others.")


@click.group()
def keys() -> None:
    """Identity encryption keys (identity fields are encrypted at rest)."""


@keys.command("new")
def keys_new() -> None:
    """Print a new key (for KB_IDENTITY_KEYS)."""
    click.echo(crypto.new_key())


@keys.command("rotate")
@click.option("--generate/--no-generate", default=True, show_default=True,
              help="Put a new key in front of instance/identity.keys first. With KB_IDENTITY_KEYS, use "
                   "--no-generate after listing the new key first.")
@pass_project
def keys_rotate(project: Project, generate: bool) -> None:
    """Re-encrypt every identity field with the newest key, then drop the old keys from the key file."""
    from . import privacy
    env_keys = list(project.config().secrets.identity_keys)  # KB_IDENTITY_KEYS, read by load_config
    if generate and env_keys:
        raise click.ClickException("KB_IDENTITY_KEYS is set: put the new key first there and use --no-generate")
    with open_desk(project) as d:  # the key file exists from here on
        session, instance = d.session, d.kb.instance_dir
        ring = ([crypto.new_key()] if generate else []) + (env_keys or crypto.load_keys(instance))
        if generate:
            crypto.write_keys(instance, ring)  # saved before any field is encrypted with it
        configure_crypto(instance, ring)
        n = privacy.rotate_keys(session)
    if generate:
        path = crypto.write_keys(instance, ring[:1])
        click.echo(f"Re-encrypted {n} complaints with a new key; old keys removed from {path}.")
    else:
        click.echo(f"Re-encrypted {n} complaints with the first key of KB_IDENTITY_KEYS; you can now drop the others.")


@click.command()
@click.option("--older-than-days", type=int, help="Default: process.privacy.retention_days in kb.yml.")
@click.option("--dry-run", is_flag=True, help="List what would be purged; change nothing.")
@pass_project
def purge(project: Project, older_than_days: int | None, dry_run: bool) -> None:
    """Remove text and identity from closed complaints past the retention period (counts are kept)."""
    with open_desk(project) as d:
        days, numbers = d.purge(older_than_days, dry_run=dry_run)
    verb = "Would purge" if dry_run else "Purged"
    click.echo(f"{verb} {len(numbers)} closed complaints older than {days} days" + (": " + ", ".join(numbers) if numbers else "."))


@click.command()
@click.argument("number")
@click.option("--approve", is_flag=True, help="Write it as published: true (default: a draft, published: false).")
@pass_project
def publish(project: Project, number: str, approve: bool) -> None:
    """Write a resolved complaint as a redacted case file under content/cases/ (a draft unless --approve)."""
    with open_desk(project) as d:
        path = d.save_article(OPERATOR, number, None, approve)
        saved = drafts.read_draft(d.kb, path.stem)
        left = drafts.placeholders_left(saved) if saved is not None else {}
    if approve:
        click.echo(f"Wrote {path} as published; the worker rebuilds the site (or run `kb build` now).")
    else:
        click.echo(f"Wrote {path} as a draft (published: false). Review it, then approve it.")
    if left:
        click.echo("Warning: placeholders left by redaction are still in the text ("
                   + ", ".join(f"{p} x {n}" for p, n in left.items()) + "): rewrite those sentences.", err=True)


def _searcher(project: Project):
    from kb_builder.search import Searcher
    return Searcher(project.config().index_dir)


@click.command()
@click.argument("number")
@click.argument("article_id")
@pass_project
def link(project: Project, number: str, article_id: str) -> None:
    """Link a resolved complaint to the existing article that answered it: its wording is proposed as a phrasing."""
    with open_desk(project) as d:
        p = d.link_article(OPERATOR, number, article_id, _searcher(project))
    flagged = f"; would win {len(p.conflicts)} phrasing(s) of other articles" if p.conflicts else ""
    click.echo(f"Proposed phrasing {p.id} for {p.article_id}: {p.text or '(none: sensitive or purged)'}{flagged}")


@click.group()
def phrasings() -> None:
    """Phrasings proposed from linked complaints and "this solved it" clicks: list, approve, reject."""


@phrasings.command("list")
@click.option("--status", type=click.Choice(["proposed", "approved", "rejected", "withdrawn"]), default="proposed",
              show_default=True)
@pass_project
def phrasings_list(project: Project, status: str) -> None:
    with open_desk(project) as d:
        rows = [p for page in every(lambda n: d.phrasings(OPERATOR, status, n)) for p in page]
    for p in rows:
        conflicts = "; ".join(f"{x['article_id']}: {x['phrasing']}" for x in p.conflicts)
        click.echo(f"{p.id}\t{p.article_id}\t{p.text}" + (f"\tconflicts: {conflicts}" if conflicts else ""))
    if not rows:
        click.echo(f"No {status} phrasings.")


@phrasings.command("approve")
@click.argument("phrasing_id", type=int)
@click.option("--text", help="The phrasing as it should be written (redacted again).")
@click.option("--despite-conflicts", is_flag=True, help="Approve although it would win other articles' phrasings.")
@pass_project
def phrasings_approve(project: Project, phrasing_id: int, text: str | None, despite_conflicts: bool) -> None:
    """Write the phrasing into its article's file in content/ (the next `kb build` uses it)."""
    with open_desk(project) as d:
        p = d.decide_phrasing(OPERATOR, phrasing_id, True, _searcher(project), text, despite_conflicts)
    click.echo(f"Approved phrasing {p.id}: added to {p.article_id}. Run `kb build`.")


@phrasings.command("reject")
@click.argument("phrasing_id", type=int)
@pass_project
def phrasings_reject(project: Project, phrasing_id: int) -> None:
    with open_desk(project) as d:
        p = d.decide_phrasing(OPERATOR, phrasing_id, False, None)
    click.echo(f"Rejected phrasing {p.id}.")


@click.command("erase-identity")
@click.argument("number")
@click.option("--reason", required=True, help="Why, for the audit history (e.g. 'request of 2026-11-20').")
@pass_project
def erase_identity(project: Project, number: str, reason: str) -> None:
    """Erase a named complainant's identity on request; the history records that it was erased."""
    with open_desk(project) as d:
        c = d.erase_identity(OPERATOR, number, reason)
    click.echo(f"Erased the identity on {c.number}.")


@click.group()
def capa() -> None:
    """Corrective and preventive actions (CAPA): what, the owner team, the due date, the evidence."""


@capa.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include the actions already done.")
@pass_project
def capa_list(project: Project, show_all: bool) -> None:
    """Every team's actions, soonest due first."""
    with open_desk(project) as d:
        now = utcnow()
        for v in (v for page in every(lambda n: d.capa(OPERATOR, open_only=not show_all, page=n)) for v in page):
            a = v.action
            late = " OVERDUE" if v.overdue(now) else ""
            click.echo(f"#{a.id} [{a.status}{late}] {a.owner_team} due {d.local(a.due_at):%Y-%m-%d}: {a.what}"
                       f" ({', '.join(v.complaints) or a.cluster or ''})")


@capa.command("add")
@click.argument("what")
@click.option("--team", "owner_team", required=True, help="The owner team (process.teams).")
@click.option("--due", required=True, help="The due date, YYYY-MM-DD.")
@click.option("--complaint", "numbers", multiple=True, help="A complaint it answers (repeat for several).")
@click.option("--cluster", help="Or the recurring problem it answers, as the review names it.")
@pass_project
def capa_add(project: Project, what: str, owner_team: str, due: str, numbers: tuple[str, ...],
             cluster: str | None) -> None:
    """Decide an action; the owner team sees it in its queue until it is done."""
    with open_desk(project) as d:
        v = d.create_capa(OPERATOR, what, owner_team, due, list(numbers), cluster)
    click.echo(f"Added corrective action #{v.action.id} for {owner_team}.")


@capa.command("done")
@click.argument("capa_id", type=int)
@click.option("--evidence", required=True, help="What was done and where it can be checked.")
@pass_project
def capa_done(project: Project, capa_id: int, evidence: str) -> None:
    """Mark an action done, with the evidence of completion."""
    with open_desk(project) as d:
        d.finish_capa(OPERATOR, capa_id, evidence)
    click.echo(f"Corrective action #{capa_id} is done.")


@click.command("demo-data")
@click.option("--quarter", default="2026Q3", show_default=True, help="Which quarter to fill, as YYYYQn.")
@click.option("--complaints", default=400, show_default=True, help="How many ordinary complaints.")
@click.option("--seed", default=7, show_default=True, help="Random seed (the same seed gives the same data).")
@pass_project
def demo_data(project: Project, quarter: str, complaints: int, seed: int) -> None:
    """Fill the database with a realistic quarter of complaints, deflections and searches (for trying kb report)."""
    from . import demo
    period = _quarter(project.config(), quarter)
    with open_desk(project, term_weights=True) as d:
        made = demo.generate(d.session, d.kb, d.clock, period, complaints, seed, weights=d.term_weights)
    click.echo(f"Added {made['complaints']} complaints, {made['deflections']} deflections and "
               f"{made['searches']} searches in {period.label}.")


@click.command()
@click.option("--quarter", required=True, help="The quarter to review, as YYYYQn (e.g. 2026Q4).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder for report-<quarter>.html, .md, .xlsx, .csv and the chart images.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="The review's language.")
@pass_project
def report(project: Project, quarter: str, out_dir: Path, lang: str) -> None:
    """Write the quarterly review: a self-contained HTML file, Markdown with chart images, Excel and CSV."""
    from . import report as rep
    period = _quarter(project.config(), quarter)
    with open_desk(project, term_weights=True) as d:
        data = d.review(OPERATOR, period, may_compute=True)  # no web timeout here: kept figures, or computed now
        files = {fmt: d.export_review(OPERATOR, period, fmt, lang, data=data)[0] for fmt in ("xlsx", "csv")}
    md_path, html_path = rep.write(data, out_dir, lang)
    for fmt, blob in files.items():
        (out_dir / f"report-{data['period']}.{fmt}").write_bytes(blob)
    click.echo(f"Wrote {html_path}, {md_path} and report-{data['period']}.xlsx, .csv ({data['sla']['total']} complaints).")