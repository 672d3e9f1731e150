"""The staff workspace: server-rendered pages in Chinese and English (CSRF-protected forms)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import ValidationError

from . import build_queue, i18n
from .attachments import ACCEPT, human
from .auth import ROLES, staff_required
from .db import get_session
from .desk import Invalid
from .errors import go_back_to
from .i18n import N_, gettext, pick
from .login_guard import TooManyAttempts, WrongPassword, log_in, log_out
from .models import utcnow
from .publish import placeholders_left
from .queue import DEADLINE_LABELS
from .schemas import CHANNEL_LABELS, ComplaintIn, field_errors
from .web import accepts_files, actor, desk, send_attachment, uploads
from .workflow import (
    FOLLOW_UP_METHODS,
    LABELS,
    LEVEL_NAMES,
    RESPONSIBILITY,
    REVIEW_OUTCOMES,
    SOLUTIONS,
    STATUSES,
    event_label,
    event_value,
)

bp = Blueprint("workspace", __name__, url_prefix="/staff", template_folder="templates")

TEXT = {
    "title": N_("Complaint workspace"),
    "queue": N_("Queue"), "new": N_("Record offline complaint"),
    "alerts": N_("Alerts"), "logout": N_("Log out"), "login": N_("Log in"),
    "username": N_("Username"), "password": N_("Password"),
    "status": N_("Status"), "level": N_("Level"), "team": N_("Team"),
    "handler": N_("Handler"), "category": N_("Category"), "due": N_("Time limit"),
    "received": N_("Received on"), "number": N_("Number"), "filter": N_("Filter"),
    "all": N_("All"), "open": N_("Open"), "overdue": N_("Overdue"),
    "due_soon": N_("Due soon"), "none": N_("None"), "mine": N_("Assigned to me"),
    "next_step": N_("Choose the next step"),
    "description": N_("What happened"), "request": N_("Asks for"),
    "location": N_("Where"), "occurred_at": N_("When it happened"), "channel": N_("Channel"),
    "identity": N_("Complainant"), "anonymous": N_("Anonymous"),
    "name": N_("Name"), "department": N_("Department"), "position": N_("Position"),
    "contact": N_("Contact"), "responsibility": N_("Responsibility"),
    "response": N_("Response to the complainant"), "save": N_("Save"),
    "change_status": N_("Change status"), "note": N_("Note"),
    "assign": N_("Assign"), "end_investigation": N_("End investigation (starts the result clock)"),
    "history": N_("History"), "when": N_("When"), "who": N_("Who"),
    "what": N_("What"), "from_to": N_("Change"), "dates": N_("Time limits and dates"),
    "rating": N_("Satisfaction"), "safety": N_("Safety"), "submit": N_("Submit"),
    "tracking_code": N_("Tracking code (give it to the complainant)"),
    "no_complaints": N_("No complaints match"), "complaints": N_("Complaints"),
    "no_alerts": N_("No alerts"), "shown_articles": N_("Articles seen before submitting"),
    "why": N_("Articles the knowledge base finds for this text, and why"),
    "why_phrasing": N_("Closest phrasing"), "why_terms": N_("Shared terms"),
    "why_title": N_("title"), "why_none": N_("none"),
    "bad_login": N_("Wrong username or password"), "saved": N_("Saved"),
    "confidential": N_("Confidential"),
    "confidential_hidden": N_("Confidential: identity visible to employee relations only"),
    "thread": N_("Conversation with the complainant"),
    "from_staff": N_("Staff"), "from_complainant": N_("Complainant"),
    "ask": N_("Ask the complainant (they answer on the status page with their tracking code)"),
    "send": N_("Send"),
    "article": N_("Publish as an article"),
    "article_only_resolved": N_("Only resolved complaints can become articles"),
    "article_saved": N_("Draft saved (not published)"),
    "article_published": N_("Approved: the site is being rebuilt; this page shows how it goes"),
    "article_awaiting": N_("Approved: it waits for an admin's approval before it is published"),
    "publishing": N_("Publishing"), "publication": N_("Publication"),
    "pub_awaiting": N_("Waiting for an admin's approval"), "pub_queued": N_("Queued for the rebuild"),
    "pub_building": N_("Building the site"), "pub_done": N_("Published on the site"),
    "pub_failed": N_("The build failed"), "builder_says": N_("The builder says"),
    "first_approval": N_("First approval"), "second_approval": N_("Approval that published it"),
    "approve_second": N_("Give the second approval and publish"),
    "no_publications": N_("No article approved yet"),
    "placeholders_left": N_("Placeholders left by redaction are still in the text; the page shows them as written. "
                            "Rewrite those sentences without the person ('the employee', 'the caller') "
                            "before approving:"),
    "calendar": N_("Holiday calendar"), "calendar_days": N_("Days entered by admins"),
    "calendar_add": N_("Add days from the official notice"),
    "calendar_help": N_("Enter next year's public holidays and make-up workdays from the State Council's notice "
                        "as soon as it is published. Working-day time limits use them together with the calendar "
                        "shipped with the product and kb.yml's process.calendar."),
    "day_kind": N_("Kind"), "kind_holiday": N_("Holiday (no work)"),
    "kind_workday": N_("Make-up workday (a weekend day worked)"),
    "first_day": N_("First day"), "last_day": N_("Last day (optional, for a run of days)"),
    "day_name": N_("Name (e.g. Spring Festival)"), "day": N_("Day"), "added_by": N_("Added by"),
    "remove": N_("Remove"), "no_calendar_days": N_("No days entered yet"),
    "calendar_added": N_("Added %(n)s day(s)"), "calendar_removed": N_("Removed"),
    "redacted": N_("Personal data removed automatically"),
    "save_draft": N_("Save draft"), "approve": N_("Approve and publish"),
    "title_field": N_("Title"), "tags": N_("Tags (comma-separated)"),
    "questions": N_("How employees ask (one per line)"), "body": N_("Body"),
    "status_published": N_("Published"), "status_draft": N_("Draft"),
    "report": N_("Quarterly review"), "quarter": N_("Quarter"), "show": N_("Show"),
    "recognised": N_("Recognised as"),
    "temporary_measures": N_("Temporary measures taken (required for urgent complaints before moving on)"),
    "acknowledge": N_("Acknowledge with a note"), "acknowledged": N_("Acknowledged"),
    "notifications": N_("Notifications"), "outbox": N_("Outbox"),
    "my_notifications": N_("What I am told"), "email": N_("E-mail address"),
    "language": N_("Language"), "team_notifications": N_("What each team's mailboxes and chat robots are told"),
    "dead_letters": N_("Messages that could not be delivered (no more retries)"),
    "resend": N_("Send again"), "attempts": N_("Attempts"), "kind": N_("Kind"),
    "channel_to": N_("Channel"), "last_error": N_("Last error"),
    "no_dead_letters": N_("No undelivered messages"),
    "n_new_complaint": N_("New complaint for my team"),
    "n_assigned": N_("Assigned to me"),
    "n_urgent": N_("Urgent / safety complaint (at once)"),
    "n_emergency_alert": N_("Emergency alert (many similar complaints in 24 h)"),
    "n_complainant_replied": N_("Complainant replied"),
    "n_low_rating": N_("Low rating reopened a complaint"),
    "n_due_soon": N_("Due soon"), "n_overdue": N_("Overdue"),
    "n_escalation": N_("Overdue escalation (team lead and admins)"),
    "n_digest": N_("Daily digest of my open work"),
    "n_task": N_("A task for my team"),
    "n_review_needed": N_("An escalated complaint to review"),
    "about": N_("Department complained about"), "about_role": N_("Role or service complained about (optional)"),
    "conflict": N_("conflict of interest"),
    "response_basis": N_("Basis"), "response_result": N_("Result (required)"),
    "response_followup": N_("Follow-up measures"), "solutions": N_("Solution"),
    "promise_date": N_("Promised date (required for a repair or delivery)"),
    "promise_text": N_("What was promised"), "promise_kept": N_("Promise kept"),
    "follow_up": N_("Follow-up by"), "follow_up_score": N_("Satisfaction the complainant gave (1-5)"),
    "review": N_("Supervisor review"), "arbitrator": N_("Arbitrator (arbitration only)"),
    "arbitration_result": N_("Arbitration result"), "case_report": N_("Handling report"),
    "step": N_("Investigation step"), "tasks": N_("Tasks"),
    "new_task": N_("Task for another team"), "task_text": N_("What to do (no complainant details)"),
    "due_date": N_("Due"), "done": N_("Done"), "no_tasks": N_("No open tasks"),
    "override_reason": N_("Reason to override a conflict (admins; kept in the history)"),
    "search": N_("Search"), "search_all": N_("Search complaints (closed ones too)"),
    "search_q": N_("Number or words (Traditional or Simplified)"),
    "since": N_("Received from"), "until": N_("to"),
    "no_results": N_("No complaint you can see matches"),
    "accounts": N_("Staff accounts"), "new_account": N_("New account"),
    "role": N_("Role"), "teams": N_("Teams"), "active": N_("Active"),
    "inactive": N_("Deactivated"), "deactivate": N_("Deactivate (logs out at once)"),
    "reactivate": N_("Reactivate"), "reset_password": N_("Reset password"),
    "new_password": N_("New password (10 characters or more)"),
    "repeat_password": N_("Repeat it"), "display_name": N_("Display name"),
    "passwords_differ": N_("The two passwords differ"),
    "review_preparing": N_("The review of this quarter is being prepared: this page shows it when it is ready."),
    "review_updating": N_("Figures computed at %(value)s; newer figures are being prepared."),
    "review_computed": N_("Figures computed at %(value)s."),
    "audit": N_("Changes to accounts"), "account": N_("Account"),
    "role_handler": N_("Handler (their teams' complaints)"),
    "role_admin": N_("Admin (every complaint, accounts)"),
    "role_relations": N_("Employee relations (also confidential complaints)"),
    "role_supervisor": N_("Supervisor (their teams' complaints, and reviews)"),
    "a_created": N_("created"), "a_deactivated": N_("deactivated"), "a_reactivated": N_("reactivated"),
    "a_password_reset": N_("password reset"), "a_role": N_("role"), "a_teams": N_("teams"),
    "a_department": N_("department"), "a_email": N_("e-mail"), "a_language": N_("language"),
    "own_department": N_("Own department"),
    "attachments": N_("Attachments and evidence"),
    "attach": N_("Attach files (interview notes, documents, photos; seen by staff only)"),
    "attach_limits": N_("Allowed: JPEG, PNG, GIF, WebP, PDF, plain text; at most {size} per upload, {count} per complaint; photos lose their location and camera data"),
    "upload": N_("Upload"), "no_attachments": N_("No attachments"),
    "by_complainant": N_("complainant"),
    "export_xlsx": N_("Export Excel"),
    "export_csv": N_("Export CSV"),
    "kpis": N_("Staff KPIs"),
    "prev_page": N_("Previous"),
    "next_page": N_("Next"),
    "a_export": N_("export"),
    "capa": N_("Corrective actions"),
    "capa_what": N_("Action (what is to be done)"),
    "capa_team": N_("Owner team"),
    "capa_complaints": N_("Complaint numbers (comma-separated)"),
    "capa_cluster": N_("Or: the recurring problem"),
    "capa_evidence": N_("Evidence of completion"),
    "capa_new": N_("Decide an action"),
    "capa_due": N_("Corrective actions due or overdue"),
    "no_capa": N_("No corrective actions"),
    "capa_open": N_("Open"),
    "capa_done": N_("Done"),
}
DATE_LABELS = {
    "assessment_due_at": N_("Assessment due"), "first_response_due_at": N_("First response due"),
    "resolution_due_at": N_("Urgent handling due"), "result_due_at": N_("Result due"),
    "assessed_at": N_("Assessed on"), "first_responded_at": N_("First responded"),
    "investigation_started_at": N_("Investigation started"),
    "investigation_ended_at": N_("Investigation ended"), "resolved_at": N_("Resolved"),
    "closed_at": N_("Closed on"), "promise_due_at": N_("Promised by"),
    "promise_kept_at": N_("Promise kept on"), "review_due_at": N_("Supervisor review due"),
    "reviewed_at": N_("Reviewed"),
}
OFFLINE_CHANNELS = ("hotline", "reception", "email")


def t(key: str, **values: object) -> str:
    """A workspace word by its key, in the page's language (the catalogues hold the translations)."""
    return gettext(TEXT[key], **values)


