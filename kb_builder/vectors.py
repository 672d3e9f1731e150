"""Sentence vectors of the articles, written beside the Whoosh index.

Each article is embedded line by line: its title and every `questions:`
phrasing (an SOP, which has none, adds its summary). Search compares a query
with the closest line and with the article's centroid; one line per phrasing
keeps a rare phrasing from being averaged away.

Search happens in a whitened copy of the encoder's space (`whitening`): the
ways one article's phrasings differ among themselves are scaled down, so
what separates one problem from another counts for more.

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
from .encoder import DIMENSIONS, Encoder
from .memo import Memo

VECTORS = "vectors.npz"


def lines_of(art: Article) -> list[str]:
    lines = [art.title, *art.questions]
    if (art.kind == "sop" or not art.questions) and art.snippet:  # an SOP's phrasings are few: its text stays
        lines.append(art.snippet)
    # Traditional text is embedded as Simplified: one form per meaning.
    return [to_simplified(line.strip()) for line in lines if line.strip()]


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest().encode("ascii")


# Within-article whitening, measured on the four development tasks
# (`retrieval.py`; CHANGELOG, "Suggestions: how they are ranked"): Hit@1 +0.012
# to +0.016 on three tasks (-0.002 on the fourth), SMP2017 (5 lines)
# answered right at the threshold 0.771 -> 0.790. An article has only a
# handful of lines, so the covariance is shrunk halfway to the identity, and
# applied at half power: full whitening ranked first places a little better
# but lost BANKING77 (20 lines) Hit@3 below 0.95.
WHITENING_SHRINKAGE = 0.5
WHITENING_POWER = 0.5
# Lines the covariance is estimated from, about (whole articles, every k-th, of a large knowledge base).
COVARIANCE_LINES = 16384


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-9)


def whitening(lines: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The (d, d) map into the space search compares in, learnt from the articles' own lines.

    The encoder spreads the phrasings of one question along a few directions
    (wording, length, register) that say little about which problem a text
    is about. The covariance of each line around its article's mean (the
    within-article covariance, as in within-class covariance normalisation)
    measures those directions; raising it to -WHITENING_POWER/2 scales them
    down. It needs no labels beyond the articles themselves, so it adapts to
    each organisation's content at every build.
    """
    n_lines, d = lines.shape
    counts = np.diff(np.append(starts, n_lines))
    if len(starts) == 0 or n_lines <= len(starts) or (counts < 1).any():
        return np.eye(d, dtype=np.float32)  # one line per article: nothing to learn from
    if n_lines > COVARIANCE_LINES:  # every k-th article: plenty for a (d, d) estimate, and 4x faster
        chosen = np.arange(0, len(starts), -(-n_lines // COVARIANCE_LINES))
        counts = counts[chosen]
        first = np.cumsum(counts) - counts
        lines = lines[np.repeat(starts[chosen] - first, counts) + np.arange(counts.sum())]
        starts = first
    lines = lines.astype(np.float32)
    means = article_sums(lines, starts) / counts[:, None]
    resid = lines - np.repeat(means, counts, axis=0)
    cov = (resid.T @ resid).astype(np.float64) / len(resid)
    scale = np.trace(cov) / d
    if scale <= 1e-12:
        return np.eye(d, dtype=np.float32)
    cov = (1 - WHITENING_SHRINKAGE) * cov / scale + WHITENING_SHRINKAGE * np.eye(d)
    values, basis = np.linalg.eigh(cov)
    return ((basis * values ** (-WHITENING_POWER / 2)) @ basis.T).astype(np.float32)


@dataclass
class ArticleVectors:
    """Line vectors grouped by article: rows of `lines` for article i are starts[i]:starts[i+1]."""

    ids: list[str]
    lines: np.ndarray      # (m, d) float32, L2-normalised, in the search space
    starts: np.ndarray     # (n,) int64, first line of each article
    centroids: np.ndarray  # (n, d) float32, L2-normalised mean of each article's lines
    encoder: str
    whitening: np.ndarray | None = None  # (d, d): encoder space -> search space (None: the same)
    texts: list[str] | None = None  # each line's text, for "why this article" (None: written before it was kept)

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Encoder vectors (queries) into the space the lines are in, L2-normalised."""
        vectors = np.asarray(vectors, np.float32)
        return vectors if self.whitening is None else _unit(vectors @ self.whitening)

    @classmethod
    def load(cls, folder: Path) -> ArticleVectors | None:
        path = Path(folder) / VECTORS
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(ids=[str(i) for i in data["ids"]], lines=data["lines"].astype(np.float32),
                       starts=data["starts"].astype(np.int64),
                       centroids=data["centroids"].astype(np.float32), encoder=str(data["encoder"]),
                       whitening=data["whitening"].astype(np.float32) if "whitening" in data.files else None,
                       texts=[str(t) for t in data["texts"]] if "texts" in data.files else None)


def _previous(folder: Path | None, encoder: str) -> dict[bytes, np.ndarray]:
    """Line vectors of the live index by text key, for reuse (only if the same encoder made them)."""
    if folder is None or not (folder / VECTORS).is_file():
        return {}
    try:
        with np.load(folder / VECTORS, allow_pickle=False) as data:
            if str(data["encoder"]) != encoder:
                return {}
            # `raw`: the encoder's own vectors (files without it predate whitening: `lines` are raw).
            return dict(zip((bytes(k) for k in data["keys"]), data["raw" if "raw" in data.files else "lines"]))
    except (OSError, ValueError, KeyError):
        return {}


# Below this many new lines a second process costs more (about 1 s to start
# and load the model) than it saves.
PARALLEL_MIN_LINES = 4000
BATCH = 256


def _encode_texts(texts: list[str]) -> np.ndarray:
    """Run in a worker process: embed one batch with that process's encoder."""
    from .encoder import get_encoder

    encoder = get_encoder()
    if encoder is None:
        raise RuntimeError("the sentence encoder could not be loaded in a build worker")
    return encoder.encode(texts).astype(np.float16)


@dataclass
class Embedded:
    """What `embed` computed, ready to be saved into an index folder."""

    ids: list[str]
    lines: np.ndarray  # the encoder's vectors, float16 (reused by later builds)
    starts: np.ndarray
    keys: list[bytes]
    encoder: str
    fresh: int  # lines embedded anew (the rest reused from the live index)
    texts: list[str] | None = None  # the lines themselves (shown as the phrasing that matched)


def embed(articles: list[Article], encoder: Encoder, previous: Path | None = None, processes: int = 1,
          memo: Memo | None = None) -> Embedded:
    """Embed every article line not already in the previous index's vectors.

    With processes > 1 and a large job, batches go to that many worker
    processes (one BLAS thread each), so a full build of 10,000 articles
    uses both cores while the main process writes the Whoosh index. With a
    memo, the lines of an unchanged file (folded to Simplified) are not cut again.
    """
    texts: list[str] = []
    keys: list[bytes] = []
    starts: list[int] = []
    for art in articles:
        starts.append(len(texts))
        kept = memo.of(art.source) if memo is not None else {}
        if "lines" not in kept:
            cut = lines_of(art)
            kept["lines"] = (cut, [_key(t) for t in cut])
        texts.extend(kept["lines"][0])
        keys.extend(kept["lines"][1])
    known = _previous(previous, encoder.name)
    # Sorted by length: the encoder pads a batch to its longest text.
    todo = sorted({i for i, k in enumerate(keys) if k not in known}, key=lambda i: len(texts[i]))
    batches = [todo[c:c + BATCH] for c in range(0, len(todo), BATCH)]
    jobs = [[texts[i] for i in batch] for batch in batches]
    if processes > 1 and len(todo) >= PARALLEL_MIN_LINES:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the caller may be a threaded server process.
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_encode_texts, jobs))
    else:
        results = [encoder.encode(job).astype(np.float16) for job in jobs]
    fresh = {i: vec for batch, vectors in zip(batches, results) for i, vec in zip(batch, vectors)}
    lines = np.zeros((len(texts), _dimensions(known, fresh)), np.float16)
    for i, k in enumerate(keys):
        lines[i] = fresh[i] if i in fresh else known[k]
    return Embedded(ids=[a.id for a in articles], lines=lines, starts=np.array(starts, dtype=np.int64),
                    keys=keys, encoder=encoder.name, fresh=len(fresh), texts=texts)


