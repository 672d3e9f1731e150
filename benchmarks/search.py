"""Staff search at 10,000 complaints: Desk.search latency (p50 / p95) in SQLite and PostgreSQL.

    python benchmarks/search.py                       # both databases, 10,000 complaints
    python benchmarks/search.py --db sqlite --complaints 50000
    KB_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python benchmarks/search.py

Each database is created empty, migrated, and filled with complaints written
through the ORM (so `complaints.search_text` is computed by the same listener
as in production): texts recombined from the sample content's questions and
places, a quarter of them in Traditional characters, spread over a year,
every team, status and department complained about. Then `Desk.search` (the
code path of the API and the workspace: visibility, filters, the count and
the first page of 50) is timed for an admin, who sees everything, and for a
handler of one team, on word queries (Simplified and Traditional, one and two
terms, frequent and rare), numbers, and filters without words. The figures go
to benchmarks/RESULTS.md#search with the reference speed it prints first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("KB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

DETAILS = ["已经好几天了", "一直没有人处理", "影响大家工作", "请尽快解决", "上次反映过也没用", "今天早上又出现",
           "同事们都很有意见", "希望给个说法", "打电话没人接", "下午三点左右"]
PLACES = ["A 栋 3 楼茶水间", "B 栋 2 楼", "3 号楼", "二号宿舍楼", "一号食堂", "东线班车", "行政楼一层", "研发中心 5 楼",
          "地下停车场", "生产车间二号线"]
WORD_QUERIES = ["饮水机", "飲水機", "空调", "空調 不制冷", "班车", "班車 司機", "食堂", "工资", "薪資", "宿舍 热水",
                "报销", "密码", "VPN", "停车场", "请假", "考勤 打卡", "打印机", "茶水间", "没有人处理", "很有意见",
                "上次反映过", "投诉", "不存在的词语", "麒麟 独角兽"]


def machine_reference() -> float:
    """Seconds for `sum(range(10**8))`: the machine's speed today, given beside every figure."""
    start = time.perf_counter()
    sum(range(10**8))
    return time.perf_counter() - start


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def texts(config, rng: random.Random) -> list[str]:
    """The sample content's question phrasings (what employees write), for recombining into complaints."""
    from kb_builder.sources import read_sources
    out = [q for s in read_sources(config) for q in getattr(s.meta, "questions", ()) if len(q) >= 4]
    rng.shuffle(out)
    return out


def fill(session, config, clock, n: int, rng: random.Random) -> float:
    """n complaints through the ORM; returns the seconds it took (search_text computed on insert)."""
    import opencc

    from intake_api.models import Complaint
    to_traditional = opencc.OpenCC("s2t")
    phrases = texts(config, rng)
    teams = [t.id for t in config.process.teams]
    departments = [None, None, *config.process.department_ids]
    statuses = ["received", "assessed", "investigating", "resolved", "closed", "closed", "closed", "reopened"]
    start_year = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    for i in range(1, n + 1):
        description = f"{rng.choice(phrases)}，{rng.choice(phrases)}。{rng.choice(DETAILS)}"
        request, location = rng.choice(DETAILS), rng.choice(PLACES)
        if rng.random() < 0.25:
            description, request, location = (to_traditional.convert(x) for x in (description, request, location))
        received = start_year + dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
        session.add(Complaint(
            number=f"TS-2026-{i:06d}", tracking_hash=uuid.uuid4().hex, channel="online_form", anonymous=True,
            disclosure="anonymous", category=rng.choice(config.category_ids), description=description,
            request=request, location=location, occurred_at=received, level=rng.choice((1, 2, 3, 3, 3)),
            status=rng.choice(statuses), received_at=received, updated_at=received,
            assessment_due_at=received + dt.timedelta(hours=24), team=rng.choice(teams),
            about_department=rng.choice(departments), shown_articles=[]))
        if i % 1000 == 0:
            session.commit()
    session.commit()
    return time.perf_counter() - started


