"""Identity fields encrypted at rest (Fernet: AES-128-CBC + HMAC, from `cryptography`).

The key ring is configured once per process. The first key encrypts; every
key decrypts, so keys can be rotated: add a new key in front, run
`kb keys rotate` to re-encrypt, then drop the old one. A database dump read
without the keys shows ciphertext only.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text, TypeDecorator

_ring: MultiFernet | None = None


class KeyringError(RuntimeError):
    pass


def parse_keys(text: str) -> list[str]:
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return [k.strip() for line in lines for k in line.split(",") if k.strip()]


def load_keys(instance_dir: Path) -> list[str]:
    """instance/identity.keys, created on first use (KB_IDENTITY_KEYS, when set, reaches configure() instead)."""
    path = Path(instance_dir) / "identity.keys"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return parse_keys(path.read_text())
        with os.fdopen(fd, "w") as f:
            f.write("# Identity encryption keys, newest first. Keep a copy apart from database backups.\n")
            f.write(Fernet.generate_key().decode() + "\n")
    return parse_keys(path.read_text())


def configure(keys: list[str]) -> None:
    global _ring
    if not keys:
        raise KeyringError("no identity encryption key configured (KB_IDENTITY_KEYS or instance/identity.keys)")
    try:
        _ring = MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise KeyringError(f"bad identity encryption key: {exc} (a key is 32 url-safe base64 bytes; "
                        f"make one with `kb keys new`)") from None


def ring() -> MultiFernet:
    if _ring is None:
        raise KeyringError("identity encryption is not configured")
    return _ring


def encrypt(value: str | None) -> str | None:
    return None if value is None else ring().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return ring().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise KeyringError("an identity field cannot be decrypted with the configured keys") from None


def rotate(token: str | None) -> str | None:
    return None if token is None else ring().rotate(token.encode("ascii")).decode("ascii")


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; Python sees plain text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return encrypt(value)

    def process_result_value(self, value, dialect):
        return decrypt(value)
