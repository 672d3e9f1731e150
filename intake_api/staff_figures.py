"""The duty staff's KPIs (the SOP's 考核): per team and per handler, in grouped SQL queries.

Open load, response and resolution times, on-time share over every limit, reopen rate, and satisfaction
with the complainant's own rating and the score staff recorded at 回访 kept apart. Who may read them is
the desk's decision (Desk.staff_figures): admins all, a team lead their own team, nobody else.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from . import timeliness
from .models import Complaint, ComplaintEvent, FollowUp, UTCDateTime


def _received(period) -> Any:
    return (Complaint.received_at >= period.start) & (Complaint.received_at < period.end)


def figures(session: Session, period, as_of: dt.datetime, by) -> dict[Any, dict[str, Any]]:
    """{group value: figures} for complaints received in the period, `by` a column (team, handler_id)."""
    cutoff = literal(as_of, UTCDateTime())
    resolved = Complaint.resolved_at.is_not(None) & (Complaint.resolved_at < cutoff)
    out: dict[Any, dict[str, Any]] = {}
    for key, n, still_open, done, rated, rating in session.execute(
            select(by, func.count(), func.sum(case((resolved, 0), else_=1)), func.sum(case((resolved, 1), else_=0)),
                   func.count(Complaint.rating), func.avg(Complaint.rating))
            .where(_received(period)).group_by(by)):
        out[key] = {"complaints": n, "open": int(still_open or 0), "resolved": int(done or 0),
                    "resolution_rate": (done or 0) / n if n else None,
                    "rating_count": rated, "rating_average": round(float(rating), 2) if rating is not None else None,
                    "recorded_count": 0, "recorded_average": None, "reopened": 0, "reopen_rate": None,
                    "on_time": None, "limits_due": 0, "limits_late": 0,
                    "median_response_hours": None, "median_resolution_hours": None}
    for key, count, avg in session.execute(
            select(by, func.count(FollowUp.score), func.avg(FollowUp.score))
            .join(Complaint, Complaint.id == FollowUp.complaint_id).where(_received(period)).group_by(by)):
        if key in out:
            out[key]["recorded_count"] = count
            out[key]["recorded_average"] = round(float(avg), 2) if avg is not None else None
    reopened = (select(ComplaintEvent.complaint_id).where(ComplaintEvent.action == "status",
                                                          ComplaintEvent.to_value == "reopened")
                .distinct().scalar_subquery())
    for key, count in session.execute(select(by, func.count()).where(_received(period), Complaint.id.in_(reopened))
                                      .group_by(by)):
        if key in out:
            out[key]["reopened"] = count
    for key, acc in timeliness.grouped(session, period, as_of, by).items():
        if key in out:
            measured = acc["in_time"] + acc["late"]
            out[key].update(limits_due=acc["due"], limits_late=acc["late"],
                            on_time=acc["in_time"] / measured if measured else None)
    for name, done in (("median_response_hours", Complaint.first_responded_at),
                       ("median_resolution_hours", Complaint.resolved_at)):
        hours: dict[Any, list[float]] = defaultdict(list)
        for key, h in session.execute(select(by, timeliness.hours_between(done, Complaint.received_at))
                                      .where(_received(period), done.is_not(None), done < cutoff)):
            hours[key].append(float(h))
        for key, values in hours.items():
            if key in out:
                out[key][name] = timeliness.percentile(values, 0.5)
    for row in out.values():
        row["reopen_rate"] = row["reopened"] / row["resolved"] if row["resolved"] else None
    return out
