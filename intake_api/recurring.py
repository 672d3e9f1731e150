"""Recurring problems: groups of similar complaint texts, found in near-linear time.

The review groups texts the way it always has: in order, each text joins the
earliest group whose first text (its leader) it resembles (alerts' IDF-weighted
cosine at or above the threshold), or starts a group of its own. Comparing
each text with every leader is quadratic once texts are worded differently
(23.5 s for 8,000 distinct texts, issue 25). Here each text's features
(alerts.features: index terms and CJK character pairs) get a MinHash
signature (datasketch) cut into bands, and a text is compared only with the
leaders that share a bucket with it in some band: texts sharing several rare
words land together, texts sharing nothing never meet.

Groups are stars around their leader, not chains: joining every similar pair
(single linkage, a union-find) merged 1,200 complaints about ten different
problems into two groups through filler phrases ("影响工作", "希望尽快解决").

Work is bounded: a text is compared with at most REPRESENTATIVES leaders per
bucket, so a bucket of a thousand texts sharing one common word costs a
thousand comparisons, not a million; in all texts x bands x REPRESENTATIVES.
With 32 bands of one row, texts whose feature sets have a Jaccard similarity
of 0.1 meet in some band with probability 0.97 (0.05: 0.81); 2 rows per band
missed a third of the pairs the quadratic grouping makes, one row none
(tests/test_recurring.py measures the agreement). 50,000 distinct texts:
33 s, most of it jieba (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from datasketch import MinHash

from .alerts import features, squared_weights

BANDS, ROWS = 32, 1
REPRESENTATIVES = 16  # leaders a text is compared with, per bucket
SEED = 1  # fixed: the same texts always give the same groups


@dataclass(frozen=True)
class Text:
    key: str  # e.g. the complaint number
    text: str


def _signatures(sets: Sequence[frozenset[str]]) -> list[list[bytes]]:
    """Each set's band keys: BANDS keys of ROWS MinHash values each (an empty set has none)."""
    hashed = MinHash.bulk([[t.encode("utf-8") for t in s] for s in sets], num_perm=BANDS * ROWS, seed=SEED)
    return [[m.hashvalues[b * ROWS:(b + 1) * ROWS].tobytes() for b in range(BANDS)] if s else []
            for m, s in zip(hashed, sets, strict=True)]


def group(texts: Sequence[Text], idf: Callable[[str], float], threshold: float = 0.3,
          min_size: int = 3) -> list[list[Text]]:
    """Groups of at least min_size similar texts, each in input order, largest group first."""
    sets = [features(t.text) for t in texts]
    w2 = squared_weights(idf)
    norms = [math.sqrt(sum(w2(t) for t in s)) for s in sets]

    def similar(a: int, b: int) -> bool:
        shared = sets[a] & sets[b]
        return bool(shared) and sum(w2(t) for t in shared) / (norms[a] * norms[b]) >= threshold

    signatures = _signatures(sets)
    buckets: list[dict[bytes, list[int]]] = [{} for _ in range(BANDS)]
    leader_of: list[int] = []
    for i, keys in enumerate(signatures):
        candidates = sorted({rep for band, key in enumerate(keys) for rep in buckets[band].get(key, ())})
        leader = next((rep for rep in candidates if similar(i, rep)), i)
        leader_of.append(leader)
        if leader == i:
            for band, key in enumerate(keys):
                reps = buckets[band].setdefault(key, [])
                if len(reps) < REPRESENTATIVES:
                    reps.append(i)
    members: dict[int, list[Text]] = {}
    for t, leader in zip(texts, leader_of, strict=True):
        members.setdefault(leader, []).append(t)
    found = [g for g in members.values() if len(g) >= min_size]
    return sorted(found, key=lambda g: -len(g))
