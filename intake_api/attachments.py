"""Photos and files attached to complaints: what is accepted, how it is cleaned, where it is kept.

No Flask here: the desk (desk.py) calls `check` and `Store`, the front ends
only hand it the bytes they received.

- The type is found from the content (magic bytes), never from the name or
  the client's Content-Type: JPEG, PNG, GIF, WebP, PDF and plain UTF-8 text.
  Anything else, markup that a browser could take for a page included, is
  refused with a message naming the field and the allowed types.
- Images are decoded and encoded again from their pixels alone (Pillow):
  the EXIF block (GPS position, camera make and model, serial numbers,
  times), ICC and XMP profiles and comments do not survive, so a photo does
  not tell where or with what phone it was taken. Orientation is applied to
  the pixels first, so the picture still stands the right way up. The pixel
  count is checked from the header before anything is decoded (a
  decompression bomb is refused unread); an animated image keeps its first
  frame; a GIF comes out as PNG. PDFs and text are kept as they came.
- Files are written atomically into paths.attachments (outside the web
  root), named by `secrets.token_hex`: the uploaded name never reaches the
  disk. It is kept only as sanitised display text (at most 200 characters).
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .i18n import gettext

log = logging.getLogger("kb.attachments")

FIELD = "file"
NAME_LENGTH = 200

# Stored content type -> the extension a download gets.
TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")
ALLOWED_TEXT = "JPEG, PNG, GIF, WebP, PDF, plain text (.txt)"
# What a file input offers (the browser's filter; the server still checks the content).
ACCEPT = "image/jpeg,image/png,image/gif,image/webp,application/pdf,text/plain,.jpg,.jpeg,.png,.gif,.webp,.pdf,.txt"
# Extensions a download may keep for its type (anything else gets the type's own).
_KEEP_EXTENSION = {"image/jpeg": (".jpg", ".jpeg"), "text/plain": (".txt", ".text", ".log", ".csv")}

# Markup a browser would render as a page or a script if it ever sniffed the file: never "text".
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|object|embed|svg|math|style|meta|link|"
                     rb"base|form|img|a\s|div|table|title|\?xml|!--)", re.I)
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Characters that make a name display as something else: controls, bidi overrides and isolates, zero width.
_NAME_HIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


class Refused(ValueError):
    """A file the desk does not accept; `status` 413 when it is only too big."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Upload:
    """One file as a front end received it: the name the client gave, and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Cleaned:
    """A file as it will be stored: its content type found by content, its bytes (re-encoded images)."""

    name: str
    content_type: str
    data: bytes


def human(n: int) -> str:
    """10485760 -> '10 MB' (limits as people read them)."""
    for unit, size in (("MB", 1024 ** 2), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) or value >= 10 else f"{value:.1f} {unit}"
    return f"{n} bytes"


def sniff(data: bytes) -> str | None:
    """The content type the bytes are, by their magic numbers; None: not one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if _is_text(data):
        return "text/plain"
    return None


def _is_text(data: bytes) -> bool:
    """UTF-8 without control characters (tabs, newlines and form feeds aside) and not markup."""
    if not data.strip():
        return False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not _TEXT_CONTROL.search(text) and not _MARKUP.search(data[:4096])


def display_name(filename: str | None) -> str:
    """The uploaded name as display text: no folders, no controls or bidi tricks, at most 200 characters.

    It is never used on disk; a name of dots or nothing at all becomes "attachment".
    """
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _NAME_HIDDEN.sub("", name)
    name = re.sub(r"\s+", " ", name).strip().strip(".").strip()
    if not name:
        return "attachment"
    if len(name) > NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        ext = dot + ext if dot and 0 < len(ext) <= 10 else ""
        name = (stem if ext else name)[:NAME_LENGTH - len(ext)].rstrip() + ext
    return name


