"""How likely the top suggestion answers a text: a probability learnt from the knowledge base at every build.

A raw score (cosine, z-score, margin) means different things in a knowledge
base of 30 articles and one of 5,000, in Chinese and in English: the best of
many unrelated articles is higher when there are more of them. So no fixed
threshold on a score can keep the form quiet everywhere. Instead, each
`kb build` asks the knowledge base itself what its scores look like when an
article answers and when none does, with no labelled data from HR:

- answerable: each sampled phrasing (`questions:` line) is held out of its
  own article and searched for; label 1 when its article comes first;
- unanswerable: an article is left out in turn and its phrasings are searched
  for among the others (a real, same-domain problem with no article: the
  commonest miss of a real form); so are the small-talk lines, each held out
  of the small talk; label 0.

A logistic regression over a few features of the top answer (FEATURES) is
fitted on that sample and written beside the index (`calibration.json`).
At query time the same features give a probability, which kb.yml's
`search.confidence_threshold` is compared with. Real logged queries can
replace the sample: operations/publishing.md, "Recalibrating on your own data".
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import ranking
from .vectors import ArticleVectors, _unit, article_sums

if TYPE_CHECKING:
    from .search import Lexicon  # search.py imports this module

CALIBRATION = "calibration.json"
log = logging.getLogger(__name__)

# The features of a top answer, in the order of the coefficients. See features().
FEATURES = ("score", "margin", "z", "small_talk", "coverage")
# How the FEATURES add up to one evidence figure, before it is scaled into a
# probability per knowledge base (fit). Chosen on the development tasks
# (retrieval.py, CHANGELOG): the out-of-scope AUROC of this sum was at or near
# the best single combination on every task and variant measured.
EVIDENCE = (1.0, 1.0, 0.0, -1.0, 2.0)
# Share of the calibration weight given to queries no article answers. An
# organisation's form sees both kinds; weighting them equally gives a
# probability whose 0.5 is the point where showing and staying quiet are
# equally likely to be right when both kinds are common.
UNANSWERABLE_WEIGHT = 0.1
# Of that, the share of small talk (the rest: same-domain problems with no article).
SMALL_TALK_WEIGHT = 0.2
# Held-out phrasings and left-out articles sampled per build: enough for
# four coefficients, and bounded so a 10,000-article build stays in budget.
MAX_ANSWERABLE = 2000
MAX_UNANSWERABLE = 1000
SEED = 16


@dataclass(frozen=True)
class Calibration:
    """A logistic map from FEATURES to the probability that the top article answers the text."""

    coef: tuple[float, ...]
    intercept: float
    answerable: int = 0    # sampled queries whose top article answered them (label 1)
    unanswerable: int = 0  # the others: top article wrong, article left out, small talk (label 0)

    def probability(self, feats: np.ndarray) -> float:
        logit = float(np.dot(self.coef, feats) + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    def save(self, folder: Path) -> None:
        data = {"features": list(FEATURES), "coef": list(self.coef), "intercept": self.intercept,
                "answerable": self.answerable, "unanswerable": self.unanswerable}
        tmp = Path(folder) / (CALIBRATION + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(Path(folder) / CALIBRATION)

    @classmethod
    def load(cls, folder: Path) -> Calibration | None:
        """The folder's calibration, or None when there is none or it is not of these FEATURES."""
        path = Path(folder) / CALIBRATION
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["features"] != list(FEATURES) or len(data["coef"]) != len(FEATURES):
                return None
            return cls(tuple(float(c) for c in data["coef"]), float(data["intercept"]),
                       int(data.get("answerable", 0)), int(data.get("unanswerable", 0)))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def features(semantic: np.ndarray, top: int, small_talk: float, coverage: float) -> np.ndarray:
    """The top answer as FEATURES.

    score: its semantic score; margin: its lead over the next article; z: its
    z-score among all articles (these three in units of ranking.COSINE_UNIT
    but z); small_talk: how much the text looks like small talk; coverage:
    the IDF-weighted share of the text's terms the article contains
    (`coverage`). The semantic scores and the coverage can both be
    recomputed at build time with a phrasing held out of its article, which
    BM25 over the built index cannot (the phrasing is in it).
    """
    unit = ranking.COSINE_UNIT
    score = float(semantic[top])
    others = np.delete(semantic, top) if len(semantic) > 1 else np.zeros(1, semantic.dtype)
    spread = float(semantic.std()) or 1e-9
    return np.array([score / unit, (score - float(others.max())) / unit,
                     (score - float(semantic.mean())) / spread, small_talk / unit, coverage])


def coverage(terms: list[str], found: set[str], df: dict[str, int], docs: int) -> float:
    """IDF-weighted share of the query terms that the article contains (0 when the text has none).

    A text whose rare words ("老鼠", "gym") no article has is about
    something else, however close its common words ("办公室") bring it.
    """
    weights = {t: math.log((docs + 1) / (df.get(t, 0) + 0.5)) for t in terms}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in found) / total if total > 0 else 0.0