def queries(config, n: int, rng: random.Random) -> list[tuple[str, dict]]:
    """(kind, Desk.search keyword arguments) in a fixed order."""
    out: list[tuple[str, dict]] = [("words", {"q": q}) for q in WORD_QUERIES]
    out += [("number", {"q": f"TS-2026-{rng.randrange(1, n + 1):06d}"}) for _ in range(6)]
    out += [("words + filters", {"q": "饮水机", "status": "closed", "since": "2026-03-01", "until": "2026-09-30"}),
            ("words + filters", {"q": "食堂", "category": "canteen"}),
            ("words + filters", {"q": "司机", "about": "logistics"}),
            ("filters", {"category": "facilities"}), ("filters", {"status": "open"}),
            ("filters", {"about": "canteen", "since": "2026-06-01"}), ("filters", {}),
            ("page 5", {"q": "请尽快解决", "page": 5})]
    return out


def run(backend: str, url: str, n: int, reps: int, seed: int) -> dict:
    from sqlalchemy.orm import Session

    from intake_api import crypto
    from intake_api.auth import create_staff
    from intake_api.db import make_engine, upgrade
    from intake_api.desk import Actor, Desk
    from intake_api.sla import make_clock
    from kb_builder.config import load_config
    config = load_config(ROOT / "kb.yml")
    crypto.configure([crypto.new_key()])
    rng = random.Random(seed)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        admin = create_staff(session, "bench-admin", "x" * 12, "admin", [])
        handler = create_staff(session, "bench-handler", "x" * 12, "handler", ["facilities"])
        session.commit()
        fill_s = fill(session, config, make_clock(config), n, rng)
        desk = Desk(session, config, make_clock(config))
        plan = queries(config, n, rng)
        results: dict[str, list[float]] = {"admin": [], "handler": []}
        by_kind: dict[str, list[float]] = {}
        hits = []
        for who_name, who in (("admin", Actor.staff(admin)), ("handler", Actor.staff(handler))):
            for kind, kwargs in plan:
                desk.search(who, **kwargs)  # warm: jieba's dictionary, the statement cache
                for _ in range(reps):
                    start = time.perf_counter()
                    page = desk.search(who, **kwargs)
                    ms = (time.perf_counter() - start) * 1000
                    results[who_name].append(ms)
                    by_kind.setdefault(kind, []).append(ms)
                    session.rollback()  # each search is its own read, as in a request
                if who_name == "admin":
                    hits.append(page.total)
    engine.dispose()
    return {"fill_s": fill_s, "results": results, "by_kind": by_kind, "hits": hits}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--complaints", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=5, help="Timed runs of each query for each person.")
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args()
    print(f"machine reference: sum(range(10**8)) took {machine_reference():.2f} s", flush=True)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for backend in backends:
        if backend == "sqlite":
            folder = tempfile.mkdtemp(prefix="kb-search-bench-")
            url, cleanup = f"sqlite:///{folder}/bench.db", None
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url
            name = f"kb_bench_search_{uuid.uuid4().hex[:10]}"
            admin_engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin_engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

            def cleanup(name=name, admin_engine=admin_engine):
                with admin_engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin_engine.dispose()
        try:
            out = run(backend, url, args.complaints, args.reps, args.seed)
        finally:
            if cleanup:
                cleanup()
        print(f"\n{backend}: {args.complaints:,} complaints written in {out['fill_s']:.1f} s "
              f"({args.complaints / out['fill_s']:,.0f}/s, search_text included)")
        for who, ms in out["results"].items():
            p50, p95 = percentiles(ms)
            print(f"  {who:<8} {len(ms):>4} searches  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {max(ms):6.1f} ms")
        for kind, ms in out["by_kind"].items():
            p50, p95 = percentiles(ms)
            print(f"    {kind:<16} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
        print(f"  matches per query (admin, in order): {out['hits']}")


if __name__ == "__main__":
    main()