def init_app(app: Flask) -> None:
    @app.context_processor
    def _helpers():
        if not request.path.startswith("/staff"):
            return {}
        kb = current_app.config["KB"]
        return {"t": t, "pick": pick, "LABELS": LABELS, "LEVELS": LEVEL_NAMES, "RESPONSIBILITY": RESPONSIBILITY,
                "STATUSES": STATUSES, "CHANNEL_LABELS": {k: gettext(v) for k, v in CHANNEL_LABELS.items()},
                "kb": kb, "local": _local, "occurred": lambda c: desk().occurred(c), "with_language": _with_language,
                "DEADLINE_LABELS": DEADLINE_LABELS, "TEXT_KEYS": TEXT,
                "SOLUTIONS": SOLUTIONS, "FOLLOW_UP_METHODS": FOLLOW_UP_METHODS, "REVIEW_OUTCOMES": REVIEW_OUTCOMES,
                "event_label": event_label, "event_value": event_value,
                "calendar_notice": _calendar_notice()}


def _with_language(code: str) -> str:
    """This page in another language: the queue and search keep their filters (the session remembers it)."""
    keep = request.endpoint in ("workspace.index", "workspace.search")
    args = [(k, v) for k, v in request.args.items(multi=True) if keep and k != "lang"] + [("lang", code)]
    return request.path + "?" + urlencode(args)


