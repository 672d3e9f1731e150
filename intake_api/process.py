"""The one place that changes a complaint: every change is checked and appended to its history.

Both the staff workspace (HTML) and the JSON API call these functions, so the
rules of the process SOP (content/sops/) hold whichever way staff work.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from . import conflicts, sensitive, tracking
from .dispatch import dispatch
from .i18n import DEFAULT_LANGUAGE, N_, gettext, speaking
from .models import Complaint, ComplaintEvent, FollowUp, Message, StaffUser, Task, utcnow
from .publish import language_of
from .sla import Clock
from .workflow import (
    FOLLOW_UP_METHODS,
    LEVELS,
    PROMISED,
    RESPONSIBILITY,
    REVIEW_OUTCOMES,
    SOLUTIONS,
    TransitionError,
    check_transition,
)

SYSTEM = "system"
COMPLAINANT = "complainant"


def actor_of(user: StaffUser | None) -> str:
    return f"staff:{user.username}" if user is not None else SYSTEM


def record(session: Session, c: Complaint, actor: str, action: str, from_value=None, to_value=None,
           note: str | None = None, at: dt.datetime | None = None) -> ComplaintEvent:
    event = ComplaintEvent(complaint_id=c.id, at=at or utcnow(), actor=actor, action=action,
                           from_value=None if from_value is None else str(from_value),
                           to_value=None if to_value is None else str(to_value), note=note)
    session.add(event)
    return event


def _set_due_dates(c: Complaint, clock: Clock) -> None:
    c.assessment_due_at = clock.assessment_due(c.received_at)
    c.first_response_due_at = clock.first_response_due(c.received_at, c.level)
    c.resolution_due_at = clock.resolution_due(c.received_at, c.level)


def register(session: Session, kb, clock: Clock, data, entered_by: StaffUser | None = None,
             now: dt.datetime | None = None) -> tuple[Complaint, str]:
    """Store a new complaint: dispatch it, set its level and clocks; return it with its tracking code."""
    code = tracking.new_code()
    received = now or utcnow()
    who = data.identity
    # The recogniser reads what the complainant wrote about the matter, never the contact fields:
    # the description as typed in the form (the suggest path read the same), then the request.
    sens = sensitive.assess(kb, data.description, data.category)
    if not sens.sensitive and (data.request or "").strip():
        asked = sensitive.assess(kb, data.request)
        sens = asked if asked.sensitive else sens
    routed = dispatch(kb.process, data.category, data.description, sens.verdict)
    team, rule = routed.team, routed.rule
    conflict = conflicts.team_conflict(kb, data.category, data.about_department, team)
    if conflict:
        team, rule = kb.process.conflicts.route_to, f"conflict of interest: {conflict}"
    urgent = sens.urgent or data.category in kb.process.urgent_categories
    c = Complaint(
        tracking_hash=tracking.code_hash(code), channel=str(data.channel), anonymous=data.anonymous,
        disclosure=data.disclosure,
        name=who.name if who else None, department=who.department if who else None,
        position=who.position if who else None, contact=who.contact if who else None,
        notify_email=None if data.anonymous else data.notify_email, language=language_of(data.description),
        category=data.category, description=data.description, request=data.request or "",
        about_department=data.about_department, about_role=data.about_role,
        # A date alone stays a date (no invented midnight); a moment also gives its local date.
        occurred_at=data.occurred_at if isinstance(data.occurred_at, dt.datetime) else None,
        occurred_on=(data.occurred_at.astimezone(clock.zone).date() if isinstance(data.occurred_at, dt.datetime)
                     else data.occurred_at),
        location=data.location or "",
        level=1 if urgent else 3, status="received", team=team, safety_flag=urgent,
        recognised_kind=sens.verdict.kind, recognised_reason=sens.verdict.reason or None,
        shown_articles=data.shown_articles, confident_at_submit=data.confident_at_submit, received_at=received, updated_at=received,
        entered_by_id=entered_by.id if entered_by else None,
    )
    _set_due_dates(c, clock)
    session.add(c)
    session.flush()  # the id gives the human-readable number
    c.number = tracking.complaint_number(c.id, received.astimezone(clock.zone).year)
    record(session, c, actor_of(entered_by) if entered_by else COMPLAINANT, "created", None, "received",
           note=f"channel={c.channel}", at=received)
    if sens.sensitive:
        record(session, c, SYSTEM, "recognised", None, sens.verdict.kind, note=sens.verdict.reason, at=received)
    record(session, c, SYSTEM, "team", None, c.team, note=f"rule: {rule}", at=received)
    if urgent:
        why = (f"recognised as {sens.verdict.kind}" if sens.urgent else f"category {c.category}")
        record(session, c, SYSTEM, "level", 3, 1, note=why, at=received)
    return c, code


def change_status(session: Session, clock: Clock, c: Complaint, target: str, actor: str,
                  note: str | None = None, now: dt.datetime | None = None) -> None:
    check_transition(c.status, target)
    now = now or utcnow()
    if c.safety_flag and not (c.temporary_measures or "").strip() and target != "received":
        raise TransitionError(gettext("Urgent complaint: write the temporary measures taken before moving it on"))
    if target == "resolved" and not (c.response or "").strip():
        raise TransitionError(gettext("Write the response to the complainant before resolving"))
    if target == "assessed":
        c.assessed_at = c.assessed_at or now
    elif target == "investigating":
        c.investigation_started_at = c.investigation_started_at or now
    elif target == "resolved":
        if c.investigation_ended_at is None:
            end_investigation(session, clock, c, actor, now=now)
        c.resolved_at = now
    elif target == "closed":
        if c.promise_due_at is not None and c.promise_kept_at is None:
            raise TransitionError(gettext("The promised repair or delivery is not done yet: record it as kept before closing"))
        c.closed_at = now
    elif target == "escalated":
        # A supervisor reviews within its own limit (PROCESS.md: 上级复核 / 第三方仲裁).
        c.review_due_at = clock.end_of_workdays(now, clock.sla.review_working_days)
        c.reviewed_at = c.review_outcome = None
    elif target == "reopened":
        # A new round: the result must be fed back again within the limit, counted from the reopening (the
        # old dates were met or missed in the first round; left as they were, the status page showed them).
        c.investigation_ended_at = c.resolved_at = c.closed_at = None
        c.result_due_at = clock.result_due(now)
        if c.resolution_due_at is not None:
            c.resolution_due_at = clock.resolution_due(now, c.level)
    record(session, c, actor, "status", c.status, target, note=note, at=now)
    c.status = target
    c.updated_at = now


MAX_MEASURES = 2000


def set_temporary_measures(session: Session, c: Complaint, text: str, actor: str) -> None:
    """What was done at once about a danger or hygiene complaint (the safety SOP: temporary measures first)."""
    text = (text or "").strip()
    if not text:
        raise TransitionError(gettext("Describe the temporary measures taken"))
    if len(text) > MAX_MEASURES:
        raise TransitionError(gettext("At most %(max_measures)s characters", max_measures=MAX_MEASURES))
    record(session, c, actor, "temporary_measures", c.temporary_measures, text)
    c.temporary_measures = text
    c.updated_at = utcnow()


def end_investigation(session: Session, clock: Clock, c: Complaint, actor: str, now: dt.datetime | None = None) -> None:
    """The investigation is over: the result is due within N working days (content/sops/time-limits.md: 7)."""
    if c.status not in ("investigating", "escalated"):
        raise TransitionError(gettext("Only a complaint under investigation can end its investigation"))
    now = now or utcnow()
    c.investigation_ended_at = now
    c.result_due_at = clock.result_due(now)
    c.updated_at = now
    record(session, c, actor, "investigation_ended", None, c.result_due_at.isoformat(), at=now)


def set_level(session: Session, clock: Clock, c: Complaint, level: int, actor: str, note: str | None = None) -> None:
    if level not in LEVELS:
        raise TransitionError(gettext("Level must be 1, 2 or 3"))
    if level == c.level:
        return
    record(session, c, actor, "level", c.level, level, note=note)
    c.level = level
    c.first_response_due_at = clock.first_response_due(c.received_at, level)
    c.resolution_due_at = clock.resolution_due(c.received_at, level)
    c.updated_at = utcnow()


def set_responsibility(session: Session, c: Complaint, value: str, actor: str) -> None:
    if value not in RESPONSIBILITY:
        raise TransitionError(gettext("Responsibility must be one of %(known)s", known=', '.join(RESPONSIBILITY)))
    if value != c.responsibility:
        record(session, c, actor, "responsibility", c.responsibility, value)
        c.responsibility = value
        c.updated_at = utcnow()


def _override(conflict: str, override: str | None, admin: bool) -> str:
    """A conflict of interest stands unless an admin overrides it with a reason; returns the history's note."""
    reason = (override or "").strip()
    if not reason:
        raise TransitionError(gettext("%(conflict)s (an admin may override with a reason)", conflict=conflict))
    if not admin:
        raise TransitionError(gettext("Only an admin can override a conflict of interest"))
    return f"conflict of interest overridden: {reason[:500]} ({conflict})"


