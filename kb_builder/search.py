"""Find the articles that answer a piece of text: the one search path for the API and benchmarks."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from whoosh import scoring
from whoosh.query import Or, Term

from .analysis import tokens
from .index import MANIFEST, open_index

# Per-field weights: what HR writes as title and question phrasings says more
# about an article than its body does.
FIELD_BOOSTS = {"title": 2.0, "questions": 1.5, "tags": 1.5, "body": 1.0}
# Long complaint texts keep only their most telling terms: Whoosh scores every
# posting of an OR query in Python, so common words cost time and add noise.
MAX_QUERY_TERMS = 16


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

    def as_dict(self) -> dict:
        return asdict(self)


class IndexNotBuilt(Exception):
    """No index where one was expected: run `kb build` first."""


class Searcher:
    """A long-lived searcher over one index folder that follows rebuilds.

    A build swaps a new folder in by renaming; the folder's inode changes, and
    the next search opens the new index. Never `Searcher.refresh()`: it is wrong
    in whoosh-reloaded (STACK.md).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._ino: int | None = None
        self._searcher = None

    def _current(self):
        try:
            ino = os.stat(self.folder / MANIFEST).st_ino
        except FileNotFoundError:
            raise IndexNotBuilt(f"no search index at {self.folder}: run `kb build` first") from None
        if ino != self._ino or self._searcher is None:
            ix = open_index(self.folder)
            old, self._searcher, self._ino = self._searcher, ix.searcher(weighting=scoring.BM25F()), ino
            if old is not None:
                old.close()
        return self._searcher

    def query_terms(self, text: str, searcher) -> list[str]:
        """Unique terms of text; for long texts, the rarest MAX_QUERY_TERMS."""
        seen = list(dict.fromkeys(tokens(text)))
        if len(seen) <= MAX_QUERY_TERMS:
            return seen
        reader = searcher.reader()
        def df(term: str) -> int:
            return sum(reader.doc_frequency(f, term) for f in FIELD_BOOSTS)
        return sorted(seen, key=df)[:MAX_QUERY_TERMS]

    def search(self, text: str, limit: int = 5) -> list[Hit]:
        searcher = self._current()
        terms = self.query_terms(text, searcher)
        if not terms:
            return []
        query = Or([Term(f, t, boost=b) for t in terms for f, b in FIELD_BOOSTS.items()])
        results = searcher.search(query, limit=limit)
        return [
            Hit(id=r["id"], title=r["title"], url=r["url"], snippet=r["snippet"],
                score=round(float(r.score), 4), category=r["category"],
                language=r["language"], kind=r["kind"])
            for r in results
        ]

    def has_article(self, article_id: str) -> bool:
        return self._current().document_number(id=article_id) is not None

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
