"""Recognise danger, hygiene, harassment, discrimination, retaliation and misconduct however it is written.

A word list alone misses most real wording (电梯困人了, "he groped me") and
alarms on look-alikes (火锅, "smoking area"). So two signals are combined:

- **Meaning**: a logistic regression (scikit-learn) learnt at load time
  from HR's example phrasings of each kind and of ordinary near-misses
  (`content/recognise.yml`), over the product's sentence vector of the text
  (encoder.py), how close the text is to the nearest examples of each kind
  and of the near-misses, and its words. The nearest example of the kind
  found is part of the reason staff see. The threshold is chosen when the
  model is learnt, by cross-validation on the examples file alone
  (`choose_threshold`), never on a labelled benchmark set.
- **Words**: whole words (the index's own analysis, so 火 is not in 火锅)
  that are enough on their own, unless a negation governs them in the same
  clause (没有人受伤, but not 有没有人受伤 or 没多久就着火了) or they sit
  inside an ignored phrase (吸烟区, fire drill).

Long texts are also read clause by clause, because the encoder reads a
whole text as one meaning and a single sentence of harassment in a long
complaint about workload would be averaged away.

Nothing here imports intake_api: the API, `kb check` and the benchmark use
the same `Recogniser`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import recognise_store, yamlsrc
from .analysis import to_simplified, tokens
from .encoder import DIMENSIONS, get_encoder
from .errors import ContentError, Problem

KINDS = ("danger", "hygiene", "harassment", "discrimination", "retaliation", "misconduct")
# The encoder reads the start of a text (search.MAX_EMBED_CHARS); the same cut keeps its cache shared.
MAX_EMBED_CHARS = 500
_CLAUSE = re.compile(r"[。！？!?；;\n]+|(?<=[a-z])\.\s+|，(?=.{6,})")
# Where a negation stops counting: a clause ends, or the sentence turns (没多久就着火了, no one came but he is bleeding).
_SCOPE_END = re.compile(r"[，,。.!?！？；;:：\n]|\b(?:but|then|until|and)\b|但|却|可是|结果|就|才")
# 没 and 无 inside a word that is no negation (淹没, 出没), or asking (有没有人受伤, 是不是, 会不会, 有无).
_NOT_NEGATION_BEFORE = "有是会能要淹埋出沉吞覆"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KindRule(_Strict):
    """One kind of matter that must reach a person, as HR describes it."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    # Urgent: level 1 at once, the SLA of safety (content/sops/safety-emergencies.md).
    urgent: bool = False
    # Show the emergency contact on the form and in the receipt.
    emergency_contact: bool = False
    # The team that handles it; must be one of process.teams in kb.yml.
    team: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    words: list[str] = []
    # Phrases matched as they stand (script, width and case folded), for wording
    # the tokeniser splits differently by context: 关在里面, smell of gas.
    phrases: list[str] = []
    examples: list[str] = Field(min_length=3)

    @field_validator("words", "phrases", "examples")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not str(v).strip() for v in value):
            raise ValueError("an entry is empty")
        return [str(v) for v in value]