def assign(session: Session, kb, c: Complaint, actor: str, team: str | None = None,
           handler: StaffUser | None = None, override: str | None = None, admin: bool = False) -> None:
    if team is not None and team != c.team:
        if kb.process.team(team) is None:
            raise TransitionError(gettext("Unknown team '%(team)s'", team=team))
        conflict = conflicts.team_conflict(kb, c.category, c.about_department, team)
        record(session, c, actor, "team", c.team, team, note=_override(conflict, override, admin) if conflict else None)
        c.team = team
    if handler is not None and handler.id != c.handler_id:
        if not handler.active or (not handler.is_admin and c.team not in handler.teams):
            raise TransitionError(gettext("%(username)s is not in team %(team)s", username=handler.username, team=c.team))
        conflict = conflicts.handler_conflict(kb, c, handler)
        record(session, c, actor, "handler", c.handler_id, handler.username,
               note=_override(conflict, override, admin) if conflict else None)
        c.handler_id = handler.id
    c.updated_at = utcnow()


MAX_ROLE = 100


def set_about(session: Session, kb, c: Complaint, department: str | None, role: str | None, actor: str) -> None:
    """Who the complaint is about; a conduct complaint now about its own team's department leaves that team."""
    department = (department or "").strip() or None
    role = (role or "").strip() or None
    if department is not None and kb.process.department(department) is None:
        known = ", ".join(d.id for d in kb.process.departments)
        raise TransitionError(gettext("Unknown department '%(department)s': use one of %(known)s", department=department, known=known))
    if role is not None and len(role) > MAX_ROLE:
        raise TransitionError(gettext("Role: at most %(max_role)s characters", max_role=MAX_ROLE))
    if (department, role) == (c.about_department, c.about_role):
        return
    record(session, c, actor, "about", " / ".join(filter(None, (c.about_department, c.about_role))) or None,
           " / ".join(filter(None, (department, role))) or None)
    c.about_department, c.about_role = department, role
    conflict = conflicts.team_conflict(kb, c.category, department, c.team)
    if conflict:
        target = kb.process.conflicts.route_to
        record(session, c, SYSTEM, "team", c.team, target, note=f"rule: conflict of interest: {conflict}")
        c.team = target
    handler = session.get(StaffUser, c.handler_id) if c.handler_id else None
    if handler is not None and (conflict or conflicts.handler_conflict(kb, c, handler)):
        record(session, c, SYSTEM, "handler", handler.username, None, note="conflict of interest: unassigned")
        c.handler_id = None
    c.updated_at = utcnow()


