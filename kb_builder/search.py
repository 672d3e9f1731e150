"""Find the articles that answer a piece of text: the one search path for the API and benchmarks.

Two scorers, one order: Whoosh BM25F over the analysed fields (lexical) and
sentence vectors (semantic, `vectors.py`), combined by `ranking.py`, which
also says how sure the top answer is. Without vectors (an index built where
the encoder could not load) the lexical path answers alone, with no
confidence figure.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import scoring
from whoosh.query import FuzzyTerm, Or, Term

from . import ranking
from .analysis import to_simplified, tokens
from .calibration import Calibration, coverage, features
from .encoder import get_encoder
from .index import MANIFEST, open_index
from .phrasing_guard import Conflict, conflicts
from .synonyms import Synonyms
from .vectors import VECTORS, ArticleVectors, _unit

log = logging.getLogger(__name__)

# Per-field weights, measured (`retrieval.py --sweep`): a title at half the
# weight of the question phrasings ranked best on BANKING77 (Hit@3 +0.004,
# Hit@1 +0.008 over equal weights; heavier titles lost up to 0.023 lexical
# Hit@3) and made no difference on SMP2017. Tags and body cannot be measured
# there (the tasks have neither) and keep weight 1.
FIELD_BOOSTS = {"title": 0.5, "questions": 1.0, "tags": 1.0, "body": 1.0}
# Long complaint texts keep only their most telling terms: Whoosh scores every
# posting of an OR query in Python, so common words cost time and add noise.
MAX_QUERY_TERMS = 16
# Terms found in more than this share of the articles (and in more than
# COMMON_TERM_MIN_DOCS) are left to the semantic score: see query_terms.
COMMON_TERM_SHARE = 0.05
COMMON_TERM_MIN_DOCS = 100
# Typo tolerance for English words of 5+ letters (one edit). Off: on the
# benchmark tasks it changed Hit@3 by -0.005 to +0.001 and made queries
# 1.6-2.3x slower (`retrieval.py --sweep`); the vectors carry near-misses.
FUZZY_ENGLISH = False
# From this many documents the lexical OR query preloads its matches (see _lexical).
ARRAY_MATCHER_FROM = 5000
# Lexical candidates scored per query; the rest of the articles count as 0.
LEXICAL_CANDIDATES = 20
# The encoder reads the start of a long complaint: that is where people say what is wrong.
MAX_EMBED_CHARS = 500
# A text longer than this is also judged by its opening sentence (at most this
# long) for the confidence: the calibration learnt from one-line phrasings, and
# a long text's many other words lower its cosine and term coverage whether
# or not the article answers it.
LEAD_CHARS = 60
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|[.](?=\s)")


def lead_of(text: str) -> str:
    """The opening sentence of text, at most LEAD_CHARS long (text itself when short)."""
    text = text.strip()
    if len(text) <= LEAD_CHARS:
        return text
    end = _SENTENCE_END.search(text, 0, LEAD_CHARS)
    return text[:end.start()] if end and end.start() >= 4 else text[:LEAD_CHARS]


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    url: str
    snippet: str
    score: float
    category: str
    language: str
    kind: str
    # Why this article came up (CHANGELOG, issue 16, "Why this article"): the phrasing or title
    # closest to the text, its cosine, and the terms text and article share.
    why: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """The ranked hits and how likely the first one answers the text (None: lexical only, not calibrated)."""

    hits: list[Hit]
    confidence: float | None  # probability that hits[0] answers the text (calibration.py)


def _frequencies(reader: Any, terms: list[str]) -> dict[str, int]:
    """In how many articles each term occurs, in the field where it is most common (the suggest path's rarity)."""
    return {t: max(reader.doc_frequency(f, t) for f in FIELD_BOOSTS) for t in terms}


class Lexicon:
    """The suggest path's words under one index: how a text becomes query terms and how rare each is.

    The calibration (calibration.py) cuts its sample lines with it, so that
    they are scored as queries are.
    """

    def __init__(self, searcher: Searcher, whoosh: Any):
        self._searcher, self._whoosh = searcher, whoosh
        self.documents: int = whoosh.doc_count()
        self.synonyms: Synonyms = searcher._synonyms

    def terms(self, text: str) -> list[str]:
        with self._searcher._lock:
            return self._searcher.query_terms(text, self._whoosh)

    def frequencies(self, terms: list[str]) -> dict[str, int]:
        with self._searcher._lock:
            return _frequencies(self._whoosh.reader(), terms)


class IndexNotBuilt(Exception):
    """No index where one was expected: run `kb build` first."""


def generation(folder: Path) -> int | None:
    """Which build's index is in folder now (None: none); changes whenever a build swaps a new one in.

    A build renames a new folder into place, so the manifest's inode tells
    a long-lived reader to reopen.
    """
    try:
        return os.stat(folder / MANIFEST).st_ino
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class TermCounts:
    """Document frequencies in the index as it was when asked for (see IndexTerms.counts)."""

    generation: int | None  # None: no index, every term counts 0
    documents: int
    _reader: Any = field(repr=False)
    _fields: tuple[str, ...] = field(repr=False)
    _lock: threading.Lock = field(repr=False)

    def frequency(self, term: str) -> int:
        """In how many (article, field) pairs term occurs, over every scored field."""
        if self._reader is None:
            return 0
        with self._lock:
            return sum(self._reader.doc_frequency(f, term) for f in self._fields)


class IndexTerms:
    """The index's term statistics, for code that weighs words by rarity (the emergency rule, reports).

    Follows rebuilds as Searcher does. The threads of a worker share one
    Whoosh reader one at a time: it reads through shared file objects.
    """

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._counts = TermCounts(None, 0, None, (), self._lock)

    def counts(self) -> TermCounts:
        """The statistics of the index now in the folder (reopened after a rebuild)."""
        with self._lock:
            ino = generation(self.folder)
            if ino is None:
                return TermCounts(None, 0, None, (), self._lock)
            if ino != self._counts.generation:
                ix = open_index(self.folder)
                reader = ix.reader()
                scored = tuple(name for name, kind in ix.schema.items() if kind.scorable)
                self._counts = TermCounts(ino, reader.doc_count(), reader, scored, self._lock)
            return self._counts


@lru_cache(maxsize=1)
def _small_talk_vectors(encoder) -> np.ndarray:
    return encoder.encode(list(ranking.SMALL_TALK))


def _best(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k highest scores, best first (partial sort on large knowledge bases)."""
    rows = np.argpartition(-scores, k)[:k] if len(scores) > 4 * k else np.arange(len(scores))
    return rows[np.argsort(-scores[rows], kind="stable")][:k]


class Searcher:
    """A long-lived searcher over one index folder that follows rebuilds.

    A build swaps a new folder in by renaming; the folder's inode changes, and
    the next search opens the new index and its vectors. Never
    `Searcher.refresh()`: in whoosh-reloaded it also returns replaced documents.

    The threads of one `kb serve` worker (`server.threads`) share it one at
    a time: Whoosh reads its files through shared file objects (seek, then
    read), and a rebuild replaces the searcher, its vectors and their row
    maps together. With the default of one thread nobody waits for the lock.
    """

    def __init__(self, folder: Path, semantic: bool = True):
        self.folder = Path(folder)
        self.semantic = semantic
        self._ino: int | None = None
        self._searcher = None
        self._vectors: ArticleVectors | None = None
        self._row_of_doc: np.ndarray = np.zeros(0, np.int64)  # Whoosh docnum -> vector row (-1: none)
        self._doc_of_row: np.ndarray = np.zeros(0, np.int64)  # vector row -> Whoosh docnum
        self._talk: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.RLock()
        self._calibration: Calibration | None = None
        self._synonyms = Synonyms()

    def _current(self):
        ino = generation(self.folder)
        if ino is None:
            raise IndexNotBuilt(f"no search index at {self.folder}: run `kb build` first")
        if ino != self._ino or self._searcher is None:
            ix = open_index(self.folder)
            vectors = self._load_vectors() if self.semantic else None
            calibration = Calibration.load(self.folder) if vectors is not None else None
            if vectors is not None and calibration is None:
                log.warning("no confidence for %s: no calibration (the build log says why, or run `kb build`)", self.folder)
            old, self._searcher, self._ino = self._searcher, ix.searcher(weighting=scoring.BM25F()), ino
            self._vectors, self._talk, self._calibration = vectors, None, calibration
            self._synonyms = Synonyms.of_index(self.folder)
            self._row_of_doc, self._doc_of_row = self._align(self._searcher, vectors)
            if old is not None:
                old.close()
        return self._searcher

    @staticmethod
    def _align(searcher, vectors: ArticleVectors | None) -> tuple[np.ndarray, np.ndarray]:
        """Whoosh document numbers <-> vector rows, once per index.

        Per query, hits then go by number: `searcher.document(id=...)` runs a
        query of its own (about 0.7 ms) and reading stored fields unpickles
        them, so only the hits shown have their fields read.
        """
        if vectors is None:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        rows = {doc_id: row for row, doc_id in enumerate(vectors.ids)}
        row_of_doc = np.full(searcher.doc_count_all(), -1, np.int64)
        doc_of_row = np.full(len(vectors.ids), -1, np.int64)
        for docnum, fields in searcher.reader().iter_docs():
            row = rows.get(fields["id"])
            if row is not None:
                row_of_doc[docnum], doc_of_row[row] = row, docnum
        return row_of_doc, doc_of_row

    def _load_vectors(self) -> ArticleVectors | None:
        """The index's vectors, or None (lexical only) when missing, unreadable or not of this index."""
        try:
            vectors = ArticleVectors.load(self.folder)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("semantic matching off for %s: unreadable %s (%s); run `kb build`", self.folder, VECTORS, exc)
            return None
        if vectors is None:
            return None
        try:
            indexed = set(json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))["ids"])
        except (OSError, ValueError, KeyError):
            indexed = None
        if indexed != set(vectors.ids):
            log.warning("semantic matching off for %s: %s does not match the index; run `kb build`",
                        self.folder, VECTORS)
            return None
        return vectors

    def query_terms(self, text: str, searcher) -> list[str]:
        """Unique terms of text without the very common ones; for long texts, the rarest MAX_QUERY_TERMS.

        A term in more than COMMON_TERM_SHARE of a large knowledge base (坏,
        班车 among 10,000 articles) costs Whoosh a scored posting per article,
        in Python, and tells BM25 little; the semantic score still sees it.
        """
        seen = list(dict.fromkeys(tokens(self._synonyms.expand(text))))
        reader = searcher.reader()
        common = max(COMMON_TERM_MIN_DOCS, COMMON_TERM_SHARE * reader.doc_count())
        if reader.doc_count() <= common and len(seen) <= MAX_QUERY_TERMS:
            return seen  # no term can be common here: skip the look-ups
        df = _frequencies(reader, seen)
        kept = [t for t in seen if df[t] <= common] or sorted(seen, key=df.__getitem__)[:1]
        return sorted(kept, key=df.__getitem__)[:MAX_QUERY_TERMS] if len(kept) > MAX_QUERY_TERMS else kept

    def _lexical(self, searcher, text: str, limit: int, terms: list[str] | None = None):
        terms = self.query_terms(text, searcher) if terms is None else terms
        if not terms:
            return []
        def term(field: str, text: str, boost: float):
            if FUZZY_ENGLISH and text.isascii() and len(text) >= 5:
                return FuzzyTerm(field, text, boost=boost, maxdist=1, prefixlength=1)
            return Term(field, text, boost=boost)
        query = Or([term(f, t, b) for t in terms for f, b in FIELD_BOOSTS.items()])
        # Whoosh picks the preloading matcher for small indexes and a tree of
        # unions for large ones; measured here it is the other way round
        # (61 articles 1.5 vs 2.4 ms, 2,000 1.8 vs 2.1 ms, 10,000 9.7 vs 7.8 ms).
        query.matcher_type = Or.DEFAULT_MATCHER if searcher.doc_count_all() < ARRAY_MATCHER_FROM else Or.ARRAY_MATCHER
        return searcher.search(query, limit=limit, terms=True)

    @staticmethod
    def _hit(fields: dict, score: float, why: dict | None = None) -> Hit:
        return Hit(id=fields["id"], title=fields["title"], url=fields["url"], snippet=fields["snippet"],
                   score=round(float(score), 4), category=fields["category"],
                   language=fields["language"], kind=fields["kind"], why=why)

    @staticmethod
    def _why(vectors: ArticleVectors, row: int, query: np.ndarray, terms: set[str]) -> dict:
        """The article's line closest to the query (title or phrasing) and the shared terms."""
        start = int(vectors.starts[row])
        end = int(vectors.starts[row + 1]) if row + 1 < len(vectors.starts) else len(vectors.lines)
        cosines = vectors.lines[start:end] @ query
        best = int(np.argmax(cosines))
        phrasing = vectors.texts[start + best] if vectors.texts is not None else None
        return {"matched": "title" if best == 0 else "phrasing", "phrasing": phrasing,
                "similarity": round(float(cosines[best]), 3), "terms": sorted(terms)}

    def _small_talk(self, encoder, vectors: ArticleVectors) -> tuple[np.ndarray, np.ndarray]:
        """The small-talk lines and their centroid in this index's search space (encoded once per process)."""
        if self._talk is None:
            lines = vectors.project(_small_talk_vectors(encoder))
            self._talk = lines, _unit(lines.sum(axis=0))
        return self._talk

    def _scores(self, searcher, vectors: ArticleVectors, encoder, text: str, limit: int):
        """(lexical, semantic, query vector, terms, matched terms by row, small talk) for one text."""
        lexical = np.zeros(len(vectors.ids), np.float32)
        terms = self.query_terms(text, searcher)
        matched: dict[int, set[str]] = {}
        for r in self._lexical(searcher, text, max(limit, LEXICAL_CANDIDATES), terms):
            row = self._row_of_doc[r.docnum]
            if row >= 0:
                lexical[row] = r.score
                matched[int(row)] = {t.decode("utf-8") if isinstance(t, bytes) else t for _, t in r.matched_terms()}
        query = vectors.project(encoder.encode_cached([to_simplified(self._synonyms.expand(text[:MAX_EMBED_CHARS]))]))[0]
        semantic = ranking.semantic_scores(vectors, query, also=np.flatnonzero(lexical))
        talk = ranking.small_talk_score(*self._small_talk(encoder, vectors), query)
        return lexical, semantic, query, terms, matched, talk

    def _probability(self, searcher, semantic, terms, matched, talk, top: int) -> float | None:
        if self._calibration is None:
            return None
        reader = searcher.reader()
        df = _frequencies(reader, terms)
        cover = coverage(terms, matched.get(top, set()), df, reader.doc_count())
        return self._calibration.probability(features(semantic, top, talk, cover))

    def suggest(self, text: str, limit: int = 5) -> Answer:
        """The best `limit` articles for text, and the probability that the first one answers it."""
        with self._lock:
            return self._suggest(text, limit)

    def _suggest(self, text: str, limit: int) -> Answer:
        searcher = self._current()
        vectors, encoder = self._vectors, get_encoder() if self._vectors is not None else None
        if vectors is None or encoder is None or not len(vectors.ids):
            results = self._lexical(searcher, text, limit)
            return Answer([self._hit(r.fields(), r.score) for r in results], None)
        lexical, semantic, query, terms, matched, talk = self._scores(searcher, vectors, encoder, text, limit)
        order = ranking.fused(lexical, semantic)
        top = _best(order, limit)
        hits = []
        for row in top:
            docnum = int(self._doc_of_row[row])
            fields = searcher.stored_fields(docnum) if docnum >= 0 else None
            if fields:
                hits.append(self._hit(fields, order[row], self._why(vectors, int(row), query,
                                                                      matched.get(int(row), set()))))
        probability = self._probability(searcher, semantic, terms, matched, talk, int(top[0]))
        lead = lead_of(text)
        if probability is not None and lead != text:
            # The calibration saw one-line phrasings; a long complaint is judged by its
            # opening too, where people say what is wrong (see LEAD_CHARS).
            _, lead_semantic, _, lead_terms, lead_matched, lead_talk = self._scores(searcher, vectors, encoder,
                                                                                     lead, limit)
            lead_probability = self._probability(searcher, lead_semantic, lead_terms, lead_matched, lead_talk,
                                                 int(top[0]))
            if lead_probability is not None:
                probability = max(probability, lead_probability)
        return Answer(hits, None if probability is None else round(probability, 4))

    def preload(self) -> None:
        """Load the sentence encoder and the small-talk vectors now rather than on the first query.

        `kb serve` calls this in gunicorn's master before it forks, so every
        worker shares one loaded model (copy-on-write) instead of each
        worker's first suggestion waiting for it (1,971 ms measured, against
        28 ms now). The Whoosh index itself is opened in each worker: open
        files must not be shared across a fork.
        """
        encoder = get_encoder() if self.semantic else None
        if encoder is not None:
            _small_talk_vectors(encoder)

    def open(self) -> None:
        """Open the index and its vectors now (`kb serve` does this in each worker before it accepts requests).

        Otherwise the first suggestion each worker answers pays for it: about
        0.3 s with 10,000 articles.
        """
        try:
            with self._lock:
                self._current()
        except IndexNotBuilt:
            pass  # answered as 503 per request, with the message saying what to run
        except Exception:  # a worker that cannot boot would stop the whole server
            log.exception("could not open the index at %s; each request will try again", self.folder)

    def lexicon(self) -> Lexicon:
        """The current index's query terms and their frequencies; IndexNotBuilt if there is none."""
        with self._lock:
            return Lexicon(self, self._current())

    def status(self) -> tuple[int, bool]:
        """(articles in the index, whether semantic matching is on for it); IndexNotBuilt if there is none."""
        with self._lock:
            searcher = self._current()
            return searcher.doc_count(), self._vectors is not None

    def search(self, text: str, limit: int = 5) -> list[Hit]:
        return self.suggest(text, limit).hits

    def phrasing_conflicts(self, article_id: str, text: str) -> list[Conflict] | None:
        """Other articles' phrasings that `text`, added to article_id, would win (None: no vectors to judge by)."""
        with self._lock:
            self._current()
            vectors, encoder = self._vectors, get_encoder() if self._vectors is not None else None
            if vectors is None or encoder is None:
                return None
            proposed = vectors.project(encoder.encode([to_simplified(text.strip())]))[0]
            return conflicts(vectors, proposed, article_id)

    def has_article(self, article_id: str) -> bool:
        with self._lock:
            return self._current().document_number(id=article_id) is not None

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
