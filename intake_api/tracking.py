"""Tracking codes (secret, for the complainant) and complaint numbers (public, for staff)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

CODE_BYTES = 10  # 80 bits: guessing one of a million live codes takes ~2^60 tries
_GROUP = 4


def new_code() -> str:
    """A fresh code such as K7QX-M2PA-9ZD4-TB6H (Base32: no 0/1/8/9 to misread)."""
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")
    return "-".join(raw[i:i + _GROUP] for i in range(0, len(raw), _GROUP))


def canonical(code: str) -> str | None:
    """Upper-case, separators removed; None if it cannot be a code."""
    text = re.sub(r"[\s\-]", "", code or "").upper()
    return text if re.fullmatch(r"[A-Z2-7]{16}", text) else None


def code_hash(code: str) -> str:
    """What the database keeps instead of the code itself."""
    text = canonical(code)
    if text is None:
        raise ValueError("not a tracking code")  # callers check canonical() first
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def complaint_number(complaint_id: int, year: int) -> str:
    return f"TS-{year}-{complaint_id:06d}"