def download_name(name: str, content_type: str) -> str:
    """The name a download is saved under: its extension is the stored type's (a PDF named x.html is x.pdf)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    keep = _KEEP_EXTENSION.get(content_type, (TYPES[content_type],))
    if dot and stem and "." + ext.lower() in keep:
        return name
    return (stem[:NAME_LENGTH - 6] or "attachment") + TYPES[content_type]


def check(upload: Upload, max_bytes: int, max_pixels: int) -> Cleaned:
    """Accept one file or raise Refused: its size, its type by content, and a clean image if it is one."""
    name = display_name(upload.filename)
    if len(upload.data) > max_bytes:
        raise Refused(gettext("“%(name)s” is too large: at most %(value)s per file", name=name, value=human(max_bytes)), status=413)
    if not upload.data:
        raise Refused(gettext("“%(name)s” is empty", name=name))
    kind = sniff(upload.data)
    if kind is None:
        raise Refused(gettext("“%(name)s” is not an allowed type (judged by its content, not its name): %(allowed_text)s", name=name, allowed_text=ALLOWED_TEXT))
    if kind in IMAGES:
        kind, data = clean_image(upload.data, kind, name, max_pixels)
    else:
        data = upload.data
    return Cleaned(name, kind, data)


def clean_image(data: bytes, kind: str, name: str, max_pixels: int) -> tuple[str, bytes]:
    """Decode and encode again from the pixels alone: no EXIF, GPS, ICC, XMP or comment survives."""
    from PIL import Image, ImageOps

    fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}[kind]
    broken = Refused(gettext("“%(name)s” is not a readable image (damaged or incomplete): send it again or as a PDF", name=name))
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise Refused(gettext("“%(name)s” is too large a picture (%(width)s×%(height)s pixels): at most "
                                      "%(limit)s pixels", name=name, width=width, height=height,
                                      limit=format(max_pixels, ",")))
            img.seek(0)  # an animation keeps its first frame
            img.load()
            upright = ImageOps.exif_transpose(img)
            alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
            if fmt == "JPEG" or not alpha:
                mode = "L" if upright.mode in ("1", "L", "I;16", "I") and fmt == "JPEG" else "RGB"
            else:
                mode = "RGBA"
            pixels = upright.convert(mode)
            # A new image from the raw pixels: nothing of the original's info, EXIF or profiles comes along.
            clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(gettext("“%(name)s” is too large a picture: at most %(limit)s pixels", name=name,
                              limit=format(max_pixels, ","))) from None
    except Exception:  # Pillow raises OSError, SyntaxError, ValueError, EOFError... on damaged files
        raise broken from None
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=90, optimize=True)
    elif fmt == "WEBP":
        clean.save(out, "WEBP", quality=90)
    else:  # PNG, and GIF as PNG (no palette quantisation, transparency kept)
        clean.save(out, "PNG", optimize=False)
        kind = "image/png"
    return kind, out.getvalue()


class Store:
    """The attachments folder: files named by random ids, written atomically, readable by this user only."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _ready(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.folder

    def path(self, storage_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", storage_id):
            raise ValueError(f"not a storage id: {storage_id!r}")
        return self.folder / storage_id

    def put(self, data: bytes) -> str:
        """Write the bytes under a new random id (temporary file, fsync, rename); return the id."""
        folder = self._ready()
        storage_id = secrets.token_hex(16)
        tmp = folder / f".tmp-{storage_id}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(storage_id))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return storage_id

    def delete(self, storage_ids: Iterable[str]) -> int:
        gone = 0
        for storage_id in storage_ids:
            try:
                self.path(storage_id).unlink()
                gone += 1
            except FileNotFoundError:
                pass
            except OSError:
                log.exception("could not delete attachment %s", storage_id)
        return gone

    def sweep(self, referenced: set[str], older_than: float = 3600) -> int:
        """Delete files no row names (a crash between writing and committing), once they are an hour old."""
        if not self.folder.is_dir():
            return 0
        cutoff = time.time() - older_than
        stale = []
        for entry in os.scandir(self.folder):
            name = entry.name.removeprefix(".tmp-")
            if (re.fullmatch(r"[0-9a-f]{32}", name) and (entry.name != name or name not in referenced)
                    and entry.stat().st_mtime < cutoff):
                stale.append(entry.path)
        for path in stale:
            Path(path).unlink(missing_ok=True)
        return len(stale)
