"""The background worker: delivers the outbox, plans what the clock calls for, and rebuilds the site.

`kb worker` runs it as its own process (production runs several; the
outbox's claims keep them from sending a message twice); `kb serve` starts
one beside the web workers. Nothing here runs inside a request: a
submission only writes its row for the worker and returns. Each round
plans and sends urgent and safety notices and emergency alerts first and
at once; the rest go as pace.py allows (at once, or within a small CPU
budget while the web server beside it is busy), a batch over one SMTP
connection. An approved article's rebuild (build_queue.py) runs on a
thread of its own, so a build of a minute never holds up an urgent
complaint's notification.
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

from . import build_queue, channels, notices, notify, outbox, reminders
from .models import OutboxMessage
from .pace import Pace, nothing, server_cpu
from .sla import Clock

log = logging.getLogger("kb.worker")
BATCH = 20
BUSY_BATCH = 4  # messages (and rows to plan) per piece while the machine is busy: the budget is checked between
SCHEDULE_SECONDS = 60  # how often the clock's notifications are planned


ADDRESS = re.compile(r"[^\s<>\"',;:()]+@[^\s<>\"',;:()]+")


def private(message: OutboxMessage, error: str) -> str:
    """A receiver's error as logs and the admins' outbox page may keep it: no complainant's address.

    Mail servers quote the address they refused; a complainant's is personal data.
    """
    return ADDRESS.sub("<complainant's address>", error) if message.audience == "complainant" else error


class Worker:
    """One delivery loop over one database; several may run at once, on any number of machines."""

    def __init__(self, kb, engine, clock: Clock, name: str | None = None, term_weights=None,
                 beside: int | None = None):
        """`beside`: the process id of the web server this worker shares the machine with (pace.py)."""
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
        self.pace = Pace(self.settings.busy_above, self.settings.busy_share,
                         reader=server_cpu(beside) if beside else nothing)
        self._urgent_at = 0.0

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

    def plan_pending(self, limit: int = 100, urgent_only: bool = False) -> int:
        """Turn history the desk recorded into outbox messages (notify.defer says why here, not there)."""
        with self.sessions() as session:
            return notify.plan_pending(session, self.kb, self.clock.zone, limit, urgent_only)

    def deliver_batch(self, now: dt.datetime | None = None, limit: int = BATCH,
                      kinds: tuple[str, ...] | None = None) -> int:
        """Claim and deliver up to `limit` due messages (of these kinds), e-mail over one SMTP connection; return
        how many were tried."""
        lease = dt.timedelta(seconds=self.settings.lease_seconds)
        with self.sessions() as session, channels.Mailer(self.settings.smtp) as mailer:
            batch = outbox.claim(session, self.name, limit, lease, now, channels=self.deliverable(), kinds=kinds)
            # The claim holds until `held`; it is renewed only once half of it has gone (a slow batch), not
            # before every message: a commit fewer per message, and the same guarantee.
            held = time.monotonic() + lease.total_seconds() / 2
            for message in batch:
                if time.monotonic() >= held:
                    if not outbox.renew(session, message, self.name, lease):
                        continue  # no longer ours: another worker took it when our lease ran out
                    held = time.monotonic() + lease.total_seconds() / 2
                self._deliver(session, message, mailer)
            return len(batch)

    def _deliver(self, session, message: OutboxMessage, mailer: channels.Mailer | None = None) -> None:
        try:
            rendered = self.templates.render(message.kind, message.language, message.context or {},
                                             delivery_id=outbox.delivery_id(message))
            self._send(message, rendered, mailer)
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

    def _send(self, message: OutboxMessage, rendered: channels.Outgoing, mailer: channels.Mailer | None) -> None:
        if message.channel == "email":
            if mailer is None:
                channels.send_email(self.settings.smtp, message.recipient or "", rendered)
            else:
                mailer.send(message.recipient or "", rendered)
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

    def build_once(self) -> int:
        """Build the site for the approved articles queued, if no other worker is building; return how many."""
        return len(build_queue.run_next(self.sessions, self.kb, self.name))

    def long_work(self) -> None:
        """What takes a minute: the queued site build, then the quarterly reviews asked for."""
        try:
            self.build_once()
        except Exception:  # the database went away: wait and try again
            log.exception("build round failed")
        try:
            self.prepare_reviews()
        except Exception:
            log.exception("preparing a review failed; trying again next round")

    def run_builds(self, stop: threading.Event) -> None:
        """The loop of long work (builds, reviews), beside the delivery loop (run starts it on a thread), so a
        minute's build or review never holds up an urgent complaint's notification."""
        while not stop.is_set():
            self.long_work()
            stop.wait(self.settings.poll_seconds)

    def run_once(self, builds: bool = True) -> int:
        """Urgent notices first, at once; then what the clock calls for (every SCHEDULE_SECONDS) and every other
        message, until nothing is due or, on a busy machine, the CPU budget is spent (pace.py); a long drain
        looks for urgent notices again every poll_seconds. Then build what is queued (builds=False: the build
        thread does)."""
        total = self.urgent()
        if time.monotonic() >= self._next_schedule and self.pace.allows():
            try:
                self.schedule()
            except Exception:
                log.exception("planning reminders failed; trying again next round")
            self._next_schedule = time.monotonic() + SCHEDULE_SECONDS
            self.pace.spent()
        while self.pace.allows():
            if time.monotonic() - self._urgent_at >= self.settings.poll_seconds:
                total += self.urgent()
            size = BUSY_BATCH if self.pace.busy() else BATCH
            planned = self.plan_pending(limit=size if size == BUSY_BATCH else 100)
            n = self.deliver_batch(limit=size)
            self.pace.spent()
            total += n
            if not planned and not n:
                break
        if builds:
            self.long_work()
        return total

    def urgent(self) -> int:
        """Plan and send urgent and safety notices and emergency alerts, whatever the load; return how many."""
        total = 0
        while self.plan_pending(urgent_only=True) > 0:
            pass
        while (n := self.deliver_batch(kinds=outbox.URGENT_KINDS)) > 0:
            total += n
        self._urgent_at = time.monotonic()
        self.pace.spent()
        return total

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        log.info("worker %s delivering over %s", self.name, ", ".join(self.deliverable()))
        builder = threading.Thread(target=self.run_builds, args=(stop,), name="kb-builds", daemon=True)
        builder.start()
        while not stop.is_set():
            try:
                self.run_once(builds=False)
            except Exception:  # the database went away: wait and try again, never die
                log.exception("worker round failed")
            stop.wait(self.settings.poll_seconds)
        builder.join(timeout=5)  # a build cut short leaves the live site as it was; its lease requeues it