RESPONSE_PARTS = (("response_basis", N_("Basis")), ("response_result", N_("Result")),
                  ("response_followup", N_("Follow-up measures")))


def respond(session: Session, c: Complaint, text: str, actor: str, now: dt.datetime | None = None,
            parts: dict[str, str] | None = None) -> None:
    """Write what the complainant sees; the first one stops the first-response clock.

    Either one text, or the SOP's three parts (basis, result, follow-up measures), kept apart and joined
    into the text the complainant reads.
    """
    parts = {k: (v or "").strip() for k, v in (parts or {}).items() if (v or "").strip()}
    if parts:
        if "response_result" not in parts:
            raise TransitionError(gettext("Write the result (basis and follow-up measures are optional)"))
        with speaking(c.language or DEFAULT_LANGUAGE):  # stored: in the complainant's language, not the handler's
            text = "\n".join(gettext("%(heading)s: %(text)s", heading=gettext(heading), text=parts[key])
                              for key, heading in RESPONSE_PARTS if key in parts)
        for key, _ in RESPONSE_PARTS:
            setattr(c, key, parts.get(key))
    text = (text or "").strip()
    if not text:
        raise TransitionError(gettext("The response cannot be empty"))
    now = now or utcnow()
    record(session, c, actor, "response", c.response, text, at=now)
    c.response = text
    c.first_responded_at = c.first_responded_at or now
    c.updated_at = now


def rate(session: Session, kb, clock: Clock, c: Complaint, score: int, comment: str | None) -> str | None:
    """The complainant's satisfaction; a low score reopens or escalates (as configured)."""
    if c.status not in ("resolved", "closed"):
        raise TransitionError(gettext("You can rate once the result has been fed back"))
    if c.rating is not None and c.status == "closed":
        raise TransitionError(gettext("This complaint has already been rated"))
    now = utcnow()
    record(session, c, COMPLAINANT, "rating", c.rating, score, note=comment, at=now)
    c.rating, c.rating_comment, c.rated_at = score, comment, now
    settings = kb.process.satisfaction
    if score <= settings.low_rating:
        target = settings.on_low
        if c.status == "closed" and target == "escalate":
            target = "reopened"
        change_status(session, clock, c, "reopened" if target == "reopen" else "escalated", SYSTEM,
                      note=f"low satisfaction rating {score}/5", now=now)
        return c.status
    return None


