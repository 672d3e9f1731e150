"""Build into new folders beside the live ones, then swap them all in at once.

A failed build leaves the previous site, index and generated pages exactly
as they were, and a running `kb serve` never sees a missing or half-written
folder: each new folder takes its live one's place in one step.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from .errors import BuildError

LOCK_FILE = ".kb-build.lock"


@contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Hold the knowledge base's build lock (in folder): one `kb build` at a time, never waiting."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError("another `kb build` is running on this knowledge base; wait for it to finish") from None
        yield


def sibling(path: Path, tag: str) -> Path:
    """A fresh folder next to path (same file system, so rename is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.{tag}-", dir=path.parent))


def remove_leftovers(live_paths: Iterable[Path]) -> list[Path]:
    """Delete the staging folders a killed build left beside the live ones (`.site.new-*`, `.index.old-*`).

    Call it with the build lock held, so no other build is using them. A
    killed build's folders would otherwise stay forever (a full site each).
    """
    removed = []
    for live in live_paths:
        for tag in ("new", "old"):
            for leftover in live.parent.glob(f".{live.name}.{tag}-*"):
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                    removed.append(leftover)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return bool(renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0)


def swap_in(pairs: list[tuple[Path, Path]]) -> None:
    """Replace each live folder by its new one, atomically where the kernel allows it.

    The old content is deleted after. Without renameat2, two renames leave a
    window of microseconds; any failure rolls every swap back.
    """
    done: list[tuple[Path, Path, Path | None]] = []
    try:
        for new, live in pairs:
            if live.exists() and _exchange(new, live):
                done.append((new, live, new))  # `new` now holds the old content
                continue
            old = None
            if live.exists():
                old = sibling(live, "old")
                old.rmdir()
                os.rename(live, old)
            try:
                os.rename(new, live)
            except OSError:
                if old is not None:
                    os.rename(old, live)  # this pair first, then the ones done before it
                raise
            done.append((new, live, old))
    except OSError as exc:
        for new, live, old in reversed(done):
            if old == new:
                _exchange(new, live)
                continue
            os.rename(live, new)
            if old is not None:
                os.rename(old, live)
        raise BuildError(f"could not swap in the new build ({exc}); the previous one is still live") from None
    for _, _, old in done:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


class Staging:
    """A new, empty folder beside each live one, swapped in together or thrown away.

    Entered under the build lock: it first removes what a killed build left,
    and on exit deletes whatever was not swapped in.
    """

    def __init__(self, live: Iterable[Path]):
        self.live = list(live)
        self._new: dict[Path, Path] = {}

    def __enter__(self) -> Self:
        remove_leftovers(self.live)
        try:
            for live in self.live:
                self._new[live] = sibling(live, "new")
        except BaseException:
            self._discard()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._discard()

    def __getitem__(self, live: Path) -> Path:
        """The new folder that will replace live."""
        return self._new[live]

    def swap_in(self) -> None:
        """Put every new folder in its live one's place, in the order given."""
        swap_in([(self._new[live], live) for live in self.live])

    def _discard(self) -> None:
        for new in self._new.values():
            shutil.rmtree(new, ignore_errors=True)
