"""Alerts staff must see at once: safety complaints, and the emergency rule of the safety SOP
(more than 5 complaints of a similar nature within 24 hours).

Similarity is measured with the search index: two complaint texts are
compared as sets of the knowledge base's own index terms (plus CJK character
pairs, so "3号楼" and "三号楼" still share "号楼"), each weighted by its
inverse document frequency in the knowledge-base index, so that shared rare
words ("停电", "电梯") count and everyday words ("问题", "坏") barely do.
Frequencies come from the published index, not from the window itself: in a
wave of outage complaints "停电" is common, which is exactly what must not
lower their similarity.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb_builder.analysis import normalize, tokens
from kb_builder.search import IndexTerms

from .i18n import gettext, stored
from .models import Alert, AlertLock, Complaint, utcnow

log = logging.getLogger("kb.alerts")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


class TermWeights:
    """IDF of index terms (counted by kb_builder.search), cached until the index is rebuilt."""

    def __init__(self, folder: Path | str):
        self.terms = IndexTerms(folder)
        self._idf: dict[str, float] = {}
        self._idf_of: int | None = None  # the index generation _idf was computed under
        self._norms: dict[str, float] = {}
        self._norms_of: int | None = None

    def norm_cache(self) -> dict[str, float]:
        """Per-text norms under the current index (emptied when the index changes)."""
        current = self.terms.counts().generation
        if self._norms_of != current or len(self._norms) > 50_000:
            self._norms, self._norms_of = {}, current
        return self._norms

    def idf_table(self) -> Callable[[str], float]:
        """A term -> IDF function over the index as it is now (one stat per comparison run)."""
        counts = self.terms.counts()
        if self._idf_of != counts.generation:
            self._idf, self._idf_of = {}, counts.generation
        cache, n = self._idf, counts.documents

        def idf(term: str) -> float:
            value = cache.get(term)
            if value is None:
                df = 0 if term.startswith("#") else counts.frequency(term)  # "#": a CJK pair, never indexed
                value = cache[term] = math.log((n + 1) / (df + 0.5)) + 1.0
            return value
        return idf


@lru_cache(maxsize=20_000)
def _features(text: str) -> frozenset[str]:
    pairs = {"#" + run[i:i + 2] for run in _CJK_RUN.findall(normalize(text)) for i in range(len(run) - 1)}
    return frozenset(tokens(text)) | pairs


def features(text: str) -> frozenset[str]:
    """Index terms plus CJK character pairs (cached: the window is compared again and again)."""
    return _features(text)


def similarity(a: frozenset[str], b: frozenset[str], idf) -> float:
    """IDF-weighted cosine of two term sets, 0..1."""
    if not a or not b:
        return 0.0
    shared = sum(idf(t) ** 2 for t in a & b)
    if not shared:
        return 0.0
    return shared / math.sqrt(sum(idf(t) ** 2 for t in a) * sum(idf(t) ** 2 for t in b))


def squared_weights(idf: Callable[[str], float]) -> Callable[[str], float]:
    """idf(term) ** 2, computed once per term: the cosine's sums call it for every term of every text."""
    squared: dict[str, float] = {}

    def w2(term: str) -> float:
        value = squared.get(term)
        if value is None:
            value = squared[term] = idf(term) ** 2
        return value
    return w2


def similar_complaints(c: Complaint, others: Iterable, threshold: float,
                       weights: TermWeights, enough: int | None = None) -> list[Complaint]:
    """The complaints among others whose description is similar to c's (stop after `enough`).

    The same cosine as `similarity`, computed the fast way: squared weights
    and each text's norm are cached, and texts sharing no term are skipped
    with one set intersection (a busy category has thousands a day).
    """
    w2 = squared_weights(weights.idf_table())
    norms: dict[str, float] = weights.norm_cache()

    def norm(text: str, terms: frozenset[str]) -> float:
        value = norms.get(text)
        if value is None:
            value = norms[text] = math.sqrt(sum(w2(t) for t in terms))
        return value

    mine = features(c.description)
    if not mine:
        return []
    my_norm = norm(c.description, mine)
    out = []
    for o in others:
        theirs = features(o.description)
        shared = mine & theirs
        if shared and sum(w2(t) for t in shared) / (my_norm * norm(o.description, theirs)) >= threshold:
            out.append(o)
            if enough is not None and len(out) >= enough:
                break
    return out