MAX_MESSAGE = 2000


def post_message(session: Session, c: Complaint, text: str, staff: StaffUser | None = None,
                 actor: str | None = None) -> Message:
    """Add to the follow-up thread: a handler's question, or the complainant's answer.

    The complainant writes through the tracking code only: no e-mail, no login,
    so an anonymous complainant stays anonymous while answering.
    """
    text = (text or "").strip()
    if not text:
        raise TransitionError(gettext("The message cannot be empty"))
    if len(text) > MAX_MESSAGE:
        raise TransitionError(gettext("At most %(max_message)s characters", max_message=MAX_MESSAGE))
    if c.purged_at is not None or c.status == "closed" and staff is None:
        raise TransitionError(gettext("This complaint is closed"))
    now = utcnow()
    msg = Message(complaint_id=c.id, author="staff" if staff else "complainant",
                  staff_username=staff.username if staff else None, body=text, at=now)
    session.add(msg)
    record(session, c, actor or (actor_of(staff) if staff else COMPLAINANT), "question" if staff else "answer",
           None, text, at=now)
    c.updated_at = now
    return msg


def set_outcome(session: Session, clock: Clock, c: Complaint, solutions: list[str], promise_date: dt.date | None,
                promise_text: str | None, actor: str) -> None:
    """The solution by type; a repair or a delivery promises a date, which runs as its own clock."""
    unknown = [s for s in solutions if s not in SOLUTIONS]
    if not solutions or unknown:
        raise TransitionError(gettext("Solutions must be among %(known)s", known=', '.join(SOLUTIONS)))
    promised = [s for s in solutions if s in PROMISED]
    if promised and promise_date is None:
        raise TransitionError(gettext("A repair or delivery needs the promised date"))
    due = None
    if promise_date is not None:
        due = dt.datetime.combine(promise_date, dt.time(23, 59, 59), tzinfo=clock.zone).astimezone(dt.UTC)
        if due < utcnow():
            raise TransitionError(gettext("The promised date cannot be in the past"))
    record(session, c, actor, "outcome", ",".join(c.solutions or []) or None, ",".join(solutions),
           note=f"promised by {promise_date.isoformat()}: {promise_text or ''}".strip() if promise_date else None)
    c.solutions = list(dict.fromkeys(solutions))
    if due != c.promise_due_at:
        c.promise_due_at, c.promise_kept_at = due, None
    c.promise_text = (promise_text or "").strip()[:200] or None
    c.updated_at = utcnow()


def keep_promise(session: Session, c: Complaint, actor: str, note: str | None) -> None:
    if c.promise_due_at is None or c.promise_kept_at is not None:
        raise TransitionError(gettext("There is no open promise to mark as kept"))
    now = utcnow()
    c.promise_kept_at = c.updated_at = now
    record(session, c, actor, "promise_kept", None, "kept", note=note, at=now)


def record_follow_up(session: Session, c: Complaint, method: str, score: int | None, note: str | None,
                     staff: StaffUser | None, actor: str) -> FollowUp:
    """A 回访 recorded by staff, with the satisfaction the complainant gave them (kept apart from ratings)."""
    if method not in FOLLOW_UP_METHODS:
        raise TransitionError(gettext("Method must be one of %(known)s", known=', '.join(FOLLOW_UP_METHODS)))
    if score is not None and not 1 <= score <= 5:
        raise TransitionError(gettext("Satisfaction must be 1 to 5"))
    if c.status not in ("resolved", "closed"):
        raise TransitionError(gettext("Follow up once the result has been fed back"))
    note = (note or "").strip()[:MAX_MESSAGE] or None
    row = FollowUp(complaint_id=c.id, staff_username=staff.username if staff else actor, method=method, score=score,
                   note=note)
    session.add(row)
    record(session, c, actor, "follow_up", None, f"{method} {score if score is not None else '-'}/5", note=note)
    c.updated_at = utcnow()
    return row


