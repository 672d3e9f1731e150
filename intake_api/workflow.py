"""The status workflow of a complaint and the words staff and complainants see for it."""

from __future__ import annotations

from enum import StrEnum

from .i18n import N_, gettext


class Status(StrEnum):
    """Where a complaint is in the process; the value is what is stored and sent."""

    RECEIVED = "received"
    ASSESSED = "assessed"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ESCALATED = "escalated"


class Role(StrEnum):
    """What a staff account may see: its teams' complaints, everything, or employee relations' share."""

    HANDLER = "handler"
    ADMIN = "admin"
    RELATIONS = "relations"
    # Sees their teams' complaints like a handler, and decides supervisor reviews (as team leads do).
    SUPERVISOR = "supervisor"


class Channel(StrEnum):
    ONLINE_FORM = "online_form"
    EMAIL = "email"
    HOTLINE = "hotline"
    RECEPTION = "reception"
    ANONYMOUS_PLATFORM = "anonymous_platform"


class Language(StrEnum):
    """The languages of the site and of articles (a case file's `language`)."""

    ZH_HANS = "zh-Hans"
    ZH_HANT = "zh-Hant"
    EN = "en"


STATUSES = tuple(s.value for s in Status)

# received -> assessed -> investigating -> resolved (result fed back) -> closed,
# with reopened (the complainant is unhappy, or new facts) and escalated
# (supervisor review or third-party arbitration) possible along the way.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("assessed", "escalated"),
    "assessed": ("investigating", "escalated"),
    "investigating": ("resolved", "escalated"),
    "resolved": ("closed", "reopened", "escalated"),
    "reopened": ("investigating", "escalated"),
    "escalated": ("investigating", "resolved"),
    "closed": ("reopened",),
}

LABELS = {
    "received": N_("Received"),
    "assessed": N_("Assessed"),
    "investigating": N_("Investigating"),
    "resolved": N_("Resolved (result fed back)"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "escalated": N_("Escalated"),
}

LEVELS = {1: ("紧急", "Urgent"), 2: ("重要", "Important"), 3: ("一般", "General")}
# The levels as labels in the catalogues (LEVELS keeps its pairs for the quarterly review, intake_api/report.py).
LEVEL_NAMES = {1: N_("Urgent"), 2: N_("Important"), 3: N_("General")}

# The SOP's solution types; a promised one (a repair, a delivery) carries a date that runs as its own clock.
SOLUTIONS = {
    "repair": N_("Repair"), "delivery": N_("Delivery or replacement"),
    "compensation": N_("Compensation"), "apology": N_("Apology"),
    "process_change": N_("Process change"), "explanation": N_("Explanation"),
    "no_action": N_("No action needed"),
}
PROMISED = ("repair", "delivery")
FOLLOW_UP_METHODS = {"phone": N_("Phone"), "in_person": N_("In person"), "email": N_("E-mail")}
# A supervisor review ends the original result standing, a new investigation, or a third party's arbitration.
REVIEW_OUTCOMES = {
    "upheld": N_("The result stands"),
    "reinvestigate": N_("Investigate again"),
    "arbitration": N_("Third-party arbitration"),
}

RESPONSIBILITY = {
    "own": N_("Own team's fault"),
    "third_party": N_("Third party's fault"),
    "outside": N_("Outside the team's remit"),
}

# What each history entry (complaint_events.action) records, as staff read it in the workspace.
EVENTS = {
    "created": N_("Complaint received"), "recognised": N_("Recognised as a matter for a person"),
    "team": N_("Team"), "handler": N_("Handler"), "status": N_("Status"), "level": N_("Level"),
    "temporary_measures": N_("Temporary measures taken"), "investigation_ended": N_("Investigation ended"),
    "step": N_("Investigation step"), "task": N_("Task assigned"), "task_done": N_("Task done"),
    "responsibility": N_("Responsibility"), "about": N_("Department complained about"),
    "response": N_("Response to the complainant"), "rating": N_("Complainant's rating"),
    "question": N_("Question to the complainant"), "answer": N_("Complainant's answer"),
    "outcome": N_("Solution"), "promise_kept": N_("Promise kept"), "follow_up": N_("Follow-up"),
    "review": N_("Supervisor review"), "report_confirmed": N_("Report confirmed by the complainant"),
    "report_disputed": N_("Report disputed by the complainant"), "capa": N_("Corrective action"),
    "attachment": N_("File attached"), "article_linked": N_("Linked to the article that answered it"),
    "article_draft": N_("Written up as a draft article"),
    "article_approved": N_("Article approved, awaiting an admin's approval"),
    "article_published": N_("Article approved and published"),
    "identity_erased": N_("Identity erased"), "purged": N_("Text removed after the retention period"),
}
# History values that are ids of a known list, shown by their labels (levels are stored as "1".."3").
_EVENT_VALUES = {"status": LABELS, "level": {str(k): v for k, v in LEVEL_NAMES.items()}, "outcome": SOLUTIONS,
                 "review": REVIEW_OUTCOMES, "responsibility": RESPONSIBILITY, "follow_up": FOLLOW_UP_METHODS}

OPEN_STATUSES = ("received", "assessed", "investigating", "reopened", "escalated")


class TransitionError(ValueError):
    """A status change the workflow does not allow."""


def check_transition(current: str, target: str) -> None:
    if target not in STATUSES:
        raise TransitionError(gettext("Unknown status '%(status)s': use one of %(known)s",
                                      status=target, known=", ".join(STATUSES)))
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise TransitionError(gettext("Cannot go from “%(current)s” to “%(target)s”; allowed next: %(allowed)s",
                                      current=label(current), target=label(target),
                                      allowed=", ".join(label(s) for s in allowed)))


def label(status: str) -> str:
    """A status as its label in the current language (never its id)."""
    return gettext(LABELS[status])


def event_label(action: str) -> str:
    """A history entry's action as a label in the current language (an unknown one as recorded)."""
    return gettext(EVENTS[action]) if action in EVENTS else action


def event_value(action: str, value: str | None) -> str:
    """A history entry's from/to value: a status, level, solution... by its label; anything else as recorded."""
    if value is None:
        return ""
    known = _EVENT_VALUES.get(action, {})
    return gettext(known[value]) if value in known else value
