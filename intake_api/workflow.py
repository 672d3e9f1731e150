"""The status workflow of a complaint and the words staff and complainants see for it."""

from __future__ import annotations

from enum import StrEnum


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
    "received": ("已受理", "Received"),
    "assessed": ("已评估", "Assessed"),
    "investigating": ("调查处理中", "Investigating"),
    "resolved": ("已反馈结果", "Resolved (result fed back)"),
    "closed": ("已结案", "Closed"),
    "reopened": ("重新处理", "Reopened"),
    "escalated": ("已升级", "Escalated"),
}

LEVELS = {1: ("紧急", "Urgent"), 2: ("重要", "Important"), 3: ("一般", "General")}

# The SOP's solution types; a promised one (a repair, a delivery) carries a date that runs as its own clock.
SOLUTIONS = {
    "repair": ("维修", "Repair"), "delivery": ("补发或配送", "Delivery or replacement"),
    "compensation": ("补偿", "Compensation"), "apology": ("道歉", "Apology"),
    "process_change": ("流程改进", "Process change"), "explanation": ("解释说明", "Explanation"),
    "no_action": ("无需处理", "No action needed"),
}
PROMISED = ("repair", "delivery")
FOLLOW_UP_METHODS = {"phone": ("电话", "Phone"), "in_person": ("当面", "In person"), "email": ("邮件", "E-mail")}
# A supervisor review ends the original result standing, a new investigation, or a third party's arbitration.
REVIEW_OUTCOMES = {
    "upheld": ("维持原处理结果", "The result stands"),
    "reinvestigate": ("重新调查", "Investigate again"),
    "arbitration": ("第三方仲裁", "Third-party arbitration"),
}

RESPONSIBILITY = {
    "own": ("本部门责任", "Own team's fault"),
    "third_party": ("第三方责任", "Third party's fault"),
    "outside": ("不属本部门职责", "Outside the team's remit"),
}

OPEN_STATUSES = ("received", "assessed", "investigating", "reopened", "escalated")


class TransitionError(ValueError):
    """A status change the workflow does not allow."""


def check_transition(current: str, target: str) -> None:
    if target not in STATUSES:
        raise TransitionError(f"未知状态 '{target}' · Unknown status '{target}': use one of {', '.join(STATUSES)}")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise TransitionError(
            f"不能从“{LABELS[current][0]}”改为“{LABELS[target][0]}” · "
            f"Cannot go from {current} to {target}; allowed next: {', '.join(allowed)}")


def label(status: str, lang: str = "zh") -> str:
    zh, en = LABELS[status]
    return zh if lang == "zh" else en
