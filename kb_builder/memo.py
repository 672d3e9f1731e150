"""What earlier builds worked out from each content file, kept by the file's bytes for the next build.

A one-article rebuild at 10,000 articles spent most of its time doing again
what the previous build had done for the 9,999 files that did not change:
parsing and validating their front matter, rendering their pages,
fingerprinting their index documents (issue 25). The memo keeps those
results under a digest of the file's path and bytes, so a build reads every
file (cheap) but parses, renders and fingerprints only the files that
changed.

The memo is thrown away whole when anything else those results depend on
changes: the builder's own code, the validated configuration (categories,
labels) and the synonyms file (`salt`). It lives in the build's staging
folder beside the index (never published) and is written only by the build,
under the build lock; a memo that cannot be read is simply empty.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MEMO = "memo.pickle"
_CODE = Path(__file__).resolve().parent

# The worker inside `kb serve` publishes one article after another in its own process: the entries its
# last build wrote are kept here and used again while the file on disk is still the one it wrote
# (same salt, same inode, size and mtime), instead of being unpickled again (10,000 articles: 0.3-0.6 s).
# Another process's build replaces the file, which changes the stamp: then the file is read as before.
_KEPT: dict[Path, tuple[str, tuple[int, int, int], dict[str, Any]]] = {}


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a large pickle is read or written.

    Unpickling 10,000 entries allocates objects fast enough to set off collections that walk every live
    object, again and again: the memo took 0.63 s to load with the collector on, 0.26 s with it off.
    Nothing of a pickle is garbage while it is read, so pausing frees nothing later.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def digest(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def code_digest() -> str:
    """The builder's source files: results computed by other code are never reused."""
    files = sorted(_CODE.glob("*.py"))
    return digest(*(f.name.encode() + b"\0" + f.read_bytes() for f in files))


class Memo:
    """Results by (content file, its bytes); only the entries the current build used are written back."""

    def __init__(self, path: Path | None, salt: str, reuse: bool = True):
        """reuse=False: start empty (the entries of this build are still written)."""
        self.path, self.salt = path, salt
        loaded = self._load() if path is not None and reuse else {}
        entries, whole = loaded.get("entries"), loaded.get("whole")
        self._old: dict[str, dict[str, Any]] = entries if isinstance(entries, dict) else {}
        self._new: dict[str, dict[str, Any]] = {}
        self._by_file: dict[Path, dict[str, Any]] = {}
        # Results computed from all files together, each under a digest of what it was computed from.
        self._whole: dict[str, tuple[str, Any]] = dict(whole) if isinstance(whole, dict) else {}
        self.hits = 0

    def _load(self) -> dict[str, Any]:
        assert self.path is not None
        kept = _KEPT.get(self.path)
        if kept is not None and kept[0] == self.salt and kept[1] == _stamp(self.path):
            return kept[2]
        _KEPT.pop(self.path, None)
        try:
            with open(self.path, "rb") as fh, paused_gc():
                data = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError, TypeError):
            return {}
        if not isinstance(data, dict) or data.get("salt") != self.salt:
            return {}
        return data

    def entry(self, file: Path, data: bytes) -> dict[str, Any]:
        """The results kept for file as it now is (an empty dict to fill when it changed)."""
        key = digest(os.fsencode(file), data)
        found = self._new.get(key)
        if found is None:
            found = self._old.get(key)
            if found is not None:
                self.hits += 1
            else:
                found = {}
            self._new[key] = found
        self._by_file[file] = found
        return found

    def of(self, file: Path) -> dict[str, Any]:
        """The entry `entry` gave for file in this build (a scratch dict for a file it never saw)."""
        return self._by_file.get(file, {})

    def whole(self, name: str, key: str) -> Any | None:
        """The result `name` kept by an earlier build if it was computed from the same inputs (key), else None."""
        found = self._whole.get(name)
        return found[1] if found is not None and found[0] == key else None

    def keep_whole(self, name: str, key: str, value: Any) -> None:
        self._whole[name] = (key, value)

    def save(self) -> None:
        """Write the entries this build used (through a temporary file: never half-written)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        data = {"salt": self.salt, "entries": self._new, "whole": self._whole}
        with open(tmp, "wb") as fh, paused_gc():
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(self.path)
        stamp = _stamp(self.path)
        if stamp is not None:
            _KEPT.clear()  # one knowledge base per process is the rule; never hold two
            _KEPT[self.path] = (self.salt, stamp, data)
