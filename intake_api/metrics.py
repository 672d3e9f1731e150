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

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from kb_builder.redact import Redactor

from . import recurring as recurring_mod
from .alerts import TermWeights
from .learning import PASSED
from .models import Alert, AnalyticsEvent, Complaint, Deflection, FollowUp, Phrasing

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

    def previous(self, zone: ZoneInfo) -> Period:
        """The quarter before this one (the review looks back at what was decided then)."""
        first = self.start.astimezone(zone)
        q = (first.month - 1) // 3 + 1
        return Period.quarter(f"{first.year - 1}Q4" if q == 1 else f"{first.year}Q{q - 1}", zone)

    def months(self, zone: ZoneInfo) -> list[str]:
        first = self.start.astimezone(zone)
        return [f"{first.year}-{first.month + i:02d}" for i in range(3)]


def _in(period: Period, column):
    return (column >= period.start) & (column < period.end)


def count_by(session: Session, period: Period, column) -> dict[str, int]:
    """Complaints received in the period, grouped by one column (category, level, channel, team)."""
    rows = session.execute(select(column, func.count()).where(_in(period, Complaint.received_at))
                           .group_by(column).order_by(func.count().desc(), column)).all()
    return {str(k): n for k, n in rows}


def by_department(session: Session, period: Period) -> dict[str | None, int]:
    """Complaints received in the period by the department complained about (None: not recorded).

    Never the complainant's own department: that is identity (encrypted), and it says who complains,
    not who is complained about. The caller merges groups under the minimum (privacy.suppress_small).
    """
    return {k: n for k, n in session.execute(
        select(Complaint.about_department, func.count()).where(_in(period, Complaint.received_at))
        .group_by(Complaint.about_department).order_by(func.count().desc(), Complaint.about_department)).all()}


def department_trend(session: Session, period: Period, zone: ZoneInfo) -> dict[str | None, dict[str, int]]:
    """Complaints per department complained about and per local month of the period (only two columns read)."""
    months = period.months(zone)
    out: dict[str | None, dict[str, int]] = {}
    for dept, received in session.execute(select(Complaint.about_department, Complaint.received_at)
                                          .where(_in(period, Complaint.received_at))):
        row = out.setdefault(dept, dict.fromkeys(months, 0))
        month = received.astimezone(zone).strftime("%Y-%m")
        if month in row:
            row[month] += 1
    return out


def as_of(period: Period, now: dt.datetime | None = None) -> dt.datetime:
    """The moment the review's clocks are read at: the period's end, or now while the period runs."""
    return min(period.end, now or dt.datetime.now(dt.UTC))


def sla(session: Session, period: Period, now: dt.datetime | None = None) -> dict:
    """Every time limit (timeliness.py), resolution, and how many breaches, as of the report's end date."""
    from . import timeliness
    cutoff = as_of(period, now)
    total, resolved = session.execute(select(
        func.count(), func.sum(case((Complaint.resolved_at.is_not(None) & (Complaint.resolved_at < cutoff), 1), else_=0)))
        .where(_in(period, Complaint.received_at))).one()
    limits = timeliness.limits(session, period, cutoff)
    breach_count = sum(r["late"] for r in limits if r["level"] is None)  # every breach is one limit's "late"
    return {"total": total, "resolved": int(resolved or 0), "as_of": cutoff, "limits": limits,
            "breach_count": breach_count}


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
    """Deflection rate = deflections / (deflections + complaints submitted online), overall and per month.

    Beside it, false deflections: those followed within 7 days by a complaint from the same browser
    (learning.py); `honest_rate` counts them as complaints, not deflections.
    """
    defl = [d for (d,) in session.execute(select(Deflection.created_at).where(_in(period, Deflection.created_at)))]
    false = session.scalar(select(func.count()).select_from(Deflection).where(
        _in(period, Deflection.created_at), Deflection.contradicted_at.is_not(None))) or 0
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
            "rate": round(len(defl) / total, 3) if total else None, "trend": trend, "false_deflections": false,
            "honest_rate": round((len(defl) - false) / total, 3) if total else None}