def _log(alert: Alert, numbers: list[str]) -> None:
    """Every alert is logged; who is told (e-mail, robots) is notify.plan_alert's, through the outbox."""
    log.warning(f"ALERT {alert.kind} category={alert.category} complaints={','.join(numbers)}: {alert.message}")


# Complaints read per query when looking for similar ones (see check_new_complaint).
WINDOW_PAGE = 100


def lock_category(session: Session, category: str) -> None:
    """Serialise wave checks of one category across workers, until the caller commits.

    An upsert on the category's row takes PostgreSQL's row lock (the other
    worker waits, then its next query sees the committed alert) and SQLite's
    write lock. It must be the transaction's first statement: a SQLite
    transaction that has already read cannot take the lock on a newer snapshot.
    """
    from sqlalchemy.dialects import postgresql, sqlite
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(AlertLock).values(key=category[:60], counter=1).on_conflict_do_update(
        index_elements=["key"], set_={"counter": AlertLock.counter + 1}))


def acknowledge(session: Session, alert: Alert, username: str, note: str) -> None:
    """Someone has taken the alert in hand; later complaints of the wave still join it."""
    note = (note or "").strip()
    if not note:
        raise ValueError(gettext("Say what is being done"))
    if alert.acknowledged_at is not None:
        raise ValueError(gettext("Already acknowledged by %(acknowledged_by)s", acknowledged_by=alert.acknowledged_by))
    alert.acknowledged_at, alert.acknowledged_by, alert.acknowledged_note = utcnow(), username, note


def check_new_complaint(session: Session, kb, c: Complaint, weights: TermWeights) -> list[Alert]:
    """Raise the alerts a just-registered complaint calls for; the caller commits.

    At most one emergency alert per wave, however many workers register its
    complaints at once (lock_category); later complaints join it.
    """
    raised = []
    lock_category(session, c.category)
    if c.safety_flag:
        alert = Alert(kind="safety", category=c.category, complaint_ids=[c.id], created_at=c.received_at,
                      message=stored("Urgent complaint %(number)s (%(value)s), set to level 1", number=c.number,
                                     value=c.recognised_kind or c.category))
        session.add(alert)
        raised.append((alert, [c.number]))
    rule = kb.process.emergency
    since = c.received_at - dt.timedelta(hours=rule.window_hours)
    # Only the columns compared: no identity is decrypted for this. Newest
    # first, a page at a time, and no further than the rule needs: in a wave
    # of a thousand similar complaints each new one reads one page, not all.
    similar: list = []
    before = None
    while len(similar) < rule.threshold:
        query = (select(Complaint.id, Complaint.number, Complaint.description)
                 .where(Complaint.category == c.category, Complaint.received_at >= since, Complaint.id != c.id)
                 .order_by(Complaint.id.desc()).limit(WINDOW_PAGE))
        if before is not None:
            query = query.where(Complaint.id < before)
        page = session.execute(query).all()
        similar += similar_complaints(c, page, rule.similarity, weights, enough=rule.threshold - len(similar))
        if len(page) < WINDOW_PAGE:
            break
        before = page[-1].id
    if len(similar) + 1 > rule.threshold:
        group = sorted([*similar, c], key=lambda x: x.id)
        ids = [x.id for x in group]
        existing = next((a for a in session.scalars(select(Alert).where(
            Alert.kind == "emergency", Alert.category == c.category, Alert.created_at >= since))
            if set(a.complaint_ids) & set(ids)), None)
        if existing is not None:
            # The same wave goes on: add to its alert rather than raise a new one.
            existing.complaint_ids = sorted(set(existing.complaint_ids) | set(ids))
        else:
            alert = Alert(kind="emergency", category=c.category, complaint_ids=ids, created_at=c.received_at,
                          message=stored("%(value)s similar complaints within %(window_hours)s hours: start the emergency plan",
                                         value=len(group), window_hours=rule.window_hours))
            session.add(alert)
            raised.append((alert, [x.number for x in group]))
    session.flush()
    for alert, numbers in raised:
        _log(alert, numbers)
    return [a for a, _ in raised]
