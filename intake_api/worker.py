"""The background worker: delivers the outbox, and plans what the clock calls for.

`kb worker` runs it as its own process (production runs several; the
outbox's claims keep them from sending a message twice); `kb serve` starts
one beside the web workers. Nothing here runs inside a request: a
submission only writes its outbox rows and returns.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import threading
import time

from sqlalchemy.orm import sessionmaker

from . import channels, notices, notify, outbox, reminders
from .models import OutboxMessage
from .sla import Clock

log = logging.getLogger("kb.worker")
BATCH = 20
SCHEDULE_SECONDS = 60  # how often the clock's notifications are planned


ADDRESS = re.compile(r"[^\s<>\"',;:()]+@[^\s<>\"',;:()]+")


def private(message: OutboxMessage, error: str) -> str:
    """A receiver's error as logs and the admins' outbox page may keep it: no complainant's address.

    Mail servers quote the address they refused; a complainant's is personal data.
    """
    return ADDRESS.sub("<complainant's address>", error) if message.audience == "complainant" else error


class Worker:
    """One delivery loop over one database; several may run at once, on any number of machines."""

    def __init__(self, kb, engine, clock: Clock, name: str | None = None, term_weights=None):
        self.kb = kb
        self.settings = kb.notifications
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.clock = clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        if term_weights is None:  # the review's recurring themes weigh terms by the index
            from .alerts import TermWeights
            term_weights = TermWeights(kb.index_dir)
        self.term_weights = term_weights
        # Validated now: a template HR broke stops the worker at start, naming the file and line.
        self.templates = notices.load(kb.path("notifications"))
        self._next_schedule = 0.0

    def deliverable(self) -> list[str]:
        """The channels this worker can deliver on; messages for others wait (an admin sees them)."""
        out = [f"webhook:{w.id}" for w in self.settings.webhooks] + ["url"]
        if self.settings.smtp.host:
            out.append("email")
        return out

    def schedule(self, now: dt.datetime | None = None) -> int:
        with self.sessions() as session:
            return reminders.plan_due(session, self.kb, self.clock, now, self.term_weights)

    def prepare_reviews(self, now: dt.datetime | None = None) -> list[str]:
        """Compute the quarterly reviews the workspace asked for (review_cache.py: too long for a request)."""
        from . import review_cache
        with self.sessions() as session:
            return review_cache.prepare_requested(session, self.kb, self.term_weights, now)

    def plan_pending(self) -> int:
        """Turn history the desk recorded into outbox messages (notify.defer says why here, not there)."""
        with self.sessions() as session:
            return notify.plan_pending(session, self.kb, self.clock.zone)

    def deliver_batch(self, now: dt.datetime | None = None) -> int:
        """Claim and deliver up to BATCH due messages; return how many were tried."""
        lease = dt.timedelta(seconds=self.settings.lease_seconds)
        with self.sessions() as session:
            batch = outbox.claim(session, self.name, BATCH, lease, now, channels=self.deliverable())
            for message in batch:
                if outbox.renew(session, message, self.name, lease):  # still ours: our lease runs on
                    self._deliver(session, message)
            return len(batch)

    def _deliver(self, session, message: OutboxMessage) -> None:
        try:
            rendered = self.templates.render(message.kind, message.language, message.context or {},
                                             delivery_id=outbox.delivery_id(message))
            self._send(message, rendered)
        except channels.DeliveryError as exc:
            error = private(message, str(exc))
            state = outbox.failed(session, message, self.name, error, exc.permanent, self.settings.max_attempts,
                                  dt.timedelta(seconds=self.settings.backoff_seconds))
            (log.error if state == outbox.DEAD else log.warning)(
                "outbox %s (%s over %s): %s%s", message.id, message.kind, message.channel, error,
                " - dead letter" if state == outbox.DEAD else " - will retry")
        except Exception as exc:  # a template or context the code did not foresee: not worth retrying
            log.exception("outbox %s (%s) cannot be rendered", message.id, message.kind)
            outbox.failed(session, message, self.name, f"render: {type(exc).__name__}: {exc}", True,
                          self.settings.max_attempts, dt.timedelta(seconds=self.settings.backoff_seconds))
        else:
            outbox.delivered(session, message, self.name)

    def _send(self, message: OutboxMessage, rendered: channels.Outgoing) -> None:
        if message.channel == "email":
            channels.send_email(self.settings.smtp, message.recipient or "", rendered)
        elif message.channel == "url":
            from kb_builder.notify_config import WebhookChannel
            channels.post_webhook(WebhookChannel(id="emergency", type="json", url=message.recipient or ""),
                                  rendered)
        elif message.channel.startswith("webhook:"):
            hook = self.settings.webhook(message.channel.split(":", 1)[1])
            if hook is None:
                raise channels.DeliveryError(f"webhook {message.channel} is no longer configured", permanent=True)
            channels.post_webhook(hook, rendered)
        else:
            raise channels.DeliveryError(f"unknown channel {message.channel}", permanent=True)

    def run_once(self) -> int:
        """Plan what the clock calls for (every SCHEDULE_SECONDS), then deliver until nothing is due."""
        if time.monotonic() >= self._next_schedule:
            try:
                self.schedule()
            except Exception:
                log.exception("planning reminders failed; trying again next round")
            self._next_schedule = time.monotonic() + SCHEDULE_SECONDS
        try:
            self.prepare_reviews()
        except Exception:
            log.exception("preparing a review failed; trying again next round")
        total = 0
        while self.plan_pending() > 0:
            pass
        while (n := self.deliver_batch()) > 0:
            total += n
        return total

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        log.info("worker %s delivering over %s", self.name, ", ".join(self.deliverable()))
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database went away: wait and try again, never die
                log.exception("worker round failed")
            stop.wait(self.settings.poll_seconds)
