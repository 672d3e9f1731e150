"""Recurring problems: groups of similar complaint texts, found in near-linear time.

Comparing every text with every other (or with every group found so far) is
quadratic once texts are worded differently: 23.5 s for 8,000 distinct texts
(issue 25). Here each text's features (alerts.features: index terms and CJK
character pairs) get a MinHash signature (datasketch), cut into bands; texts
landing in the same bucket of a band are candidates. A candidate is kept
only if the review's own measure (alerts' IDF-weighted cosine) reaches the
threshold, and kept pairs are joined with a union-find, so a group is every
text linked to it by a chain of similar pairs.

Work per bucket is bounded: a text is compared with at most REPRESENTATIVES
texts of distinct groups already in that bucket, so a bucket holding a
thousand texts sharing one common word costs a thousand comparisons, not a
million. Total work is texts x bands x REPRESENTATIVES. Two texts with a
cosine above the threshold usually share several rare features; with 32 bands
of 2 rows, texts whose feature sets have a Jaccard similarity of 0.2 meet in
some band with probability 0.73, 0.3 with 0.95 (tests/test_recurring.py
measures the recall against all pairs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from datasketch import MinHash

from .alerts import features

BANDS, ROWS = 32, 2
REPRESENTATIVES = 8  # distinct groups a text is compared with, per bucket
SEED = 1  # fixed: the same texts always give the same groups


@dataclass(frozen=True)
class Text:
    key: str  # e.g. the complaint number
    text: str


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the earliest text stays the root


def _signatures(sets: Sequence[frozenset[str]]) -> list[list[bytes]]:
    """Each set's band keys: BANDS keys of ROWS MinHash values each (an empty set has none)."""
    hashed = MinHash.bulk([[t.encode("utf-8") for t in s] for s in sets], num_perm=BANDS * ROWS, seed=SEED)
    return [[m.hashvalues[b * ROWS:(b + 1) * ROWS].tobytes() for b in range(BANDS)] if s else []
            for m, s in zip(hashed, sets, strict=True)]


def group(texts: Sequence[Text], idf: Callable[[str], float], threshold: float = 0.3,
          min_size: int = 3) -> list[list[Text]]:
    """Groups of at least min_size similar texts, each in input order, largest group first."""
    sets = [features(t.text) for t in texts]
    squared: dict[str, float] = {}

    def w2(term: str) -> float:
        value = squared.get(term)
        if value is None:
            value = squared[term] = idf(term) ** 2
        return value

    norms = [math.sqrt(sum(w2(t) for t in s)) for s in sets]

    def similar(a: int, b: int) -> bool:
        shared = sets[a] & sets[b]
        return bool(shared) and sum(w2(t) for t in shared) / (norms[a] * norms[b]) >= threshold

    signatures = _signatures(sets)
    links = _UnionFind(len(texts))
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = {}
        for i, keys in enumerate(signatures):
            if not keys:
                continue
            reps = buckets.setdefault(keys[band], [])
            root = links.find(i)
            for rep in reps:
                if links.find(rep) == root:
                    break
                if similar(i, rep):
                    links.union(i, rep)
                    break
            else:
                if len(reps) < REPRESENTATIVES:
                    reps.append(i)
    members: dict[int, list[Text]] = {}
    for i, t in enumerate(texts):
        members.setdefault(links.find(i), []).append(t)
    found = [g for g in members.values() if len(g) >= min_size]
    return sorted(found, key=lambda g: -len(g))
