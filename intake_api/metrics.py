"""The figures of the quarterly review, each one a named query over the database.

Every function takes a session and a Period and returns plain data, so each
number in a report can be traced to the function (and query) that made it.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb_builder.redact import Redactor

from . import recurring as recurring_mod
from .alerts import TermWeights
from .models import Alert, AnalyticsEvent, Complaint, Deflection, FollowUp
from .privacy import suppress_small

ONLINE = ("online_form", "anonymous_platform")


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.datetime  # inclusive, UTC
    end: dt.datetime    # exclusive, UTC

    @classmethod
    def quarter(cls, text: str, zone: ZoneInfo) -> Period:
        m = re.fullmatch(r"(\d{4})Q([1-4])", text.strip().upper())
        if not m:
            raise ValueError(f"quarter '{text}': write it as YYYYQn, e.g. 2026Q4")
        year, q = int(m.group(1)), int(m.group(2))
        if not 1970 <= year <= 9998:  # no complaint exists outside; year 1 would overflow in UTC
            raise ValueError(f"quarter '{text}': the year must be between 1970 and 9998")
        start = dt.datetime(year, 3 * q - 2, 1, tzinfo=zone)
        end = dt.datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=zone)
        return cls(f"{year}Q{q}", start.astimezone(dt.UTC), end.astimezone(dt.UTC))

    def months(self, zone: ZoneInfo) -> list[str]:
        first = self.start.astimezone(zone)
        return [f"{first.year}-{first.month + i:02d}" for i in range(3)]


def _in(period: Period, column):
    return (column >= period.start) & (column < period.end)


def count_by(session: Session, period: Period, column) -> dict[str, int]:
    """Complaints received in the period, grouped by one column (category, level, channel, team)."""
    rows = session.execute(select(column, func.count()).where(_in(period, Complaint.received_at))
                           .group_by(column).order_by(func.count().desc())).all()
    return {str(k): n for k, n in rows}


def by_department(session: Session, period: Period, k: int) -> dict[str, int]:
    """Complaints by the complainant's department, groups under k merged (anonymous ones apart)."""
    counts: Counter[str] = Counter()
    for c in session.scalars(select(Complaint).where(_in(period, Complaint.received_at))):
        counts[c.department or ("匿名 · anonymous" if c.disclosure == "anonymous" else "未填 · not given")] += 1
    return suppress_small(dict(counts), k)


@dataclass
class SlaFigures:
    total: int
    first_response_measured: int
    first_response_in_time: int
    result_measured: int
    result_in_time: int
    resolved: int
    median_first_response_hours: float | None
    median_resolution_hours: float | None
    breaches: list[tuple[str, str, str]]  # (number, which limit, how late)
    by_level: dict[int, tuple[int, int]]   # level -> (in time, late) for first response


def sla(session: Session, period: Period) -> SlaFigures:
    """First response and result against their due dates; resolution rate and times."""
    rows = session.scalars(select(Complaint).where(_in(period, Complaint.received_at))).all()
    first = [(c, c.first_responded_at <= c.first_response_due_at) for c in rows
             if c.first_responded_at and c.first_response_due_at]
    result = [(c, c.resolved_at <= c.result_due_at) for c in rows if c.resolved_at and c.result_due_at]
    breaches = [(c.number, "first_response", f"{_hours(c.first_responded_at, c.first_response_due_at):.0f} h")
                for c, ok in first if not ok]
    breaches += [(c.number, "result", f"{_hours(c.resolved_at, c.result_due_at):.0f} h")
                 for c, ok in result if not ok]
    by_level: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for c, ok in first:
        by_level[c.level][0 if ok else 1] += 1
    fr_hours = [_hours(c.first_responded_at, c.received_at) for c, _ in first]
    res_hours = [_hours(c.resolved_at, c.received_at) for c in rows if c.resolved_at]
    return SlaFigures(
        total=len(rows), first_response_measured=len(first), first_response_in_time=sum(ok for _, ok in first),
        result_measured=len(result), result_in_time=sum(ok for _, ok in result),
        resolved=sum(c.status in ("resolved", "closed") for c in rows),
        median_first_response_hours=round(statistics.median(fr_hours), 1) if fr_hours else None,
        median_resolution_hours=round(statistics.median(res_hours), 1) if res_hours else None,
        breaches=breaches, by_level={k: (v[0], v[1]) for k, v in sorted(by_level.items())})


def _hours(later: dt.datetime | None, earlier: dt.datetime | None) -> float:
    """Hours between two moments the caller has already checked are both set."""
    assert later is not None and earlier is not None
    return (later - earlier).total_seconds() / 3600