class ArticleTerms:
    """The index terms of each article, as the calibration sample needs them (built lazily: only sampled ones).

    articles are in the vectors' order; lexicon is the built index's, as
    the suggest path sees it (search.Lexicon), so that held-out lines are
    cut and weighed as queries are.
    """

    def __init__(self, articles: list, lexicon: Lexicon):
        from .analysis import tokens
        from .index import document
        from .vectors import lines_of

        self._tokens, self._document, self._lines_of = tokens, document, lines_of
        self.articles, self.lexicon, self.synonyms = articles, lexicon, lexicon.synonyms
        self.docs = lexicon.documents
        self._whole: dict[int, set[str]] = {}
        self._df: dict[str, int] = {}

    def df(self, terms: list[str]) -> dict[str, int]:
        self._df.update(self.lexicon.frequencies([t for t in terms if t not in self._df]))
        return self._df

    def of(self, row: int, without: int | None = None) -> set[str]:
        """Terms of article row; without: the index (in vectors.lines_of order) of a line held out of it."""
        if without is None and row in self._whole:
            return self._whole[row]
        doc = self._document(self.articles[row], self.synonyms)
        lines = self._lines_of(self.articles[row])
        kept = [line for k, line in enumerate(lines) if k != without]
        found = {t for line in kept for t in self._tokens(line)}
        found.update(t for f in ("tags", "body") for t in self._tokens(doc[f]))
        if without is None:
            self._whole[row] = found
        return found

    def coverage(self, text: str, row: int, without: int | None = None) -> float:
        terms = self.lexicon.terms(text)
        return coverage(terms, self.of(row, without), self.df(terms), self.docs)


def _held_out_scores(vectors: ArticleVectors, sums: np.ndarray, article: int, line: int) -> np.ndarray:
    """Semantic scores of one of the knowledge base's own lines, as if it were not in its article."""
    query = vectors.lines[line]
    scores = ranking.semantic_scores(vectors, query)
    start = vectors.starts[article]
    end = vectors.starts[article + 1] if article + 1 < len(vectors.starts) else len(vectors.lines)
    rest = np.delete(np.arange(start, end), line - start)
    rest_sum = sums[article] - query
    norm = float(np.linalg.norm(rest_sum))
    best = float((vectors.lines[rest] @ query).max())
    centroid = float(query @ rest_sum) / norm if norm > 1e-9 else best
    scores[article] = ranking._article_score(best, centroid)
    return scores


