"""A local SMTP server (aiosmtpd, on loopback) for the notification benchmarks: keeps what it accepted.

Used by benchmarks/load.py (--notifications on) and benchmarks/notify_drain.py.
The handler does as little as it can (it runs in the benchmark's own process,
beside the load generator): it keeps the raw message and the moment it was
accepted; Message-IDs are read from the raw headers afterwards.
"""

from __future__ import annotations

import re
import socket
import threading
import time

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """aiosmtpd on 127.0.0.1 that answers 250 to everything and keeps (accepted at, raw bytes) per message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[float, bytes]] = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append((time.perf_counter(), envelope.content))
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller  # the project's test extra (pip install -e '.[test]')
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def times(self) -> list[float]:
        with self.lock:
            return [t for t, _ in self.received]

    def message_ids(self) -> list[str]:
        """The Message-ID of every message received (an empty string when one had none)."""
        with self.lock:
            raw = [content for _, content in self.received]
        ids = []
        for content in raw:
            head = content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            found = MESSAGE_ID.search(head)
            ids.append(found.group(1).decode("ascii", "replace") if found else "")
        return ids

    def env(self, sender: str = "kb-bench@example.org") -> dict[str, str]:
        """The KB_SMTP_HOST, KB_SMTP_PORT and KB_SMTP_SECURITY variables that point `kb serve` / `kb worker` at this server."""
        return {"KB_SMTP_HOST": "127.0.0.1", "KB_SMTP_PORT": str(self.port), "KB_SMTP_SECURITY": "none",
                "KB_SMTP_SENDER": sender}

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True