def satisfaction(session: Session, period: Period) -> dict:
    """Ratings complainants gave to complaints received in the period; apart, what staff recorded at 回访.

    A score a handler wrote down on the complainant's behalf is not the complainant's own: the two are
    never averaged together.
    """
    ratings = [r for (r,) in session.execute(select(Complaint.rating).where(
        _in(period, Complaint.received_at), Complaint.rating.is_not(None))) if r is not None]
    recorded = [r for (r,) in session.execute(select(FollowUp.score).join(Complaint, Complaint.id == FollowUp.complaint_id)
                                              .where(_in(period, Complaint.received_at), FollowUp.score.is_not(None)))
                if r is not None]
    return {"count": len(ratings), "average": round(statistics.mean(ratings), 2) if ratings else None,
            "distribution": {s: ratings.count(s) for s in range(1, 6)},
            "staff_recorded": {"count": len(recorded),
                               "average": round(statistics.mean(recorded), 2) if recorded else None}}


def deflection(session: Session, period: Period, zone: ZoneInfo) -> dict:
    """Deflection rate = deflections / (deflections + complaints submitted online), overall and per month."""
    defl = [d for (d,) in session.execute(select(Deflection.created_at).where(_in(period, Deflection.created_at)))]
    comp = [c for (c,) in session.execute(select(Complaint.received_at).where(
        _in(period, Complaint.received_at), Complaint.channel.in_(ONLINE)))]
    months = period.months(zone)
    month = lambda t: t.astimezone(zone).strftime("%Y-%m")  # noqa: E731
    trend = {}
    for m in months:
        d, c = sum(month(t) == m for t in defl), sum(month(t) == m for t in comp)
        trend[m] = {"deflections": d, "complaints": c, "rate": round(d / (d + c), 3) if d + c else None}
    total = len(defl) + len(comp)
    return {"deflections": len(defl), "complaints": len(comp),
            "rate": round(len(defl) / total, 3) if total else None, "trend": trend}


def per_article(session: Session, period: Period) -> list[dict]:
    """Deflections and "was this helpful?" votes per article, most deflections first."""
    defl = dict(session.execute(select(Deflection.article_id, func.count()).where(
        _in(period, Deflection.created_at)).group_by(Deflection.article_id)).all())
    votes: dict[str, list[int]] = defaultdict(list)
    for page, value in session.execute(select(AnalyticsEvent.page, AnalyticsEvent.value).where(
            _in(period, AnalyticsEvent.created_at), AnalyticsEvent.kind == "page_feedback")):
        slug = (page or "").rstrip("/").rsplit("/", 1)[-1]
        votes[slug].append(value or 0)
    ids = set(defl) | set(votes)
    rows = [{"article": a, "deflections": defl.get(a, 0), "votes": len(votes.get(a, [])),
             "helpful": round(sum(votes[a]) / len(votes[a]), 2) if votes.get(a) else None} for a in ids]
    return sorted(rows, key=lambda r: (-r["deflections"], -r["votes"], r["article"]))


def content_gaps(session: Session, period: Period, top: int = 10, redactor: Redactor | None = None) -> dict:
    """What people looked for and did not find: searches with no result, complaints with no suggestion.

    Search texts are redacted when stored (events.py); they pass the redactor again here, so texts stored
    before a redactor improvement never reach the review with a name in them.
    """
    red = redactor or Redactor()
    searches = Counter(red.redact(q.strip())[0].lower() for (q,) in session.execute(select(AnalyticsEvent.query).where(
        _in(period, AnalyticsEvent.created_at), AnalyticsEvent.kind == "search", AnalyticsEvent.result_count == 0,
        AnalyticsEvent.query.is_not(None))) if q)
    unanswered: Counter[str] = Counter()
    for c in session.scalars(select(Complaint).where(_in(period, Complaint.received_at),
                                                     Complaint.channel.in_(ONLINE))):
        if not c.shown_articles and c.purged_at is None:
            unanswered[c.category] += 1
    return {"searches": searches.most_common(top), "complaints_without_match": dict(unanswered.most_common())}


def recurring(session: Session, period: Period, weights: TermWeights, threshold: float = 0.3,
              min_size: int = 3) -> list[dict]:
    """Groups of similar complaints in the same category: the same problem coming back (recurring.py)."""
    by_cat: dict[str, list[recurring_mod.Text]] = defaultdict(list)
    for number, category, description in session.execute(
            select(Complaint.number, Complaint.category, Complaint.description)
            .where(_in(period, Complaint.received_at), Complaint.purged_at.is_(None)).order_by(Complaint.id)):
        by_cat[category].append(recurring_mod.Text(number, description))
    idf = weights.idf_table()
    groups = [{"category": cat, "count": len(g), "example": g[0].text[:60], "complaints": [t.key for t in g]}
              for cat, texts in by_cat.items()
              for g in recurring_mod.group(texts, idf, threshold, min_size)]
    return sorted(groups, key=lambda g: -g["count"])


def alerts(session: Session, period: Period) -> list[dict]:
    return [{"kind": a.kind, "category": a.category, "message": a.message, "complaints": len(a.complaint_ids)}
            for a in session.scalars(select(Alert).where(_in(period, Alert.created_at)).order_by(Alert.id))]