def sample(vectors: ArticleVectors, talk: np.ndarray, terms: ArticleTerms, talk_texts: list[str],
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, labels, weights) from the knowledge base's own lines; see the module docstring.

    talk: the small-talk lines (talk_texts) in the search space.
    """
    n = len(vectors.ids)
    ends = np.append(vectors.starts[1:], len(vectors.lines))
    sums = article_sums(vectors.lines, vectors.starts) if n else np.zeros((0, 0))
    # Line 0 of an article is its title: people do not type titles, they type phrasings.
    phrasings = [(a, i) for a in range(n) for i in range(vectors.starts[a] + 1, ends[a])]
    talk_centroid = _unit(talk.sum(axis=0))
    rows, labels, kinds = [], [], []

    def talk_score(query: np.ndarray, held: int | None = None) -> float:
        if held is None:
            return ranking.small_talk_score(talk, talk_centroid, query)
        rest = np.delete(talk, held, axis=0)
        return ranking.small_talk_score(rest, _unit(rest.sum(axis=0)), query)

    if n >= 2:
        # Sampled by phrasing, not one per article: one per article was measured worse
        # where 20-line and 5-line articles mix (retrieval.py size600: answered right
        # 0.302 vs 0.637 on CLINC150, 0.247 vs 0.547 on SMP2017 at the shipped 0.5).
        for k in rng.permutation(len(phrasings))[:MAX_ANSWERABLE]:
            a, i = phrasings[k]
            if ends[a] - vectors.starts[a] < 2:
                continue
            scores = _held_out_scores(vectors, sums, a, i)
            top = int(np.argmax(scores))
            text = terms._lines_of(terms.articles[a])[i - vectors.starts[a]]
            cover = terms.coverage(text, a, i - vectors.starts[a]) if top == a else terms.coverage(text, top)
            rows.append(features(scores, top, talk_score(vectors.lines[i]), cover))
            labels.append(int(top == a))
            kinds.append(0)
        by_article: dict[int, list[int]] = {}
        for a, i in phrasings:
            by_article.setdefault(a, []).append(i)
        left_out = [a for a in rng.permutation(n) if a in by_article]
        per = max(1, MAX_UNANSWERABLE // max(1, len(left_out)))
        for a in left_out[:MAX_UNANSWERABLE]:
            for i in rng.permutation(by_article[a])[:per]:
                query = vectors.lines[i]
                scores = ranking.semantic_scores(vectors, query)
                scores[a] = -np.inf
                top = int(np.argmax(scores))
                scores = np.delete(scores, a)
                text = terms._lines_of(terms.articles[a])[i - vectors.starts[a]]
                rows.append(features(scores, top - (top > a), talk_score(query), terms.coverage(text, top)))
                labels.append(0)
                kinds.append(1)
        for k in range(len(talk) if n else 0):
            scores = ranking.semantic_scores(vectors, talk[k])
            top = int(np.argmax(scores))
            rows.append(features(scores, top, talk_score(talk[k], held=k), terms.coverage(talk_texts[k], top)))
            labels.append(0)
            kinds.append(2)
    X, y, kind = np.array(rows).reshape(-1, len(FEATURES)), np.array(labels), np.array(kinds)
    share = {0: 1 - UNANSWERABLE_WEIGHT, 1: UNANSWERABLE_WEIGHT * (1 - SMALL_TALK_WEIGHT),
             2: UNANSWERABLE_WEIGHT * SMALL_TALK_WEIGHT}
    weights = np.zeros(len(y))
    for k, w in share.items():
        if (kind == k).any():
            weights[kind == k] = w / (kind == k).sum()
    return X, y, weights * len(y) / max(weights.sum(), 1e-12)


def fit(X: np.ndarray, y: np.ndarray, weights: np.ndarray) -> Calibration | None:
    """Platt scaling of the evidence (X @ EVIDENCE) on the sample; None when it has one label only.

    Only the scale and the offset are learnt per knowledge base: a free
    logistic regression over all FEATURES fitted this sample better but
    transferred worse to real queries (retrieval.py), because a held-out
    phrasing differs from a real query in ways the sample cannot show.
    """
    if len(set(y.tolist())) < 2:
        return None
    slope, intercept = _platt(X @ np.array(EVIDENCE), y.astype(float), weights)
    if slope <= 0:
        # More evidence must never mean less likely. It did with 5,000 generated
        # near-duplicate articles (retrieval.py size5000): a held-out phrasing's
        # closest article was a sibling of its own (same problem, another
        # building), labelled "not answered". No calibration: no confidence.
        log.warning("no confidence for this index: its articles are too alike for the calibration "
                    "(slope %.3f); suggestions are shown without one", slope)
        return None
    return Calibration(tuple(slope * w for w in EVIDENCE), intercept,
                       answerable=int((y == 1).sum()), unanswerable=int((y == 0).sum()))


def _platt(x: np.ndarray, y: np.ndarray, w: np.ndarray, ridge: float = 1.0) -> tuple[float, float]:
    """Weighted logistic regression of y on one feature: (slope, intercept), by Newton's method.

    Two parameters do not need a library (scikit-learn pulls in SciPy, which
    was measured to slow the sentence encoder 150x in the same environment).
    The standardised slope carries a small ridge penalty (as LogisticRegression's
    C=1), so a perfectly separable sample still gives a finite answer.
    """
    mean, scale = float(np.average(x, weights=w)), float(np.sqrt(np.average((x - np.average(x, weights=w)) ** 2,
                                                                            weights=w))) or 1.0
    z = (x - mean) / scale
    design = np.stack([z, np.ones_like(z)], axis=1)
    beta = np.zeros(2)
    penalty = np.diag([ridge, 0.0])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(design @ beta, -50, 50)))
        grad = design.T @ (w * (p - y)) + penalty @ beta
        hess = (design * (w * p * (1 - p))[:, None]).T @ design + penalty + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    slope = float(beta[0] / scale)
    return slope, float(beta[1] - slope * mean)


def calibrate(folder: Path, articles: list, talk: np.ndarray) -> Calibration | None:
    """Fit the calibration of the index in folder and save it there (None, and no file, when it cannot).

    articles: the indexed articles; talk: the encoder's vectors of ranking.SMALL_TALK.
    """
    from .search import Searcher

    vectors = ArticleVectors.load(folder)
    if vectors is None:
        return None
    by_id = {a.id: a for a in articles}
    searcher = Searcher(folder, semantic=False)
    try:
        terms = ArticleTerms([by_id[i] for i in vectors.ids], searcher.lexicon())
        X, y, w = sample(vectors, vectors.project(talk), terms, list(ranking.SMALL_TALK),
                         np.random.default_rng(SEED))
    finally:
        searcher.close()
    calibration = fit(X, y, w)
    if calibration is not None:
        calibration.save(folder)
    else:
        (Path(folder) / CALIBRATION).unlink(missing_ok=True)
    return calibration
