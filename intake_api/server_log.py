"""gunicorn's error log without client addresses.

`kb serve` keeps no access log, but gunicorn's own error lines name the
client too ("Invalid request from ip=192.0.2.7: Invalid HTTP method"), and
an anonymous complainant's address must not reach any log. Every line the
error log writes, tracebacks included, passes through `scrub`; only the
master's "Listening at:" line keeps its address, which is the server's own.
"""

from __future__ import annotations

import ipaddress
import logging
import re

from gunicorn.glogging import Logger

HIDDEN = "[address]"
# Candidates only: each match is checked with ipaddress before it is hidden,
# so times (12:30:45) and version numbers that are no address stay.
_CANDIDATE = re.compile(
    r"(?<![\w.:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?:%[\w.-]+)?(?![\w:])"
    r"|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
_OWN_ADDRESS = ("Listening at:",)


def _hide(match: re.Match) -> str:
    text = match.group(0)
    address = text.rstrip(":")  # "ip=::1: Invalid request": the colon after it is punctuation
    try:
        ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return text
    return HIDDEN + text[len(address):]


def scrub(text: str) -> str:
    """text with every IPv4 and IPv6 address replaced by [address]."""
    return _CANDIDATE.sub(_hide, text)


class _ScrubbingFormatter(logging.Formatter):
    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        if record.getMessage().startswith(_OWN_ADDRESS):
            return text
        return scrub(text)


class PrivateLogger(Logger):
    """gunicorn's Logger whose error-log handlers write addresses as [address]."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            if not isinstance(handler.formatter, _ScrubbingFormatter):
                handler.setFormatter(_ScrubbingFormatter(handler.formatter))
