"""The database tables, as SQLAlchemy models. Schema changes go through migrations/."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .crypto import EncryptedJSON, EncryptedText


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use an aware UTC datetime")
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=dt.UTC) if value is not None else None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Complaint(Base):
    """One complaint that no article answered, as registered (投诉登记)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Human-readable number, e.g. TS-2026-000123; set right after insert from the id.
    number: Mapped[str] = mapped_column(String(20), unique=True, nullable=True)
    # Only a hash of the tracking code is kept: a leaked database cannot be used to read statuses.
    tracking_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    channel: Mapped[str] = mapped_column(String(30))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    # anonymous (no identity stored), confidential (identity for employee relations
    # only) or named. Identity fields are encrypted at rest (crypto.py).
    disclosure: Mapped[str] = mapped_column(String(12), default="named")
    name: Mapped[str | None] = mapped_column(EncryptedText)
    department: Mapped[str | None] = mapped_column(EncryptedText)
    position: Mapped[str | None] = mapped_column(EncryptedText)
    contact: Mapped[str | None] = mapped_column(EncryptedText)
    # Where the complainant asked to be told of progress (named and confidential only): encrypted like the
    # identity, erased with it.
    notify_email: Mapped[str | None] = mapped_column(EncryptedText)
    # The language they wrote in (zh-Hans, zh-Hant, en): their notifications use it.
    language: Mapped[str | None] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(40), index=True)
    # Who the complaint is about: a department of process.departments (not the complainant's own department,
    # which is identity) and, optionally, the service or role (a shuttle driver, the front desk).
    about_department: Mapped[str | None] = mapped_column(String(40), index=True)
    about_role: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text)
    # When it happened: the moment when a time was given; a date alone is kept as a date (occurred_on) with no
    # invented midnight. occurred_on is the local date either way.
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    occurred_on: Mapped[dt.date | None] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    response: Mapped[str | None] = mapped_column(Text)
    shown_articles: Mapped[list] = mapped_column(JSON, default=list)
    # Whether a confident suggestion was on screen when the complainant submitted (the form says; None: a
    # channel or client that does not know). The review's content gaps count the ones without.
    confident_at_submit: Mapped[bool | None] = mapped_column(Boolean)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    assessment_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Triage and ownership.
    team: Mapped[str | None] = mapped_column(String(40), index=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    responsibility: Mapped[str | None] = mapped_column(String(20))  # own, third_party, outside
    safety_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the recogniser decided (danger, hygiene, harassment...; None: ordinary) and why.
    recognised_kind: Mapped[str | None] = mapped_column(String(20))
    recognised_reason: Mapped[str | None] = mapped_column(Text)
    # Danger and hygiene: what was done at once; the handler must write it before moving on.
    temporary_measures: Mapped[str | None] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    # SLA clock: when each step is due, and when it happened.
    first_response_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    assessed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    investigation_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    investigation_ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # Which step of the investigation it is at (process.investigation_steps).
    investigation_step: Mapped[str | None] = mapped_column(String(40))
    # The outcome (the SOP's solution by type): what was decided, and a promised repair or delivery date,
    # which runs as its own clock until it is kept.
    solutions: Mapped[list | None] = mapped_column(JSON, default=list)
    promise_text: Mapped[str | None] = mapped_column(String(200))
    promise_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    promise_kept_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The response in the SOP's three parts (basis, result, follow-up measures); `response` is their text.
    response_basis: Mapped[str | None] = mapped_column(Text)
    response_result: Mapped[str | None] = mapped_column(Text)
    response_followup: Mapped[str | None] = mapped_column(Text)
    # Supervisor review after escalation (a low rating, a dispute), with its own limit, and arbitration.
    review_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_outcome: Mapped[str | None] = mapped_column(String(20))
    arbitration_by: Mapped[str | None] = mapped_column(String(200))
    arbitration_result: Mapped[str | None] = mapped_column(Text)
    # The complainant's answer to the written report (case_report.py): confirmed or disputed, and when.
    report_confirmation: Mapped[str | None] = mapped_column(String(12))
    report_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # Satisfaction, given by the complainant through the tracking code.
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Retention: when the text and identity were removed (`kb purge`).
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What staff search matches (finding.py): the number, description, request and location folded the way a
    # query is (Traditional to Simplified, NFKC, lower case); only the number once purged. Kept by the
    # listener below on every insert and update, so no writer can forget it.
    search_text: Mapped[str | None] = mapped_column(Text)


_SEARCHED = ("number", "description", "request", "location", "purged_at")


@event.listens_for(Complaint, "before_insert")
@event.listens_for(Complaint, "before_update")
def _keep_search_text(_mapper, _connection, c: Complaint) -> None:
    state = inspect(c)
    if state.persistent and not any(state.attrs[name].history.has_changes() for name in _SEARCHED):
        return  # a status change, an assignment...: the text is what it was
    from .finding import search_text
    c.search_text = search_text(c.number, c.description, c.request, c.location, purged=c.purged_at is not None)


class Deflection(Base):
    """An employee said a suggested article solved the problem: one complaint fewer."""

    __tablename__ = "deflections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(100), index=True)
    query: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # SHA-256 of the random token the site keeps in the browser (no identity, no address), kept only for the
    # window in which a complaint from the same browser makes this a false deflection; then erased.
    browser_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # When a complaint came from the same browser within that window: the article did not solve it after all.
    contradicted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The phrasing its query proposed (or supports, when the same text was proposed already): a false deflection
    # withdraws it. The proposal itself keeps neither the browser's hash nor any other identity.
    phrasing_id: Mapped[int | None] = mapped_column(ForeignKey("phrasings.id"), index=True)


class StaffUser(Base):
    """A member of staff who works complaints: a handler (their teams) or an admin (all)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # handler, admin
    teams: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where this person's notifications go (none: only the team's mailboxes and robots), and in which language.
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(8))
    # The department this person belongs to: they may not handle complaints about it (conflict of interest).
    department: Mapped[str | None] = mapped_column(String(40))

    # Flask-Login's user protocol.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class StaffAudit(Base):
    """One change to a staff account: who changed what from what to what. Never a password or its hash."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))  # staff:<username> or admin:cli
    username: Mapped[str] = mapped_column(String(60), index=True)  # the account changed
    # created, deactivated, reactivated, password_reset, role, teams, department, email, language
    action: Mapped[str] = mapped_column(String(30))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)