class RecogniseFile(_Strict):
    kinds: dict[str, KindRule]
    ordinary: list[str] = Field(min_length=10)
    ignore: list[str] = []
    negations: list[str] = []
    # A word after one of these in the same clause does not count when the text
    # asks something (one of `questions` occurs): 万一着火了，从哪个楼梯走？ asks
    # the procedure, it reports no fire. Outside a question it still counts:
    # 通道堵死了，万一着火根本跑不出去 is a hazard report. The meaning still reads both.
    hypotheticals: list[str] = []
    questions: list[str] = []
    # An urgent kind (danger, hygiene) does not count, by words or by meaning,
    # when the text asks about a finished event: it holds one of `past`, a
    # question, and none of `ongoing` (去年被烫伤的医药费还能报吗？, the gas leak
    # last year was fixed, who do I call next time?). Urgent means now; a
    # question about last year's fire needs an answer, not the duty desk. The
    # people matters still count in the past tense (去年他摸过我，我该找谁？).
    past: list[str] = []
    ongoing: list[str] = []
    # Latin phrases match with up to two of these between their words, so
    # "smoke coming out" also finds "smoke is still coming out".
    fillers: list[str] = []
    # Meaning: a text is of a kind when the model's probability for the kind
    # (and its group: danger, hygiene, the people matters) reaches the
    # threshold. Left out (the default), it is chosen when the model is
    # learnt, by cross-validation on this file alone: the lowest at which at
    # most `false_alarms` of the ordinary examples (HR's near-misses) alarm
    # (choose_threshold; benchmarks/sensitivity.py --cv prints the curve).
    threshold: float | None = Field(default=None, gt=0, lt=1)
    false_alarms: float = Field(default=0.06, gt=0, lt=1)
    # While typing, suggestions are withheld (no articles, no panel yet) when the
    # probability of harassment, discrimination, retaliation or misconduct
    # reaches this: a half-typed 我的主管经… must not flash FAQ articles first.
    hold: float = Field(default=0.2, gt=0, lt=1)
    # Inverse regularisation of the model (larger: follows the examples more closely).
    strength: float = Field(default=16.0, gt=0, le=1000)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: dict) -> dict:
        unknown = [k for k in value if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {', '.join(unknown)} (use {', '.join(KINDS)})")
        if not value:
            raise ValueError("list at least one kind")
        return value


def load_rules(path: Path) -> RecogniseFile:
    """Read and validate the examples file; every problem names its line."""
    if not path.is_file():
        raise ContentError([Problem(path, "file not found",
                                    fix="create it (see content/recognise.yml in the sample) or set paths.recognise in kb.yml")])
    try:
        data, lines = yamlsrc.load(path.read_text(encoding="utf-8"), path)
    except yamlsrc.YamlSyntaxError as exc:
        raise ContentError([exc.problem]) from None
    try:
        return RecogniseFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ContentError(yamlsrc.validation_problems(exc, path, lines)) from None


@dataclass(frozen=True)
class Verdict:
    """What the recogniser decided about one text, and why (stored with the complaint)."""

    kind: str | None                 # None: ordinary
    reason: str = ""
    words: tuple[str, ...] = ()
    score: float | None = None       # the model's probability for `kind` (its group); ordinary: the people group
    rule: KindRule | None = field(default=None, compare=False)

    @property
    def sensitive(self) -> bool:
        return self.kind is not None

    @property
    def urgent(self) -> bool:
        return self.rule is not None and self.rule.urgent

    def hold(self, threshold: float) -> bool:
        """Not recognised, but close enough that suggestions should wait for more text."""
        return self.kind is None and self.score is not None and self.score >= threshold

    @property
    def emergency(self) -> bool:
        return self.rule is not None and self.rule.emergency_contact

    def as_dict(self) -> dict:
        return {"kind": self.kind, "reason": self.reason, "words": list(self.words),
                "score": None if self.score is None else round(self.score, 3)}


def _fold(text: str) -> str:
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def _longest_first(phrase: str) -> tuple[int, str]:
    """Longest first, then alphabetical: the same order in every process (a set's order is not)."""
    return -len(phrase), phrase


@lru_cache(maxsize=4096)
def _word_terms(word: str) -> frozenset[str]:
    return frozenset(tokens(word))


class Recogniser:
    """The rules of one examples file and the model learnt from its examples (once per process)."""

    def __init__(self, rules: RecogniseFile, encoder=None, store: Path | None = None):
        """store: a folder where the learnt model is kept between processes (recognise_store.py); None: learn."""
        self.rules = rules
        self.kinds = list(rules.kinds)
        self._urgent = frozenset(i for i, k in enumerate(self.kinds) if rules.kinds[k].urgent)
        self._ignore = sorted({_fold(p) for p in rules.ignore}, key=_longest_first)
        fillers = sorted({_fold(f) for f in rules.fillers}, key=_longest_first)
        self._phrases = {kind: [(p, _phrase_pattern(_fold(p), fillers)) for p in rule.phrases]
                         for kind, rule in rules.kinds.items()}
        neg = sorted({_fold(n) for n in rules.negations}, key=_longest_first)
        # Latin negations are whole words ("no" is not in "another"); CJK ones not inside a word or a question.
        alternatives = "|".join(_negation_pattern(n) for n in neg)
        self._negation = re.compile(r"(?:" + alternatives + r")(?:\s*\S{0,3}){0,2}\s*$") if neg else None
        self._hypothetical = _any_of(rules.hypotheticals)
        self._question = _any_of(rules.questions)
        self._past = _any_of(rules.past)
        self._ongoing = _any_of(rules.ongoing)
        self.encoder = encoder if encoder is not None else get_encoder()
        texts, labels = [], []
        for kind, rule in rules.kinds.items():
            texts += rule.examples
            labels += [self.kinds.index(kind)] * len(rule.examples)
        texts += rules.ordinary
        labels += [-1] * len(rules.ordinary)
        self._texts = texts
        self._labels = np.array(labels)
        self._model: Model | None = None
        self._groups = [tuple(self.kinds.index(k) for k in g) for g in _groups(self.kinds)]
        self.thresholds: dict[tuple[int, ...], float] = {g: rules.threshold or 0.5 for g in self._groups}
        self._example_vectors: np.ndarray | None = None
        if self.encoder is not None:
            # What is learnt depends on these alone: one name for it in this process and in the store.
            name = recognise_store.key({"texts": texts, "labels": labels, "strength": rules.strength,
                                        "ignore": self._ignore, "threshold": rules.threshold,
                                        "false_alarms": rules.false_alarms,
                                        "encoder": getattr(self.encoder, "name", type(self.encoder).__name__)})
            key = (id(self.encoder), name)
            if _MODELS.get("key") != key:  # every app (and test) of a process shares one fit
                _MODELS.update(key=key, **self._learnt(store, name))
            self._model = _MODELS["model"]
            self._example_vectors = self._model.examples.T
            self.thresholds = {g: _MODELS["threshold"] for g in self._groups}

    def _learnt(self, store: Path | None, name: str) -> dict:
        """The model and threshold: read from the store when these rules were learnt before, else learnt (and kept)."""
        stored = recognise_store.load(store, name)
        if stored is not None:
            return {"model": Model.from_arrays(stored), "threshold": float(stored["threshold"])}
        model = Model.fit(self, self._vectors, self._texts, self._labels)
        threshold = self.rules.threshold or choose_threshold(self)
        recognise_store.save(store, name, {**model.arrays(), "threshold": np.array(threshold)})
        return {"model": model, "threshold": threshold}

    @property
    def _vectors(self) -> np.ndarray:
        """The examples' sentence vectors (ignored phrases are invisible to the meaning too: 'gas lift' is no lift)."""
        if self._example_vectors is None:
            self._example_vectors = _encode_examples(
                self.encoder, tuple(to_simplified(self._masked(t)) for t in self._texts))
        return self._example_vectors

    # ------------------------------------------------------------ words
    def _masked(self, text: str) -> str:
        """text with its ignored phrases blanked out (text itself when it has none).

        Words, the model's words and the sentence vector all read this: an
        ignored phrase is invisible to the recogniser. Returning the very
        string search analyses lets both share the tokeniser's and the
        encoder's caches (analysis.tokens folds script and case itself).
        """
        folded = _fold(text)
        hits = [p for p in self._ignore if p in folded]
        if not hits:
            return text
        for phrase in hits:
            folded = folded.replace(phrase, " " * len(phrase))
        return folded

    def _negated(self, folded: str, starts: list[int]) -> bool:
        """Every occurrence of a word (its `starts`) is governed by a negation (没有人受伤, nobody was injured).

        The negation counts only within a few words before it and in the same
        clause: 没人管，有人被困 and 没多久就着火了 are not negated, nor is a
        question (有没有人受伤？).
        """
        if self._negation is None or not starts:
            return False
        return all(self._negation.search(_in_scope(folded[max(0, s - 16):s])) for s in starts)

    def _supposed(self, folded: str, starts: list[int]) -> bool:
        """The text asks a question and every occurrence of a word follows a hypothetical in its clause (万一着火了…哪个楼梯)."""
        if self._hypothetical is None or not starts or not self._asks(folded):
            return False
        return all(self._hypothetical.search(_in_scope(folded[max(0, s - 24):s])) for s in starts)

    def _asks(self, folded: str) -> bool:
        return self._question is not None and self._question.search(folded) is not None

    def _counts(self, folded: str, starts: list[int]) -> bool:
        """Neither negated nor supposed (a word that cannot be located, with no `starts`, counts)."""
        return not self._negated(folded, starts) and not self._supposed(folded, starts)

    def _retrospective(self, folded: str) -> bool:
        """The (masked, folded) text asks about a finished event (a `past` marker, a question, nothing `ongoing`):
        no urgent kind."""
        return (self._past is not None and self._past.search(folded) is not None and self._asks(folded)
                and (self._ongoing is None or self._ongoing.search(folded) is None))

    def words(self, text: str) -> dict[str, list[str]]:
        """The kinds whose words or phrases occur in text (not negated, outside ignored phrases)."""
        masked = self._masked(text)
        present = set(tokens(masked))
        folded = _fold(masked)
        retrospective = self._retrospective(folded)
        found: dict[str, list[str]] = {}
        for kind, rule in self.rules.kinds.items():
            if rule.urgent and retrospective:
                continue
            hits = [w for w in rule.words if _word_terms(w) and _word_terms(w) <= present
                    and self._counts(folded, _word_starts(folded, w))]
            for phrase, pattern in self._phrases[kind]:
                starts = [m.start() for m in pattern.finditer(folded)]
                if starts and self._counts(folded, starts):
                    hits.append(phrase)
            if hits:
                found[kind] = hits
        return found

    # ---------------------------------------------------------- meaning
    def _clauses(self, text: str) -> list[str]:
        """The sentences of a long text: one line of harassment in a long complaint still counts."""
        if len(text) < LONG_TEXT:
            return []
        parts = [p.strip() for p in _CLAUSE.split(text[:MAX_EMBED_CHARS]) if len(p.strip()) >= 6]
        return parts if len(parts) > 1 else []

    def meaning(self, text: str, thorough: bool = True) -> tuple[str | None, float, str]:
        """(kind or None, its probability, the nearest example of that kind).

        The whole text first (while typing: one encoding, which search then
        reuses from the encoder's cache), and on submit (`thorough`) each
        sentence of a long text too: a buried sentence of harassment in a long
        complaint is then caught at the latest when it is sent.

        The meaning reads the text without its ignored phrases. While typing,
        a text that has some is read as typed first (the vector search
        shares) and re-read without them only if that reading alarms: the
        suggest path pays a second encoding only to clear a look-alike
        ("the gas lift on my chair failed").
        """
        if self._model is None or self.encoder is None:
            return None, 0.0, ""
        masked = self._masked(text)
        skip = self._urgent if self._retrospective(_fold(masked)) else frozenset()
        reading = masked if thorough else text
        whole = self.encoder.encode_cached([to_simplified(reading[:MAX_EMBED_CHARS])])
        probs = self._model.probabilities(whole, [masked])
        best = self._best(probs, skip)
        if best[0] is not None and reading is not masked:
            whole = self.encoder.encode_cached([to_simplified(masked[:MAX_EMBED_CHARS])])
            probs = self._model.probabilities(whole, [masked])
            best = self._best(probs, skip)
        clauses = self._clauses(text) if best[0] is None and thorough else []
        if clauses:
            vectors = self.encoder.encode_cached([to_simplified(self._masked(c)) for c in clauses])
            more = self._best(self._model.probabilities(vectors, [self._masked(c) for c in clauses]), skip)
            if more[0] is not None:
                best, whole = more, vectors
        kind, prob, row = best
        if kind is None:
            # Undecided texts are held back only for the people matters (a half-typed
            # 我的主管经… must not flash articles); a half-typed 电梯按钮… keeps its suggestions.
            people = [i for i, k in enumerate(self.kinds) if k in PEOPLE]
            return None, float(probs[0][people].sum()), ""
        mine = np.flatnonzero(self._labels == self.kinds.index(kind))
        nearest = self._texts[int(mine[int(np.argmax(self._vectors[mine] @ whole[row]))])]
        return kind, prob, nearest

    def _best(self, probs: np.ndarray, skip: frozenset[int] = frozenset()) -> tuple[str | None, float, int]:
        """The most probable group reaching its threshold, over the rows: (kind, probability, row); none of `skip`."""
        best_kind, best_p, best_row = None, 0.0, 0
        for row, p in enumerate(probs):
            for group in self._groups:
                if set(group) <= skip:
                    continue
                total = float(sum(p[i] for i in group))
                if total >= self.thresholds[group] and total > best_p:
                    best_kind, best_p, best_row = self.kinds[max(group, key=lambda i: p[i])], total, row
        return best_kind, best_p, best_row

    # ---------------------------------------------------------- decision
    def recognise(self, text: str, category: str | None = None,
                  category_kinds: dict[str, str] | None = None, thorough: bool = True) -> Verdict:
        """The kind of matter text describes (None: ordinary), with the reason.

        thorough=False is the typing path (see `meaning`); submit reads thoroughly.
        """
        # Not stripped: the encoder's cache is keyed on the text as search reads it.
        text = text or ""
        blank = not text.strip()
        by_words = self.words(text) if not blank else {}
        kind, prob, nearest = self.meaning(text, thorough) if not blank else (None, 0.0, "")
        # Danger first: it needs the emergency contact whatever else the text says.
        order = sorted(set(by_words) | ({kind} if kind else set()), key=self.kinds.index)
        if order:
            chosen = order[0]
            reasons = []
            if chosen in by_words:
                reasons.append("words: " + ", ".join(by_words[chosen]))
            if chosen == kind:
                reasons.append(f"reads as {kind} ({prob:.2f}), like '{nearest}'")
            return Verdict(chosen, "; ".join(reasons), tuple(by_words.get(chosen, ())),
                           prob if chosen == kind else None, self.rules.kinds[chosen])
        if category and category_kinds and category in category_kinds:
            chosen = category_kinds[category]
            if chosen in self.rules.kinds:
                return Verdict(chosen, f"category {category}", (), None, self.rules.kinds[chosen])
        return Verdict(None, "", (), prob)


# Texts at least this long are also read sentence by sentence.
LONG_TEXT = 60
# Kinds decided together: their probabilities add up (all go to the same people).
PEOPLE = ("harassment", "discrimination", "retaliation", "misconduct")


def _groups(kinds: list[str]) -> list[tuple[str, ...]]:
    people = tuple(k for k in kinds if k in PEOPLE)
    return [(k,) for k in kinds if k not in PEOPLE] + ([people] if people else [])


def _negation_pattern(negation: str) -> str:
    """A negation as a pattern: a Latin one a whole word ("no" is not in "another"), a CJK one not in a word or question."""
    if not negation.isascii():
        return f"(?<![{_NOT_NEGATION_BEFORE}])" + re.escape(negation)
    lead = r"\b" if negation[0].isalnum() and "'" not in negation else ""
    return lead + re.escape(negation) + (r"\b" if negation[-1].isalnum() else "")


def _word_starts(folded: str, word: str) -> list[int]:
    """Where word occurs in folded text: as written, else (a Latin word in another form: sparked for sparks)
    where its first stem starts a word, so that a negation before it still governs it (it never sparked)."""
    starts = [m.start() for m in re.finditer(re.escape(_fold(word)), folded)]
    if starts or not word.isascii():
        return starts
    first = sorted(_word_terms(word), key=_fold(word).find)[:1]
    return [m.start() for stem in first for m in re.finditer(rf"\b{re.escape(stem)}\w*", folded)]


def _phrase_pattern(phrase: str, fillers: list[str]) -> re.Pattern[str]:
    """A folded phrase as it stands; a Latin one also with up to two fillers between its words ("smoke is coming out")."""
    words = phrase.split()
    if not fillers or len(words) < 2 or not phrase.isascii():
        return re.compile(re.escape(phrase))
    filler = "(?:" + "|".join(re.escape(f) for f in fillers) + ")"
    gap = rf"(?:['’]s)?\s+(?:{filler}\s+){{0,2}}"
    return re.compile(gap.join(re.escape(w) for w in words))


def _any_of(entries: list[str]) -> re.Pattern[str] | None:
    """One pattern for a list of markers: Latin ones whole words ("if" is not in "gift"), CJK ones anywhere."""
    parts = []
    for entry in sorted({_fold(e) for e in entries}, key=_longest_first):
        lead = r"\b" if entry[0].isascii() and entry[0].isalnum() else ""
        tail = r"\b" if entry[-1].isascii() and entry[-1].isalnum() else ""
        parts.append(lead + re.escape(entry) + tail)
    return re.compile("|".join(parts)) if parts else None


def _in_scope(before: str) -> str:
    """The end of `before` that a negation there would still govern: back to the clause's start or a turn."""
    ends = list(_SCOPE_END.finditer(before))
    return before[ends[-1].end():] if ends else before


# Nearest examples: the mean similarity of a class's NEAREST closest examples is one feature per class.
NEAREST = 3
FOLDS = 5
# Splits of the examples into folds that choose_threshold averages over: with one split, which near-miss
# lands in which fold moved the threshold by 0.04 when a single example was removed (CHANGELOG, issue 18).
REPEATS = 5
# The thresholds tried, lowest first (a lower one alarms more).
THRESHOLDS = tuple(round(0.2 + 0.01 * i, 2) for i in range(51))


def _nearest(sims: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """(n, classes): per class, the mean of the NEAREST highest similarities to its examples."""
    out = np.zeros((sims.shape[0], len(columns)))
    for c, cols in enumerate(columns):
        if cols.size:
            k = min(NEAREST, cols.size)
            out[:, c] = np.partition(sims[:, cols], cols.size - k, axis=1)[:, cols.size - k:].sum(axis=1) / k
    return out


def cross_validated(rec: Recogniser, folds: int = FOLDS, split: int = 0) -> np.ndarray:
    """(examples, kinds + 1): each example's probabilities from a model learnt on the other folds.

    Meaning alone (no word lists): how the examples file carries over to
    wording it does not contain. The folds of each `split` are fixed
    (seeded), so the same file always gives the same thresholds.
    """
    labels = rec._labels
    order = np.random.default_rng(18 + split).permutation(len(labels))
    fold_of = np.empty(len(order), int)
    fold_of[order] = np.arange(len(order)) % folds
    probs = np.zeros((len(labels), len(rec.kinds) + 1))
    for f in range(folds):
        train, test = fold_of != f, fold_of == f
        model = Model.fit(rec, rec._vectors[train], [t for t, m in zip(rec._texts, train) if m], labels[train])
        probs[test] = model.probabilities(rec._vectors[test], [rec._masked(t) for t, m in zip(rec._texts, test) if m])
    return probs


def cross_validated_runs(rec: Recogniser, repeats: int = REPEATS) -> list[np.ndarray]:
    """cross_validated over `repeats` different splits into folds."""
    return [cross_validated(rec, split=r) for r in range(repeats)]


def alarm_share(rec: Recogniser, probs: np.ndarray, threshold: float) -> float:
    """The share of the ordinary examples that alarm (any group) at threshold."""
    ordinary = probs[rec._labels < 0]
    alarms = np.zeros(len(ordinary), bool)
    for group in rec._groups:
        alarms |= ordinary[:, list(group)].sum(axis=1) >= threshold
    return float(alarms.mean())


def choose_threshold(rec: Recogniser, probs: np.ndarray | list[np.ndarray] | None = None) -> float:
    """The lowest threshold at which at most `false_alarms` of the ordinary examples alarm (any group).

    Cross-validated on the examples file alone (never on a labelled
    benchmark set), the share averaged over REPEATS splits into folds
    (`probs`: one split's or several splits' probabilities; None: computed).
    The ordinary examples are HR's near-misses, the texts most likely to be
    mistaken for a kind, so the share among everyday complaints is much
    lower. One threshold for every group: an alarm is an alarm, whichever
    group raised it, and one number moves steadily as HR adds examples
    (per-group optima jumped between neighbouring thresholds).
    """
    if probs is None:
        runs = cross_validated_runs(rec)
    else:
        runs = [probs] if isinstance(probs, np.ndarray) else list(probs)
    for threshold in THRESHOLDS:
        if np.mean([alarm_share(rec, run, threshold) for run in runs]) <= rec.rules.false_alarms:
            return threshold
    return THRESHOLDS[-1]


class Model:
    """Multinomial logistic regression (scikit-learn) over the sentence vector, the nearest examples and the words.

    The vector carries meaning across wording and languages; how close the
    nearest examples of each class are carries what a linear reading of the
    vector averages away (a chair that sinks is near HR's chair examples,
    not near a railing that gives way); the words (TF-IDF over the index's
    own analysis) carry the cues a vector blurs (摸, 骂, 困, groped). The
    classes are the kinds and `ordinary` (last).
    """

    def __init__(self, examples: np.ndarray, y: np.ndarray, vocabulary: dict[str, int], idf: np.ndarray,
                 dense_coef: np.ndarray, near_coef: np.ndarray, word_coef: np.ndarray, intercept: np.ndarray):
        # Inference in numpy: scikit-learn's input checks cost ~4 ms a call, the
        # arithmetic 0.05 ms, and the suggest path runs at every pause in typing.
        self.n_kinds = near_coef.shape[0] - 1
        self.examples = examples.astype(np.float32).T.copy()  # (DIMENSIONS, examples): one product per call
        self.y = y
        self.columns = [np.flatnonzero(y == c) for c in range(self.n_kinds + 1)]
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float64)
        self.dense_coef, self.near_coef, self.word_coef, self.intercept = dense_coef, near_coef, word_coef, intercept

    @classmethod
    def from_fit(cls, vectoriser, classifier, n_kinds: int, examples: np.ndarray, y: np.ndarray,
                 centre: np.ndarray) -> Model:
        coef = np.zeros((n_kinds + 1, classifier.coef_.shape[1]))
        intercept = np.zeros(n_kinds + 1)
        coef[classifier.classes_] = classifier.coef_
        intercept[classifier.classes_] = classifier.intercept_
        missing = np.setdiff1d(np.arange(n_kinds + 1), classifier.classes_)
        intercept[missing] = -1e9  # a kind without examples in this fit is never predicted
        near_coef = coef[:, DIMENSIONS:DIMENSIONS + n_kinds + 1].T.copy()
        return cls(examples, y, dict(vectoriser.vocabulary_), vectoriser.idf_, coef[:, :DIMENSIONS].T.copy(),
                   near_coef, coef[:, DIMENSIONS + n_kinds + 1:].T.copy(), intercept - centre @ near_coef)

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything inference reads, as plain arrays (recognise_store.py keeps them)."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {"examples": self.examples.T, "y": self.y, "vocabulary": np.array(terms, dtype=str),
                "idf": self.idf, "dense_coef": self.dense_coef, "near_coef": self.near_coef,
                "word_coef": self.word_coef, "intercept": self.intercept}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> Model:
        vocabulary = {str(term): j for j, term in enumerate(a["vocabulary"].tolist())}
        return cls(a["examples"], a["y"], vocabulary, a["idf"], a["dense_coef"], a["near_coef"], a["word_coef"],
                   a["intercept"])

    @classmethod
    def fit(cls, rec: Recogniser, vectors: np.ndarray, texts: list[str], labels: np.ndarray) -> Model:
        from scipy.sparse import csr_matrix, hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        vectoriser = TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
        words = vectoriser.fit_transform([rec._masked(t) for t in texts])
        y = np.where(labels < 0, len(rec.kinds), labels)
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -1.0)  # an example is not its own nearest example
        near = _nearest(sims, [np.flatnonzero(y == c) for c in range(len(rec.kinds) + 1)])
        centre = near.mean(axis=0)  # centred, the fit converges as fast as without them
        classifier = LogisticRegression(C=rec.rules.strength, max_iter=5000)
        classifier.fit(hstack([csr_matrix(vectors), csr_matrix(near - centre), words]).tocsr(), y)
        return cls.from_fit(vectoriser, classifier, len(rec.kinds), vectors, y, centre)

    def _word_scores(self, text: str) -> np.ndarray:
        """TF-IDF of text as the vectoriser computes it (sublinear tf, L2), times the word weights."""
        counts: dict[int, int] = {}
        for term in tokens(text):
            j = self.vocabulary.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(self.n_kinds + 1)
        idx = np.fromiter(counts, int, len(counts))
        values = (1 + np.log(np.fromiter(counts.values(), float, len(counts)))) * self.idf[idx]
        values /= np.linalg.norm(values)
        return values @ self.word_coef[idx]

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        """(n, kinds + 1): one probability per kind, then ordinary."""
        near = _nearest(vectors.astype(np.float32) @ self.examples, self.columns)
        vectors = vectors.astype(np.float64)
        logits = vectors @ self.dense_coef + self.intercept
        logits += near @ self.near_coef
        logits += np.stack([self._word_scores(t) for t in texts])
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


_EXAMPLES: dict = {}
_MODELS: dict = {}


def _encode_examples(encoder, texts: tuple[str, ...]) -> np.ndarray:
    """Example vectors, once per process and file content (every app and test reuses them)."""
    key = (id(encoder), texts)
    if key not in _EXAMPLES:
        _EXAMPLES.clear()
        _EXAMPLES[key] = encoder.encode(list(texts))
    return _EXAMPLES[key]