def per_article(session: Session, period: Period) -> list[dict]:
    """Per article: what use says about it (learning.py's signals, counted), most deflections first.

    deflections: "this solved it" clicks, and `false_deflections` of them followed by a complaint from the
    same browser; led_to: distinct phrasings that led to it (the clicks' queries and handlers' links);
    led_past: complaints submitted with it on screen; votes and helpful: "was this helpful?".
    Counts only: the phrasings themselves are on the article's page in the workspace, for HR.
    """
    defl: Counter[str] = Counter()
    false: Counter[str] = Counter()
    led_to: dict[str, set[str]] = defaultdict(set)
    for article, query, contradicted in session.execute(select(
            Deflection.article_id, Deflection.query, Deflection.contradicted_at).where(_in(period, Deflection.created_at))):
        defl[article] += 1
        false[article] += contradicted is not None
        if (query or "").strip():
            led_to[article].add(" ".join(query.split()).casefold())
    for article, text in session.execute(select(Phrasing.article_id, Phrasing.text).where(
            _in(period, Phrasing.created_at), Phrasing.complaint_id.is_not(None), Phrasing.text != "",
            Phrasing.status != "rejected")):
        led_to[article].add(" ".join(text.split()).casefold())
    votes: dict[str, list[int]] = defaultdict(list)
    passed: Counter[str] = Counter()
    for kind, page, value, ids in session.execute(select(
            AnalyticsEvent.kind, AnalyticsEvent.page, AnalyticsEvent.value, AnalyticsEvent.article_ids).where(
            _in(period, AnalyticsEvent.created_at), AnalyticsEvent.kind.in_(("page_feedback", PASSED)))):
        if kind == PASSED:
            passed.update(set(ids or []))
            continue
        path = (page or "").rstrip("/")
        slug = path.rsplit("/", 1)[-1]
        votes[f"sop-{slug}" if path.startswith("/sop/") else slug].append(value or 0)
    ids = set(defl) | set(votes) | set(led_to) | set(passed)
    rows = [{"article": a, "deflections": defl[a], "false_deflections": false[a], "led_to": len(led_to.get(a, ())),
             "led_past": passed[a], "votes": len(votes.get(a, [])),
             "helpful": round(sum(votes[a]) / len(votes[a]), 2) if votes.get(a) else None} for a in ids]
    return sorted(rows, key=lambda r: (-r["deflections"], -r["led_past"], -r["led_to"], -r["votes"], r["article"]))


def content_gaps(session: Session, period: Period, top: int = 10, redactor: Redactor | None = None) -> dict:
    """What people looked for and did not find: searches with no result, complaints with no suggestion.

    A complaint counts when no confident suggestion was on screen at submit (the form says so); from a
    client that does not say, when it reports none shown.

    Search texts are redacted when stored (events.py); they pass the redactor again here, so texts stored
    before a redactor improvement never reach the review with a name in them.
    """
    red = redactor or Redactor()
    searches = Counter(red.redact(q.strip())[0].lower() for (q,) in session.execute(select(AnalyticsEvent.query).where(
        _in(period, AnalyticsEvent.created_at), AnalyticsEvent.kind == "search", AnalyticsEvent.result_count == 0,
        AnalyticsEvent.query.is_not(None))) if q)
    # json_array_length: the same function in SQLite and PostgreSQL; no complaint leaves the database.
    nothing_shown = func.coalesce(func.json_array_length(Complaint.shown_articles), 0) == 0
    gap = or_(Complaint.confident_at_submit.is_(False), and_(Complaint.confident_at_submit.is_(None), nothing_shown))
    unanswered = Counter(dict(session.execute(
        select(Complaint.category, func.count()).where(
            _in(period, Complaint.received_at), Complaint.channel.in_(ONLINE), Complaint.purged_at.is_(None), gap)
        .group_by(Complaint.category)).all()))
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