class ComplaintEvent(Base):
    """One entry of a complaint's history: appended, never changed."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))  # staff:<username>, complainant, system
    action: Mapped[str] = mapped_column(String(40))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """Something staff must see at once: a safety complaint, or a wave of similar ones."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # safety, emergency
    category: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    complaint_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(60))
    acknowledged_note: Mapped[str | None] = mapped_column(Text)


class AlertComplaint(Base):
    """Which complaints an alert is about, as rows: the alerts list asks "may this person see one of them" in SQL
    (alerts.complaint_ids, the same list as JSON, stays what notifications and the review read). Kept in step
    with complaint_ids by the listener below, whoever writes an alert."""

    __tablename__ = "alert_complaints"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True, index=True)


@event.listens_for(Alert, "after_insert")
@event.listens_for(Alert, "after_update")
def _link_alert_complaints(mapper, connection, alert: Alert) -> None:
    have = set(connection.scalars(select(AlertComplaint.complaint_id).where(AlertComplaint.alert_id == alert.id)))
    new = sorted(set(alert.complaint_ids or []) - have)
    if new:
        connection.execute(insert(AlertComplaint), [{"alert_id": alert.id, "complaint_id": i} for i in new])


class AlertLock(Base):
    """One row per category: whoever updates it first checks for a wave; the others wait.

    Two workers registering the sixth and seventh similar complaint at once
    would otherwise each find no alert and raise one each.
    """

    __tablename__ = "alert_locks"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    counter: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    """The follow-up thread: a handler asks, the complainant answers through the tracking code."""

    __tablename__ = "complaint_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    author: Mapped[str] = mapped_column(String(20))  # staff, complainant
    staff_username: Mapped[str | None] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """A submission's Idempotency-Key: a retried request gets the first answer, not a second complaint.

    The tracking code is kept encrypted, and only for a day, so the retry can be answered with it.
    """

    __tablename__ = "idempotency_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    code: Mapped[str] = mapped_column(EncryptedText)
    # SHA-256 of the submitted body: only the same submission is replayed; another one gets 409.
    body_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AnalyticsEvent(Base):
    """One anonymous usage event: a site search, a page vote, suggestions shown.

    No identity, no IP address, no session: only what the figures need.
    """

    __tablename__ = "analytics_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)  # search, page_feedback, suggestions_shown
    query: Mapped[str | None] = mapped_column(Text)
    result_count: Mapped[int | None] = mapped_column(Integer)
    page: Mapped[str | None] = mapped_column(String(300))
    value: Mapped[int | None] = mapped_column(Integer)
    article_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoginAttempt(Base):
    """One login attempt, counted for the per-address and per-username limits (login_guard.py).

    In the database so that every worker and node counts the same attempts
    whatever the rate-limit store. Keyed by an HMAC, never the address or the
    name as typed; rows older than the longest window are deleted.
    """

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class StaffSession(Base):
    """A staff login on the server: the cookie names it, logging out deletes it.

    Flask's session is a signed cookie; without this row a copy of the cookie
    (and its CSRF token) would keep working after logout.
    """

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """One notification to one recipient over one channel, written in the transaction that caused it.

    The worker delivers it later (worker.py): a rolled-back change never
    sends one, a crash never loses one. `dedupe_key` is unique, so the same
    event, reminder or digest is planned once however many workers look.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    audience: Mapped[str] = mapped_column(String(12))  # staff, complainant, management
    channel: Mapped[str] = mapped_column(String(80))  # email, or webhook:<id>
    # An e-mail address (encrypted: a complainant's is personal data); empty for webhooks.
    recipient: Mapped[str | None] = mapped_column(EncryptedText)
    language: Mapped[str] = mapped_column(String(8))
    # The template's variables: never a confidential or anonymous complainant's identity or text.
    # Encrypted: a receipt carries the tracking code, of which nothing else keeps more than a hash.
    context: Mapped[dict] = mapped_column(EncryptedJSON)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Which worker holds it, until when (a crashed worker's claim runs out and another takes it).
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    """One try at delivering an outbox message: when, by which worker, and what the receiver said."""

    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    worker: Mapped[str] = mapped_column(String(80))
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)


class PendingNotice(Base):
    """History entries (or an alert) whose notifications the worker has still to plan.

    The desk writes one such row in the transaction that changes a complaint,
    instead of looking up recipients and writing their messages there: a
    submission then costs one small insert, and the worker (`notify.plan_pending`)
    turns the row into outbox messages and deletes it in one transaction of
    its own. A receipt needs the tracking code, which nothing else keeps: the
    row carries it (encrypted) until the worker has planned the receipt.
    """

    __tablename__ = "notify_pending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # events, alert
    refs: Mapped[list] = mapped_column(JSON)  # complaint_events ids, or [alert id]
    # The tracking code of a complaint registered with an address for updates: its receipt carries it.
    secret: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    # An urgent or safety notice, or an emergency alert: planned and sent at once, even on a busy machine.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationSwitch(Base):
    """A kind of notification switched off (or back on) for one person or one team; no row: on."""

    __tablename__ = "notification_switches"
    __table_args__ = (UniqueConstraint("owner", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(80))  # user:<id> or team:<team id>
    kind: Mapped[str] = mapped_column(String(30))
    enabled: Mapped[bool] = mapped_column(Boolean)


class FollowUp(Base):
    """A 回访: staff called or met the complainant and recorded their satisfaction on their behalf.

    Kept apart from the complainant's own rating: figures show the two separately.
    """

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    staff_username: Mapped[str] = mapped_column(String(60))
    method: Mapped[str] = mapped_column(String(20))  # phone, in_person, email
    score: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class Task(Base):
    """Work an investigation hands to another team, with its own deadline (第三方核实, a repair...).

    The other team sees the task in its task list, not the complaint: the
    text is what the handler wrote for them, never the complainant's words.
    """

    __tablename__ = "complaint_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    team: Mapped[str] = mapped_column(String(40), index=True)
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)


class Attachment(Base):
    """A photo or file attached to a complaint (intake_api/attachments.py keeps the bytes on disk).

    The file is named by `storage_id`, a random id, never by what was uploaded; `name` is the uploaded
    name as display text only (sanitised). `content_type` is what the content was found to be, never what
    the client said. `uploaded_by`: complainant, or staff:<username>. Purged with the complaint.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    storage_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The thread message it came with (a complainant's reply with a photo), if any.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_messages.id"))


class CapaAction(Base):
    """A corrective or preventive action (CAPA) decided on complaints or a recurring problem.

    It belongs to an owner team with a due date; it is done only with evidence of what was done. The review
    lists what was decided in a quarter and what of it was done.
    """

    __tablename__ = "capa_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    what: Mapped[str] = mapped_column(Text)
    owner_team: Mapped[str] = mapped_column(String(40), index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open, done
    # The recurring problem it answers, as the review names it (category · example), if not single complaints.
    cluster: Mapped[str | None] = mapped_column(String(200))
    evidence: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(80))


class CapaComplaint(Base):
    """Which complaints an action answers (one or more)."""

    __tablename__ = "capa_complaints"

    capa_id: Mapped[int] = mapped_column(ForeignKey("capa_actions.id", ondelete="CASCADE"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True, index=True)


class Phrasing(Base):
    """A complainant's wording, redacted, proposed as a new `questions:` line of an existing article.

    A handler links a resolved complaint to the article that answered it; HR approves (possibly edited)
    or rejects; approval writes the line into the article's file in content/ (phrasings.py). `conflicts`
    is the quality guard's finding at proposal time: other articles' phrasings this one would win.
    """

    __tablename__ = "phrasings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(100), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # proposed, approved, rejected; withdrawn: proposed by "this solved it" clicks that all turned out false
    status: Mapped[str] = mapped_column(String(12), default="proposed", index=True)
    conflicts: Mapped[list] = mapped_column(JSON, default=list)
    proposed_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Publication(Base):
    """One article on its way to the site: approved (or waiting for an admin's second approval), then built.

    The desk writes it when an article is approved; the worker claims queued ones and runs `kb build`
    (build_queue.py). One build at a time across every worker: a claim succeeds only while nothing is
    building, and every publication queued when a build starts is built by it.
    """

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(100), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    # awaiting (an admin's second approval), queued, building, done, failed
    status: Mapped[str] = mapped_column(String(10), index=True)
    requested_by: Mapped[str] = mapped_column(String(80))  # who approved first
    approved_by: Mapped[str | None] = mapped_column(String(80))  # the approval that queued the build
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(80))
    # A build still running past this is taken as abandoned (its worker died) and queued again.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)  # the builder's summary, or its error naming file and line


class CalendarDay(Base):
    """A holiday or make-up workday an admin entered in the workspace (holidays.py); the SLA clocks use it.

    Never deleted: removing one sets removed_by/removed_at, so the rows are the calendar's audit trail.
    """

    __tablename__ = "calendar_days"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday, workday
    name: Mapped[str] = mapped_column(String(60), default="")  # e.g. 春节
    added_by: Mapped[str] = mapped_column(String(80))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_by: Mapped[str | None] = mapped_column(String(80))
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ReviewCache(Base):
    """A quarter's review figures, computed by the worker (review_cache.py): the page never computes a long one.

    `stamp` is what the figures were computed from (complaints of the quarter: how many, the latest change);
    when the database no longer gives the same stamp (a late reopen, a correction) the figures are stale.
    `requested_at` set and `data` empty or stale: the worker has been asked; `claimed_at`: one is on it.
    """

    __tablename__ = "review_cache"

    quarter: Mapped[str] = mapped_column(String(8), primary_key=True)  # 2026Q4
    data: Mapped[dict | None] = mapped_column(JSON)
    stamp: Mapped[str | None] = mapped_column(String(80))
    computed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    seconds: Mapped[float | None] = mapped_column(Float)  # how long it took
    requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ReviewBreach(Base):
    """The breach list of a kept review, in its order (`seq`): a page of it is a primary-key range, where
    computing it sorts every breach of the quarter (a second at 50,000 complaints, each time a page is shown)."""

    __tablename__ = "review_breaches"

    quarter: Mapped[str] = mapped_column(ForeignKey("review_cache.quarter", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    due: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    done: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    level: Mapped[int] = mapped_column(Integer)
    team: Mapped[str | None] = mapped_column(String(40))
    about: Mapped[str | None] = mapped_column(String(40))
    late_hours: Mapped[float] = mapped_column(Float)
