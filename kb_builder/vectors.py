"""Sentence vectors of the articles, written beside the Whoosh index.

Each article is embedded line by line: its title and every `questions:`
phrasing (an SOP, which has none, adds its summary). Search compares a query
with the closest line and with the article's centroid; one line per phrasing
keeps a rare phrasing from being averaged away.

The vectors live in the index folder (`vectors.npz`), so they ship, swap
and roll back together with the index. Lines whose text is unchanged reuse
the live index's vectors: an incremental build embeds only what changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .analysis import to_simplified
from .articles import Article
from .encoder import Encoder

VECTORS = "vectors.npz"


def lines_of(art: Article) -> list[str]:
    lines = [art.title, *art.questions]
    if not art.questions and art.snippet:
        lines.append(art.snippet)
    # Traditional text is embedded as Simplified: one form per meaning.
    return [to_simplified(line.strip()) for line in lines if line.strip()]


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest().encode("ascii")


@dataclass
class ArticleVectors:
    """Line vectors grouped by article: rows of `lines` for article i are starts[i]:starts[i+1]."""

    ids: list[str]
    lines: np.ndarray      # (m, d) float32, L2-normalised
    starts: np.ndarray     # (n,) int64, first line of each article
    centroids: np.ndarray  # (n, d) float32, L2-normalised mean of each article's lines
    encoder: str

    @classmethod
    def load(cls, folder: Path) -> "ArticleVectors | None":
        path = Path(folder) / VECTORS
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(ids=[str(i) for i in data["ids"]], lines=data["lines"].astype(np.float32),
                       starts=data["starts"].astype(np.int64),
                       centroids=data["centroids"].astype(np.float32), encoder=str(data["encoder"]))


def _previous(folder: Path | None) -> dict[bytes, np.ndarray]:
    """Line vectors of the live index by text key, for reuse."""
    if folder is None or not (folder / VECTORS).is_file():
        return {}
    try:
        with np.load(folder / VECTORS, allow_pickle=False) as data:
            return dict(zip((bytes(k) for k in data["keys"]), data["lines"]))
    except (OSError, ValueError, KeyError):
        return {}


def write_vectors(articles: list[Article], folder: Path, encoder: Encoder, previous: Path | None = None) -> int:
    """Embed the articles' lines into folder/vectors.npz; returns how many lines were embedded anew."""
    texts: list[str] = []
    starts: list[int] = []
    for art in articles:
        starts.append(len(texts))
        texts.extend(lines_of(art))
    keys = [_key(t) for t in texts]
    known = _previous(previous)
    todo = sorted({i for i, k in enumerate(keys) if k not in known}, key=lambda i: len(texts[i]))
    # Sorted by length: the encoder pads a batch to its longest text.
    fresh = {}
    for chunk in range(0, len(todo), 256):
        batch = todo[chunk:chunk + 256]
        for i, vec in zip(batch, encoder.encode([texts[i] for i in batch])):
            fresh[i] = vec
    lines = np.zeros((len(texts), _dimensions(known, fresh)), np.float16)
    for i, k in enumerate(keys):
        lines[i] = fresh[i] if i in fresh else known[k]
    lines32 = lines.astype(np.float32)
    bounds = starts + [len(texts)]
    centroids = np.stack([lines32[a:b].mean(0) for a, b in zip(bounds, bounds[1:])]) if articles \
        else np.zeros((0, lines.shape[1]), np.float32)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    tmp = folder / (VECTORS + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, ids=np.array([a.id for a in articles], dtype=str), lines=lines,
                 starts=np.array(starts, dtype=np.int64), centroids=centroids.astype(np.float16),
                 keys=np.array(keys, dtype="S32"), encoder=np.array(encoder.name))
    tmp.replace(folder / VECTORS)
    return len(fresh)


def _dimensions(known: dict, fresh: dict) -> int:
    for vec in list(fresh.values())[:1] + list(known.values())[:1]:
        return len(vec)
    return 512
