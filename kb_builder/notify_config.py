"""Settings of notifications (intake_api/notify.py, outbox.py, worker.py): who is told what, and how.

Declared here once with their defaults; kb.yml's `notifications:` section
overrides them and config.py validates the whole file at the edge. With no
SMTP host and no webhook, notifications are still planned and kept in the
outbox (visible to admins), but none can be delivered.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANGUAGES = ("zh-Hans", "zh-Hant", "en")


class _Strict(BaseModel):
    # A docstring under a field is its help in operations/configuration.md.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class SmtpSettings(_Strict):
    host: str = ""
    """The SMTP server e-mail goes through. Empty: no e-mail is sent (messages wait in the outbox)."""
    port: int = Field(default=587, ge=1, le=65535)
    """Its port: 587 with STARTTLS, 465 with ssl, 25 inside a trusted network."""
    security: Literal["starttls", "ssl", "none"] = "starttls"
    """starttls: upgrade the connection (refused if the server cannot); ssl: TLS from the start; none: plain."""
    username: str = ""
    """Login for the server's AUTH; empty: no login."""
    password: SecretStr | None = None
    """Its password (set KB_SMTP_PASSWORD rather than writing it in kb.yml)."""
    sender: str = "complaints@localhost"
    """The From address of every message."""
    timeout: float = Field(default=20, gt=0, le=300)
    """Seconds to wait for the server before the attempt counts as failed (and is retried)."""


class WebhookChannel(_Strict):
    """A chat group robot or any HTTP receiver that messages are POSTed to."""

    id: str = Field(pattern=SLUG)
    """Named by `teams[].webhooks` below."""
    type: Literal["wecom", "dingtalk", "feishu", "json"]
    """wecom (企业微信群机器人), dingtalk (钉钉自定义机器人), feishu (飞书自定义机器人), or json: our own
    payload, signed with HMAC-SHA256 in the X-KB-Signature header when a secret is set."""
    url: str = Field(pattern=r"^https?://")
    """The robot's webhook address (it holds the robot's key: keep kb.yml private when it is set)."""
    secret: SecretStr | None = None
    """Signing secret: DingTalk's and Feishu's "sign" security setting, or the json receiver's HMAC key."""
    timeout: float = Field(default=10, gt=0, le=120)
    """Seconds to wait for the receiver."""


class TeamRoute(_Strict):
    """Where a team's own notifications go, besides the e-mail of its members."""

    team: str = Field(pattern=SLUG)
    """A team id of process.teams."""
    email: list[str] = []
    """Shared mailboxes of the team (each gets the team's notifications)."""
    webhooks: list[str] = []
    """Ids of `webhooks` above the team's notifications are posted to."""


class ReviewSchedule(_Strict):
    to: list[str] = []
    """Addresses the quarterly review (`kb report`) is sent to after each quarter ends. Empty: not sent."""
    day: int = Field(default=1, ge=1, le=28)
    """Send on this day of the month after the quarter ends, from `digest_hour`."""


class NotificationSettings(_Strict):
    enabled: bool = True
    """false: nothing is planned or sent (the outbox stays empty)."""
    base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://")
    """Where staff and complainants open the links in messages (the workspace, the status page)."""
    smtp: SmtpSettings = SmtpSettings()
    webhooks: list[WebhookChannel] = []
    """Chat robots and HTTP receivers."""
    teams: list[TeamRoute] = []
    """Per team: shared mailboxes and webhooks."""
    staff_language: Literal["zh-Hans", "zh-Hant", "en"] = "zh-Hans"
    """The language of staff messages (a staff account may choose its own in the workspace)."""
    max_attempts: int = Field(default=8, ge=1, le=50)
    """Deliveries tried before a message becomes a dead letter (admins see and re-send them)."""
    backoff_seconds: float = Field(default=30, gt=0, le=86400)
    """Wait before the second attempt; each later wait doubles, up to an hour."""
    lease_seconds: float = Field(default=120, ge=1, le=3600)
    """A worker that took a message and did not finish within this time (it crashed) gives it up to another."""
    poll_seconds: float = Field(default=2, gt=0, le=300)
    """How often an idle worker looks for new messages and SLA reminders."""
    busy_above: float = Field(default=0.5, gt=0, le=1)
    """`kb serve`'s worker counts the web server busy while it uses more than this share of the machine's CPUs."""
    busy_share: float = Field(default=0.05, ge=0.01, le=1)
    """While the web server is busy, the share of one CPU that worker spends on messages that can wait (1: no
    limit); urgent and safety notices and emergency alerts go at once whatever the load."""
    digest_hour: int = Field(default=8, ge=0, le=23)
    """Local hour (kb.yml timezone) of the daily digest of open work."""
    review: ReviewSchedule = ReviewSchedule()

    @field_validator("webhooks")
    @classmethod
    def _unique_ids(cls, value: list[WebhookChannel]) -> list[WebhookChannel]:
        ids = [w.id for w in value]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"webhook id {', '.join(twice)} appears twice")
        return value

    @model_validator(mode="after")
    def _known_webhooks(self):
        known = {w.id for w in self.webhooks}
        for route in self.teams:
            unknown = [w for w in route.webhooks if w not in known]
            if unknown:
                raise ValueError(f"teams: {route.team} names unknown webhooks {', '.join(unknown)} "
                                 f"(declare them under notifications.webhooks)")
        return self

    def route(self, team: str | None) -> TeamRoute | None:
        return next((r for r in self.teams if r.team == team), None)

    def webhook(self, hook_id: str) -> WebhookChannel | None:
        return next((w for w in self.webhooks if w.id == hook_id), None)