def _calendar_notice() -> str | None:
    """Shown to admins on every workspace page while deadlines soon fall in a year no calendar covers.

    Only admins can add the days (at /staff/calendar), so only they are told; handlers could do nothing.
    """
    if not current_user.is_authenticated or current_user.role != "admin":
        return None
    years = desk().calendar_gap(actor())
    if not years:
        return None
    return gettext("The official holidays for %(years)s are not known yet: working-day time limits there count "
                   "Monday to Friday. Add that year's holidays and make-up workdays from the State Council's "
                   "notice at Holiday calendar.", years=", ".join(map(str, years)))


def _local(moment: dt.datetime | None) -> str:
    """Minutes in the configured zone, whatever zone the moment came in (the desk's views are already local)."""
    when = desk().local(moment)
    return when.strftime("%Y-%m-%d %H:%M") if when else "—"


# Where a login may send the browser: a workspace path, nothing that could leave the
# site or break the Location header (no scheme, host, backslash, space or control character).
_LOCAL_NEXT = re.compile(r"/staff(?:[/?#][!-~]*)?")


def _next_page(target: str | None) -> str:
    if (target and _LOCAL_NEXT.fullmatch(target) and "\\" not in target and "//" not in target
            and ".." not in target):
        return target
    return url_for("workspace.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        try:
            log_in(get_session(), request.form.get("username", ""), request.form.get("password", ""),
                   request.remote_addr)
        except TooManyAttempts as exc:
            error, status = exc.message, 429
        except WrongPassword:
            error, status = t("bad_login"), 401
        else:
            return redirect(_next_page(request.args.get("next")))
    return render_template("staff/login.html", error=error), status


@bp.post("/logout")
@staff_required
def logout():
    log_out(get_session())
    return redirect(url_for("workspace.login"))


@bp.get("/")
@staff_required
def index():
    args = request.args
    level = {"1": 1, "2": 2, "3": 3}.get(args.get("level", ""))  # anything else: no level filter
    status = args.get("status") or "open"
    page = args.get("page", "1")
    result = desk().queue(actor(), status=None if status == "all" else status, level=level,
                          team=args.get("team") or None,
                          due=args.get("due") if args.get("due") in ("overdue", "soon") else None,
                          page=int(page) if page.isdigit() and len(page) < 7 else 1, mine=args.get("mine") == "1")
    now = utcnow()
    rows = [desk().summary(actor(), c, now) for c in result.items]
    keep = {k: v for k, v in args.items() if k != "page" and v}
    soon = now + dt.timedelta(hours=desk().kb.process.sla.due_soon_hours * 3)  # corrective actions run in days
    capa_due = desk().capa(actor(), due_before=soon, per_page=10)  # the soonest ten, and how many in all
    return render_template("staff/queue.html", rows=rows, filters=args, status=status, result=result, keep=keep,
                           capa_due=capa_due, now=now)


def _page(name: str = "page") -> int:
    """?page= of a list: a bad or absurd one is the first page (the desk clamps a late one to the last)."""
    page = request.args.get(name, "1")
    return int(page) if page.isdigit() and len(page) < 7 else 1


SEARCH_FIELDS = ("q", "category", "about", "status", "since", "until")


@bp.get("/search")
@staff_required
def search():
    """Every complaint this person may see, closed ones too, by number, words and filters, by pages."""
    args = request.args
    page = args.get("page", "1")
    errors: list[str] = []
    result = None
    try:
        result = desk().search(actor(), args.get("q"), category=args.get("category") or None,
                               about=args.get("about") or None, status=args.get("status") or None,
                               since=args.get("since") or None, until=args.get("until") or None,
                               page=int(page) if page.isdigit() and len(page) < 7 else 1)
    except Invalid as exc:
        errors = [exc.message]
    now = utcnow()
    rows = [desk().summary(actor(), c, now) for c in result.items] if result else []
    keep = {k: args[k] for k in SEARCH_FIELDS if args.get(k)}
    return render_template("staff/search.html", rows=rows, result=result, filters=args, keep=keep,
                           errors=errors), 400 if errors else 200


@bp.get("/complaints/<number>")
@staff_required
def complaint(number: str):
    who = actor()
    v = desk().view(who, desk().find(who, number))
    handlers = desk().handlers_for(v.complaint)
    return render_template("staff/complaint.html", c=v.complaint, v=v, handlers=handlers,
                           conflicts=desk().conflicts(v.complaint, handlers), may_review=desk().may_review(who, v.complaint),
                           files=desk().attachments(who, v.complaint), accept=ACCEPT, human=human,
                           date_labels=DATE_LABELS, why=_why_these_articles(v.complaint.description))


def _why_these_articles(text: str) -> tuple[float | None, list]:
    """What the suggest path would show for the complaint's text and why (issue 16, point 7).

    HR sees which phrasing or title and which shared terms brought a wrong
    article up, and can fix that article's content.
    """
    from kb_builder.search import IndexNotBuilt

    try:
        answer = current_app.extensions["kb_searcher"].suggest(text, limit=3)
    except (IndexNotBuilt, KeyError):
        return None, []
    return answer.confidence, answer.hits


@bp.post("/complaints/<number>/<action>")
@staff_required
def act(number: str, action: str):
    """One staff action of the desk's table, from the complaint page's forms (the staff API runs the same)."""
    go_back_to(url_for("workspace.complaint", number=number))
    form = {k: ",".join(v) if len(v) > 1 else v[0] for k, v in request.form.to_dict(flat=False).items()
            if k != "csrf_token"}  # repeated fields (checkboxes) as the API's comma-separated list
    desk().act(actor(), number, action, form)
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.complaint", number=number))


@bp.post("/complaints/<number>/attachments")
@accepts_files
@staff_required
def attach(number: str):
    """The complaint page's upload form: the desk checks and cleans each file, as for the staff API."""
    go_back_to(url_for("workspace.complaint", number=number))
    who = actor()
    added = desk().attach(who, desk().find(who, number), uploads())
    flash(f"{t('saved')}: {', '.join(a.name for a in added)}", "ok")
    return redirect(url_for("workspace.complaint", number=number))


@bp.get("/complaints/<number>/attachments/<int:attachment_id>")
@staff_required
def attachment(number: str, attachment_id: int):
    who = actor()
    return send_attachment(*desk().attachment_file(who, desk().find(who, number), attachment_id))


@bp.route("/complaints/<number>/article", methods=["GET", "POST"])
@staff_required
def article(number: str):
    """Turn a resolved complaint into a knowledge-base article: redacted draft, edit, approve."""
    go_back_to(url_for("workspace.complaint", number=number))
    who = actor()
    c, draft, fresh = desk().article(who, number)
    errors: list[str] = []
    if request.method == "POST":
        form = request.form

        def edit(d) -> None:
            d.edit(title=form.get("title", ""), tags=re.split(r"[,，]", form.get("tags", "")),
                   questions=form.get("questions", "").splitlines(), body=form.get("body", ""))

        approve = form.get("action") == "approve"
        try:
            desk().save_article(who, number, edit, approve)
        except Invalid as exc:
            edit(draft)  # show what they typed, with the problems
            errors = [e["message"] for e in exc.errors or []] or [exc.message]
        else:
            pub = desk().publication(who, draft.id) if approve else None
            waiting = pub is not None and pub.status == build_queue.AWAITING
            flash(t("article_awaiting") if waiting else t("article_published") if approve else t("article_saved"),
                  "ok")
            return redirect(url_for("workspace.article", number=number))
    return render_template("staff/article.html", c=c, draft=draft, found=fresh.found, errors=errors,
                           published=desk().is_published(draft.id), pub=desk().publication(who, draft.id),
                           placeholders=placeholders_left(draft))


@bp.get("/publishing")
@staff_required
def publishing():
    """Admins: approvals waiting for them, and every build with the builder's word."""
    return render_template("staff/publishing.html", rows=desk().publications(actor()))


@bp.route("/calendar", methods=["GET", "POST"])
@staff_required
def calendar():
    """Admins enter next year's holidays and make-up workdays (holidays.py checks them)."""
    who = actor()
    if request.method == "POST":
        go_back_to(url_for("workspace.calendar"))  # a refused entry is flashed above the form
        form = request.form
        rows = desk().add_calendar_days(who, form.get("kind", ""), form.get("first"), form.get("last"),
                                        form.get("name"))
        flash(gettext(TEXT["calendar_added"], n=len(rows)), "ok")
        return redirect(url_for("workspace.calendar"))
    return render_template("staff/calendar.html", days=desk().calendar_days(who))


@bp.post("/calendar/<int:day_id>/remove")
@staff_required
def calendar_remove(day_id: int):
    go_back_to(url_for("workspace.calendar"))
    desk().remove_calendar_day(actor(), day_id)
    flash(t("calendar_removed"), "ok")
    return redirect(url_for("workspace.calendar"))


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        data: dict[str, object] = {k: form.get(k, "").strip() for k in ("category", "description", "request", "occurred_at", "location", "channel")}
        data["anonymous"] = form.get("anonymous") == "on"
        identity = {k: form.get(k, "").strip() for k in ("name", "department", "position", "contact") if form.get(k, "").strip()}
        if identity and not data["anonymous"]:
            data["identity"] = identity
        if data["channel"] not in OFFLINE_CHANNELS:
            errors["channel"] = gettext("Choose an offline channel")
        else:
            try:
                parsed = ComplaintIn.model_validate(data, context=desk().complaint_rules())
            except ValidationError as exc:
                errors = {e["field"]: e["message"] for e in field_errors(exc)}
            else:
                done = desk().register(parsed, entered_by=actor().user)
                return render_template("staff/recorded.html", c=done.complaint, code=done.code)
    return render_template("staff/new.html", errors=errors, form=request.form, channels=OFFLINE_CHANNELS)


def _period():
    """The quarter asked for (?quarter=YYYYQn, a choice of the picker), else this quarter; a bad one is flashed."""
    from . import report as rep
    from .metrics import Period
    zone = desk().clock.zone
    choices = rep.quarters(utcnow().astimezone(zone).date())
    quarter = request.args.get("quarter") or choices[0]
    try:
        period = Period.quarter(quarter, zone)
    except ValueError as exc:
        flash(str(exc), "error")
        period = Period.quarter(choices[0], zone)
    if period.label not in choices:
        choices.append(period.label)
    return period, choices


def _lang() -> str:
    """The review's words come in two languages (report.TEXT): English, or Chinese for both Chinese scripts."""
    return "en" if i18n.current() == "en" else "zh"


@bp.get("/report")
@staff_required
def report():
    """The quarterly review in the workspace (admins and employee relations: it covers every team)."""
    import base64

    from markupsafe import Markup

    from . import report as rep
    period, choices = _period()
    page = request.args.get("page", "1")
    data = desk().review(actor(), period, breach_page=int(page) if page.isdigit() and len(page) < 7 else 1,
                         per_page=rep.BREACHES_PER_PAGE)
    if data.get("preparing"):  # the worker computes a long quarter: this page asks again by itself
        return render_template("staff/report.html", body=None, quarter=period.label, quarters=choices, page=1,
                               pages=1, preparing=True)
    images = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in rep.charts(data, _lang()).items()}
    links = url_for("workspace.complaint", number="NUMBER").replace("NUMBER", "{number}")
    signals = url_for("workspace.article_signals", article_id="ARTICLE").replace("ARTICLE", "{article}")
    body = Markup(rep.render_html(data, images, _lang(), links,  # escaped and sanitised (report.render_html)
                                  url_for("workspace.capa") if desk().may_decide_capa(actor()) else None,
                                  signals if actor().is_admin else None))
    per = rep.BREACHES_PER_PAGE
    return render_template("staff/report.html", body=body, quarter=period.label, quarters=choices,
                           page=data["breach_offset"] // per + 1, pages=max(1, -(-data["breach_total"] // per)),
                           computed_at=data["computed_at"], current=data["current"])


