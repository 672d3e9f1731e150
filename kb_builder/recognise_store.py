"""The learnt recogniser kept on disk, so a process loads it instead of learning it again.

Learning from HR's examples file costs seconds of CPU (encoding every
example, the fit, the cross-validated threshold: 7 s of a 10 s start on a
quiet machine), and every `kb serve` start, `kb check` and worker paid it.
What is learnt depends only on the examples file's rules, the encoder and
this code, so the result is stored under a key made of exactly those: an
edited examples file, another encoder or a changed recognise.py gives
another key and is learnt afresh; nothing stale is ever read.

The file is plain arrays (numpy's .npz, read with allow_pickle=False): a
cache folder anybody could write to must not be a way to run code. A
damaged or foreign file is ignored (logged) and learnt over; writes go
to a temporary file renamed into place, so two processes learning at once
both end with a whole file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# recognise.py's own bytes are part of every key: a change to how it learns makes new files.
_CODE = Path(__file__).with_name("recognise.py")
# Files kept in the folder: a handful of examples files (tests, a draft edit and its undo), a few MB each.
KEEP = 8
_FIELDS = ("examples", "dense_coef", "near_coef", "word_coef", "intercept", "idf", "vocabulary", "y", "threshold")


def key(parts: dict) -> str:
    """A name for what `parts` (the rules and the encoder's name) learn with this code."""
    digest = hashlib.sha256(_CODE.read_bytes())
    digest.update(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()[:32]


def load(folder: Path | None, name: str) -> dict[str, np.ndarray] | None:
    """The stored arrays for key `name`, or None when there are none (or they cannot be read)."""
    if folder is None:
        return None
    path = folder / f"recogniser-{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {f: data[f] for f in _FIELDS}
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated, foreign or hand-edited file: learn again
        log.warning("ignoring %s (%s); learning the recogniser again", path, exc)
        return None
    return arrays


def save(folder: Path | None, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Store arrays under key `name`; a folder that cannot be written only costs the next start its learning."""
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".recogniser-", suffix=".npz", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, **{f: arrays[f] for f in _FIELDS})  # type: ignore[arg-type]  # numpy stubs read **kw as allow_pickle
            os.replace(tmp, folder / f"recogniser-{name}.npz")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # Older keys are rarely read again (an examples file edited back): keep the newest few.
        stored = sorted(folder.glob("recogniser-*.npz"), key=_mtime, reverse=True)
        for old in stored[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot keep the learnt recogniser in %s (%s): every start learns it again", folder, exc)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by another process meanwhile
        return 0.0