def _projected(folder: Path, encoder: str) -> tuple[np.ndarray, dict[bytes, int], np.ndarray] | None:
    """The whitening of folder's vectors, the row of each text key and the search-space lines (None: none to keep)."""
    try:
        with np.load(folder / VECTORS, allow_pickle=False) as data:
            if str(data["encoder"]) != encoder or "whitening" not in data.files:
                return None
            rows = {bytes(k): i for i, k in enumerate(data["keys"].tolist())}
            return data["whitening"].astype(np.float32), rows, data["lines"]
    except (OSError, ValueError, KeyError):
        return None


def save(embedded: Embedded, folder: Path, keep_whitening: bool = False) -> None:
    """Write folder/vectors.npz (through a temporary file: never half-written).

    It holds the encoder's vectors (`raw`, for reuse) and the search-space
    ones (`lines`, `centroids`, and the `whitening` that maps queries there),
    so that a search process only loads, never recomputes. keep_whitening:
    folder holds the live vectors; keep their whitening (the calibration was
    fitted in that space and is kept too) and their search-space lines, and
    project only the new lines (at 10,000 articles, estimating the whitening
    and projecting every line cost about half a second).
    """
    kept = _projected(folder, embedded.encoder) if keep_whitening else None
    if kept is None:
        raw = embedded.lines.astype(np.float32)
        transform = whitening(raw, embedded.starts)
        lines = _unit(raw @ transform)
    else:  # gathered by row, not line by line: 50,000 lines at 10,000 articles
        transform, rows, known = kept
        at = np.fromiter((rows.get(key, -1) for key in embedded.keys), np.int64, len(embedded.keys))
        lines = np.empty(embedded.lines.shape, np.float32)
        have = at >= 0
        lines[have] = known[at[have]]
        todo = np.flatnonzero(~have)
        if todo.size:
            lines[todo] = _unit(embedded.lines[todo].astype(np.float32) @ transform)
    # The sum of an article's lines points the same way as their mean.
    centroids = _unit(article_sums(lines, embedded.starts)) if embedded.ids \
        else np.zeros((0, lines.shape[1]), np.float32)
    tmp = folder / (VECTORS + ".tmp")
    arrays = dict(ids=np.array(embedded.ids, dtype=str), raw=embedded.lines, lines=lines.astype(np.float16),
                  starts=embedded.starts, centroids=centroids.astype(np.float16), whitening=transform,
                  keys=np.array(embedded.keys, dtype="S32"), encoder=np.array(embedded.encoder))
    if embedded.texts is not None:
        arrays["texts"] = np.array(embedded.texts, dtype=str)
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]  # the stubs fear a key "allow_pickle" (numpy 2.1+)
    tmp.replace(folder / VECTORS)


def article_sums(lines: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(articles, dimensions): the sum of each article's lines (starts: its first line; every article has one).

    A sparse (articles x lines) matrix of ones times the lines: at 50,000 lines numpy's add.reduceat
    took 0.34 s of every rebuild, this 0.04 s, with the same sums.
    """
    from scipy.sparse import csr_matrix

    n = len(lines)
    owner = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    ones = csr_matrix((np.ones(n, np.float32), (owner, np.arange(n))), shape=(len(starts), n))
    return np.asarray(ones @ np.asarray(lines, np.float32))


def _dimensions(known: dict, fresh: dict) -> int:
    for vec in list(fresh.values())[:1] + list(known.values())[:1]:
        return len(vec)
    return DIMENSIONS