@bp.get("/report/export")
@staff_required
def report_export():
    """The review as .xlsx or .csv (?format=), every table and the complete breach list; recorded in the audit."""
    period, _ = _period()
    blob, name = desk().export_review(actor(), period, request.args.get("format", "xlsx"), _lang())
    return _download(blob, name)


@bp.get("/complaints/export")
@staff_required
def complaints_export():
    """The complaints this person may see (?since=&until= days), as .xlsx or .csv; recorded in the audit."""
    blob, name = desk().export_complaints(actor(), request.args.get("format", "xlsx"), _lang(),
                                          request.args.get("since"), request.args.get("until"))
    return _download(blob, name)


def _download(blob: bytes, name: str):
    from flask import Response

    from .export import CSV, XLSX
    return Response(blob, mimetype=XLSX if name.endswith(".xlsx") else CSV, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff"})


@bp.get("/kpis")
@staff_required
def kpis():
    """Per-team and per-handler figures: admins see every team, a team lead their own; nobody else."""
    from . import report as rep
    period, choices = _period()
    staff = desk().staff_kpis(actor(), period)
    return render_template("staff/kpis.html", staff=staff, quarter=period.label, quarters=choices,
                           say=lambda key: rep.say(_lang(), key))


@bp.get("/alerts")
@staff_required
def alerts():
    result = desk().alerts(actor(), _page())
    return render_template("staff/alerts.html", alerts=result.items, result=result)


@bp.post("/alerts/<int:alert_id>/acknowledge")
@staff_required
def acknowledge_alert(alert_id: int):
    go_back_to(url_for("workspace.alerts"))
    desk().acknowledge_alert(actor(), alert_id, request.form.get("note", ""))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.alerts"))


@bp.route("/notifications", methods=["GET", "POST"])
@staff_required
def notifications():
    """Each kind of notification on or off, for oneself (with address and language) or, for admins, per team."""
    go_back_to(url_for("workspace.notifications"))
    if request.method == "POST":
        form = request.form
        enabled = {k.removeprefix("kind_") for k in form if k.startswith("kind_")}
        desk().set_notifications(actor(), enabled, email=form.get("email"), language=form.get("language") or None,
                                 team=form.get("team") or None)
        flash(t("saved"), "ok")
        return redirect(url_for("workspace.notifications"))
    return render_template("staff/notifications.html", choices=desk().notification_choices(actor()))


@bp.get("/outbox")
@staff_required
def outbox():
    counts, dead = desk().outbox(actor(), _page())
    return render_template("staff/outbox.html", counts=counts, dead=dead)


@bp.post("/outbox/<int:message_id>/resend")
@staff_required
def resend(message_id: int):
    go_back_to(url_for("workspace.outbox"))
    desk().resend(actor(), message_id)
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.outbox"))


@bp.get("/complaints/<number>/report")
@staff_required
def case_report(number: str):
    """The written 《投诉处理报告》, printable (the browser's print makes paper or PDF of it too)."""
    return render_template("staff/case_report.html", report=desk().case_report(actor(), number), number=number)


@bp.get("/complaints/<number>/report.pdf")
@staff_required
def case_report_pdf(number: str):
    from .case_report import pdf
    from .complaints import pdf_response
    report = desk().case_report(actor(), number)
    return pdf_response(pdf(report), report.title)


@bp.get("/tasks")
@staff_required
def tasks():
    result = desk().tasks(actor(), page=_page())
    return render_template("staff/tasks.html", tasks=result.items, result=result, now=utcnow())


@bp.post("/tasks/<int:task_id>/done")
@staff_required
def task_done(task_id: int):
    go_back_to(url_for("workspace.tasks"))
    desk().finish_task(actor(), task_id, request.form.get("note"))
    flash(t("saved"), "ok")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/staff/") and not back.startswith("//") else url_for("workspace.tasks"))


@bp.get("/capa")
@staff_required
def capa():
    """Corrective and preventive actions of my teams (admins: all), and the form to decide one."""
    result = desk().capa(actor(), open_only=False, page=_page())
    return render_template("staff/capa.html", actions=result.items, result=result, now=utcnow(),
                           may_decide=desk().may_decide_capa(actor()), form=request.args)


@bp.post("/capa")
@staff_required
def create_capa():
    go_back_to(url_for("workspace.capa"))
    f = request.form
    desk().create_capa(actor(), f.get("what", ""), f.get("owner_team", ""), f.get("due"), f.get("complaints"),
                       f.get("cluster"))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.capa"))


@bp.post("/capa/<int:capa_id>/done")
@staff_required
def capa_done(capa_id: int):
    go_back_to(url_for("workspace.capa"))
    desk().finish_capa(actor(), capa_id, request.form.get("evidence"))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.capa"))


# -- Staff accounts (admins; the desk refuses everyone else) ------------------------------------------------

def _same_password_twice(form) -> None:
    """The form asks for a new password twice; a difference is the typist's slip, named on the second field."""
    if form.get("password", "") != form.get("password2", ""):
        raise Invalid(t("passwords_differ"), [{"field": "password2", "message": "the two passwords differ"}])


@bp.get("/accounts")
@staff_required
def accounts():
    who = actor()
    return render_template("staff/accounts.html", accounts=desk().staff_accounts(who),
                           audit=desk().staff_audit(who, page=_page("audit_page")),
                           roles=ROLES)


@bp.post("/accounts")
@staff_required
def create_account():
    go_back_to(url_for("workspace.accounts"))
    form = request.form
    _same_password_twice(form)
    desk().create_staff(actor(), form.get("username", ""), form.get("password", ""), form.get("role", "handler"),
                        form.getlist("teams"), form.get("name") or None, form.get("department") or None,
                        form.get("email") or None)
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.accounts"))


@bp.post("/accounts/<username>")
@staff_required
def update_account(username: str):
    """The account's form: role, teams, department and e-mail as shown (unticked teams are removed)."""
    go_back_to(url_for("workspace.accounts"))
    form = request.form
    desk().update_staff(actor(), username, role=form.get("role") or None, teams=form.getlist("teams"),
                        department=form.get("department", ""), email=form.get("email", ""))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.accounts"))


@bp.post("/accounts/<username>/active")
@staff_required
def set_active(username: str):
    go_back_to(url_for("workspace.accounts"))
    desk().update_staff(actor(), username, active=request.form.get("active") == "1")
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.accounts"))


@bp.post("/accounts/<username>/password")
@staff_required
def reset_password(username: str):
    go_back_to(url_for("workspace.accounts"))
    form = request.form
    _same_password_twice(form)
    desk().reset_password(actor(), username, form.get("password", ""))
    flash(t("saved"), "ok")
    return redirect(url_for("workspace.accounts"))


from . import workspace_learning  # noqa: E402,F401  (its pages join this blueprint)
