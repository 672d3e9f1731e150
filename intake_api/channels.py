"""Delivery of one rendered message over one channel: e-mail (SMTP) or a webhook (chat robots, JSON).

The worker (worker.py) calls these outside any database transaction and
records the outcome; a DeliveryError says whether trying again may help.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    """A rendered message (notices.py renders it from an HR template)."""

    subject: str
    text: str
    html: str | None
    # Stable across retries (the outbox row): the e-mail's Message-ID and the webhooks' X-KB-Delivery,
    # so that a receiver can drop the copy a crash between its acceptance and our commit would resend.
    delivery_id: str


class DeliveryError(Exception):
    """The receiver did not take the message; `permanent`: retrying cannot help (bad address, bad key)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent
