"""The quarterly review's figures at size: 50,000 complaints in one quarter, on SQLite (and PostgreSQL).

    python benchmarks/review.py                       # 50,000 complaints in a temporary SQLite file
    python benchmarks/review.py --complaints 10000 --url postgresql+psycopg://127.0.0.1/bench

Complaints are bulk-inserted with SQLAlchemy Core (registering 50,000 through the process would measure the
recogniser, not the review): random levels, teams, handlers, departments, due times and met times, a tenth
unmet, some reopened, rated and followed up. Then each figure of the review is timed: the honest time limits
(timeliness.limits), the complete breach list, the grouped figures by department, team and handler, the
counts and trends. metrics.recurring (being replaced by a near-linear version) is timed apart on a tenth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fill(url: str, n: int, seed: int = 7) -> None:
    from sqlalchemy import create_engine, insert

    from intake_api.models import Base, Complaint, ComplaintEvent, FollowUp, StaffUser
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    rng = random.Random(seed)
    start = dt.datetime(2026, 6, 30, 16, tzinfo=dt.UTC)
    teams = ["hr-desk", "facilities", "it", "finance", "canteen", "relations", "hazards"]
    depts = ["hr", "admin", "it", "finance", "canteen", "security", "production", "sales", "logistics", None]
    with engine.begin() as conn:
        conn.execute(insert(StaffUser), [{"id": i + 1, "username": f"h{i}", "display_name": f"h{i}", "password_hash": "!",
                                          "role": "handler", "teams": [teams[i % len(teams)]], "active": True,
                                          "created_at": start} for i in range(40)])
        rows, events, follow = [], [], []
        for i in range(1, n + 1):
            at = start + dt.timedelta(seconds=rng.random() * 91 * 86400)
            level = rng.choice([1, 2, 2, 3, 3, 3, 3])
            row = {"id": i, "number": f"TS-2026-{i:06d}", "tracking_hash": f"{i:064d}", "channel": "online_form",
                   "disclosure": "named", "category": rng.choice(["facilities", "it-access", "payroll", "canteen"]),
                   "about_department": rng.choice(depts), "description": f"投诉 {i}", "request": "处理",
                   "occurred_at": at, "location": "A", "level": level, "received_at": at, "updated_at": at,
                   "team": rng.choice(teams), "handler_id": rng.randint(1, 40), "shown_articles": [],
                   "status": "resolved", "rating": rng.choice([None, 1, 2, 3, 4, 5])}
            for due_col, done_col, hours in (("assessment_due_at", "assessed_at", 24),
                                             ("first_response_due_at", "first_responded_at", 72),
                                             ("result_due_at", "resolved_at", 240)):
                row[due_col] = at + dt.timedelta(hours=hours)
                row[done_col] = None if rng.random() < 0.1 else at + dt.timedelta(hours=rng.uniform(1, hours * 1.3))
            row["resolution_due_at"] = at + dt.timedelta(hours=24) if level == 1 else None
            row["promise_due_at"] = row["promise_kept_at"] = None
            if rng.random() < 0.1:
                row["promise_due_at"] = at + dt.timedelta(days=10)
                row["promise_kept_at"] = at + dt.timedelta(days=rng.uniform(5, 14))
            rows.append(row)
            if rng.random() < 0.04:
                events.append({"complaint_id": i, "at": at, "actor": "system", "action": "status",
                               "from_value": "resolved", "to_value": "reopened"})
            if rng.random() < 0.1:
                follow.append({"complaint_id": i, "at": at, "staff_username": "h1", "method": "phone",
                               "score": rng.randint(1, 5)})
            if len(rows) == 5000:
                conn.execute(insert(Complaint), rows)
                rows = []
        if rows:
            conn.execute(insert(Complaint), rows)
        conn.execute(insert(ComplaintEvent), events)
        conn.execute(insert(FollowUp), follow)
    engine.dispose()


def timed(label: str, fn, results: list) -> object:
    t = time.perf_counter()
    out = fn()
    results.append((label, time.perf_counter() - t))
    return out


def cache_rounds(s, period, results: list, rounds: int = 3) -> None:
    """The review page's figures for a closed quarter: computed, then read from review_cache, interleaved."""
    from intake_api import report, review_cache
    from intake_api.alerts import TermWeights
    from kb_builder.config import load_config
    kb = load_config(ROOT / "kb.yml")
    weights = TermWeights(kb.index_dir)
    review_cache.compute(s, kb, period, weights)  # warm: the first run also loads jieba and the index terms
    computed, kept, stamp = [], [], []
    for _ in range(rounds):
        t = time.perf_counter()
        review_cache.compute(s, kb, period, weights)
        computed.append(time.perf_counter() - t)
        t = time.perf_counter()
        got = review_cache.read(s, kb, period, weights, may_compute=False)
        assert got.current and got.data is not None
        report.collect(s, kb, period, weights, staff_teams={"*"}, breach_limit=report.BREACHES_PER_PAGE, kept=got.data)
        kept.append(time.perf_counter() - t)
        t = time.perf_counter()
        review_cache.stamp(s, period)
        stamp.append(time.perf_counter() - t)
    results.append(("whole review computed (median of 3)", sorted(computed)[1]))
    results.append(("review page's figures from the cache, first breach page (median of 3)", sorted(kept)[1]))
    results.append(("of which the staleness stamp (median of 3)", sorted(stamp)[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=50_000)
    parser.add_argument("--url", help="a database to fill (it is emptied); default: a temporary SQLite file")
    parser.add_argument("--cache", action="store_true",
                        help="also time the whole review computed (report.figures, what a request used to do) against "
                             "the kept figures read (review_cache.read): needs kb.yml and a built index (`kb build`)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'review.db'}"
    from zoneinfo import ZoneInfo

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from intake_api import metrics, staff_figures, timeliness
    from intake_api.models import Complaint
    t = time.perf_counter()
    fill(url, args.complaints)
    print(f"filled {args.complaints} complaints in {time.perf_counter() - t:.1f} s ({url.split(':')[0]})")
    zone = ZoneInfo("Asia/Shanghai")
    period = metrics.Period.quarter("2026Q3", zone)
    as_of = period.end
    results: list[tuple[str, float]] = []
    engine = create_engine(url)
    with Session(engine) as s:
        timed("sla (every limit, per level)", lambda: metrics.sla(s, period, as_of), results)
        total = timed("breaches (complete list)", lambda: timeliness.breaches(s, period, as_of), results)
        timed("by department complained about", lambda: metrics.by_department(s, period), results)
        timed("department trend", lambda: metrics.department_trend(s, period, zone), results)
        timed("limits by department", lambda: timeliness.grouped(s, period, as_of, Complaint.about_department), results)
        timed("staff figures by team", lambda: staff_figures.figures(s, period, as_of, Complaint.team), results)
        timed("staff figures by handler", lambda: staff_figures.figures(s, period, as_of, Complaint.handler_id), results)
        timed("counts (category, level, channel)", lambda: [metrics.count_by(s, period, c) for c in (
            Complaint.category, Complaint.level, Complaint.channel)], results)
        timed("satisfaction", lambda: metrics.satisfaction(s, period), results)
        timed("content gaps", lambda: metrics.content_gaps(s, period), results)
        if args.cache:
            cache_rounds(s, period, results)
    engine.dispose()
    print(f"| figure | seconds at {args.complaints:,} complaints |\n| --- | ---: |")
    for label, sec in results:
        print(f"| {label} | {sec:.2f} |")
    print(f"| **all of the above** | **{sum(sec for label, sec in results if 'median' not in label):.2f}** |")
    print(f"breaches listed: {total[0]:,}")  # type: ignore[index]
    t = time.time()
    sum(range(10**8))
    print(f"reference: sum(range(10**8)) {time.time() - t:.2f} s")


if __name__ == "__main__":
    main()