def review(session: Session, clock: Clock, c: Complaint, outcome: str, actor: str, note: str | None,
           arbitrator: str | None = None, arbitration_result: str | None = None) -> None:
    """A supervisor's decision on an escalated complaint: the result stands, a new investigation, or arbitration."""
    if c.status != "escalated":
        raise TransitionError(gettext("Only an escalated complaint is reviewed"))
    if outcome not in REVIEW_OUTCOMES:
        raise TransitionError(gettext("Outcome must be one of %(known)s", known=', '.join(REVIEW_OUTCOMES)))
    now = utcnow()
    if outcome == "arbitration":
        if not (arbitrator or "").strip() or not (arbitration_result or "").strip():
            raise TransitionError(gettext("Name the arbitrator and write the arbitration's result"))
        c.arbitration_by, c.arbitration_result = arbitrator.strip()[:200], arbitration_result.strip()  # type: ignore[union-attr]
    if outcome in ("upheld", "arbitration") and not (c.response or "").strip():
        raise TransitionError(gettext("Write the response to the complainant first"))
    record(session, c, actor, "review", None, outcome, note=note, at=now)
    c.reviewed_at, c.review_outcome = now, outcome
    if outcome == "reinvestigate":  # a new round: the result must be fed back again within the limit
        c.investigation_ended_at = c.result_due_at = c.resolved_at = None
    change_status(session, clock, c, "investigating" if outcome == "reinvestigate" else "resolved", actor,
                  note=f"supervisor review: {outcome}", now=now)


def answer_report(session: Session, clock: Clock, c: Complaint, decision: str, comment: str | None) -> None:
    """The complainant confirms the written report, or disputes it: a dispute goes to supervisor review."""
    if c.status != "resolved" or not (c.response or "").strip():
        raise TransitionError(gettext("The report can be confirmed once the result is fed back"))
    if decision not in ("confirmed", "disputed"):
        raise TransitionError(gettext("Choose confirmed or disputed"))
    if c.report_confirmation == "confirmed":
        raise TransitionError(gettext("The report is already confirmed"))
    comment = (comment or "").strip()[:MAX_MESSAGE] or None
    now = utcnow()
    c.report_confirmation, c.report_confirmed_at = decision, now
    record(session, c, COMPLAINANT, "report_" + decision, None, decision, note=comment, at=now)
    if decision == "disputed":
        change_status(session, clock, c, "escalated", COMPLAINANT, note="the complainant disputed the report",
                      now=now)



def set_step(session: Session, kb, c: Complaint, step: str, actor: str) -> None:
    """Which step of the investigation the complaint is at (process.investigation_steps)."""
    steps = [s.id for s in kb.process.investigation_steps]
    if c.status not in ("investigating", "escalated"):
        raise TransitionError(gettext("Only a complaint under investigation has steps"))
    if step not in steps:
        raise TransitionError(gettext("The step must be one of %(known)s", known=', '.join(steps)))
    if step != c.investigation_step:
        record(session, c, actor, "step", c.investigation_step, step)
        c.investigation_step = step
        c.updated_at = utcnow()


def add_task(session: Session, kb, clock: Clock, c: Complaint, team: str, text: str, due: dt.date | None,
             actor: str) -> Task:
    """Hand part of the investigation to another team, due by the end of a day (its own deadline)."""
    text = (text or "").strip()
    if kb.process.team(team) is None:
        raise TransitionError(gettext("Unknown team '%(team)s'", team=team))
    if not text or len(text) > MAX_MESSAGE:
        raise TransitionError(gettext("Describe the task (at most %(max_message)s characters)", max_message=MAX_MESSAGE))
    if due is None:
        raise TransitionError(gettext("Give the task a due date"))
    due_at = dt.datetime.combine(due, dt.time(23, 59, 59), tzinfo=clock.zone).astimezone(dt.UTC)
    if due_at < utcnow():
        raise TransitionError(gettext("The due date cannot be in the past"))
    if c.status in ("resolved", "closed"):
        raise TransitionError(gettext("A resolved complaint gets no new tasks"))
    task = Task(complaint_id=c.id, team=team, text=text, due_at=due_at, created_by=actor, created_at=utcnow())
    session.add(task)
    session.flush()
    record(session, c, actor, "task", None, team, note=f"due {due.isoformat()}: {text}")
    c.updated_at = utcnow()
    return task


def finish_task(session: Session, c: Complaint, task: Task, actor: str, note: str | None) -> None:
    if task.done_at is not None:
        raise TransitionError(gettext("Task #%(id)s is already done", id=task.id))
    task.done_at, task.done_by, task.note = utcnow(), actor, (note or "").strip()[:MAX_MESSAGE] or None
    record(session, c, actor, "task_done", None, task.team, note=f"#{task.id}: {task.note or ''}".strip())
    c.updated_at = utcnow()