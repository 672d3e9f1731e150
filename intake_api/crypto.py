"""Identity fields encrypted at rest (Fernet: AES-128-CBC + HMAC, from `cryptography`).

The key ring is configured once per process. The first key encrypts; every
key decrypts, so keys can be rotated: add a new key in front, run
`kb keys rotate` to re-encrypt, then drop the old one. A database dump read
without the keys shows ciphertext only.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text, TypeDecorator

_ring: MultiFernet | None = None


class KeyringError(RuntimeError):
    pass


def parse_keys(text: str) -> list[str]:
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return [k.strip() for line in lines for k in line.split(",") if k.strip()]


KEY_FILE = "identity.keys"
KEY_FILE_MODE = 0o600  # the keys read every identity field: their owner only
_HEADER = "# Identity encryption keys, newest first. Keep a copy apart from database backups.\n"


def key_file(instance_dir: Path) -> Path:
    return Path(instance_dir) / KEY_FILE


def new_key() -> str:
    """A fresh Fernet key (32 url-safe base64 bytes)."""
    return Fernet.generate_key().decode()


def load_keys(instance_dir: Path) -> list[str]:
    """instance/identity.keys, created on first use (KB_IDENTITY_KEYS, when set, reaches configure() instead)."""
    path = key_file(instance_dir)
    if not path.exists():
        try:
            write_keys(instance_dir, [new_key()], replace=False)
        except FileExistsError:  # another worker made it first
            pass
    return parse_keys(path.read_text())


def write_keys(instance_dir: Path, keys: list[str], *, replace: bool = True) -> Path:
    """Write instance/identity.keys, newest key first, readable by its owner only.

    The file appears whole or not at all (a temporary file, then a rename):
    a half-written key file would make every identity field unreadable. With
    replace=False an existing file wins and FileExistsError is raised.
    """
    path = key_file(instance_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE}.")
    try:
        os.fchmod(fd, KEY_FILE_MODE)
        with os.fdopen(fd, "w") as f:
            f.write(_HEADER + "".join(k + "\n" for k in keys))
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # atomic and exclusive: FileExistsError when it is there
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


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


class EncryptedJSON(TypeDecorator):
    """A JSON value stored encrypted (an outbox message's variables: a receipt holds the tracking code)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(decrypt(value) or "null")
