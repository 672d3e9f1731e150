"""Scale benchmark (issue 25): the product at 60 / 1,000 / 10,000 articles and 500 / 5,000 / 50,000 complaints.

    python benchmarks/scale.py                         # the full sizes (hours on a 2-core machine)
    python benchmarks/scale.py --articles 60,1000 --complaints 500,5000 --recurring 50000
    python benchmarks/scale.py --quick                 # reduced sizes, about a minute

Knowledge bases: 60 is the sample content; larger ones come from
generate_kb.py (a realistic vocabulary, queries that are not copies of the
articles). For each: full build (index and site stages), MkDocs alone on the
same pages, one-article rebuild, site size, the static site search (bytes
shipped, time to the first result in Debian's chromium unthrottled and at a
quarter core: benchmarks/site_search.py's measure(), "n/a" where that module
is missing), and suggest p95 over HTTP against `kb serve`.

Complaints: `kb demo-data` fills a fresh database (SQLite file, or a scratch
PostgreSQL database created on 127.0.0.1:5432 and dropped after) with a
quarter of complaints in varied wording, worked through the real process.
Then, in-process through the real Flask app (no network): queue page p95
(first page, and filtered: overdue), complaint page p95, the review page;
`kb report` as a command; the notification worker's peak memory under
`kb serve`. Recurring problems are also timed alone on N distinct texts
(the review's grouping, intake_api/recurring.py).

Every table prints the machine's reference loop (sum(range(10**8)), about
1.2 s on a normal day) measured before and after it.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import load  # noqa: E402
import rebuild  # noqa: E402

try:  # written alongside (issue 25, point 1); the columns read "n/a" without it
    from site_search import measure as site_search_measure  # type: ignore[import-not-found]
except ImportError:
    site_search_measure = None

QUARTER = "2026Q3"
NA = "n/a"


def reference() -> str:
    return f"{load.machine_reference():.2f} s"


def p95(values: list[float]) -> str:
    return f"{load.pct(values, 95):.0f} ms" if values else NA


def make_kb(articles: int, folder: Path) -> Path:
    """The sample knowledge base (60 articles or fewer asked) or a generated one; not built."""
    folder.mkdir(parents=True, exist_ok=True)
    if articles <= 60:
        for name in ("kb.yml", "mkdocs.yml"):
            shutil.copy(ROOT / name, folder / name)
        for name in ("docs", "overrides", "content"):
            shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("faq", "sop"))
    else:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate_kb.py"), str(folder),
                        "--articles", str(articles)], check=True, capture_output=True, env=load.child_env())
    return folder / "kb.yml"


def queries(kb_yml: Path, n: int = 200) -> list[str]:
    """Generated queries (queries.jsonl), or for the sample its articles' example questions."""
    path = kb_yml.parent / "queries.jsonl"
    if path.is_file():
        return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines()][:n]
    from kb_builder.config import load_config
    from kb_builder.sources import read_sources
    found = [q for s in read_sources(load_config(kb_yml)) for q in getattr(s.meta, "questions", ())]
    return random.Random(1).sample(found, min(n, len(found)))


def suggest_latencies(kb_yml: Path, folder: Path, qs: list[str]) -> list[float]:
    server = load.Server(kb_yml, f"sqlite:///{folder / 'suggest.db'}", workers=2)
    try:
        out = []
        for q in qs:
            start = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/v1/suggest?q={urllib.parse.quote(q)}",
                                        timeout=30) as res:
                res.read()
            out.append(time.perf_counter() - start)
        return out[5:]  # the first requests warm the workers
    finally:
        server.stop()


def site_search(site: Path, query: str) -> dict[str, str]:
    if site_search_measure is None:
        return {"bytes": NA, "first": NA, "quarter": NA}
    try:
        m = site_search_measure(site, query, False)
    except Exception as exc:  # a browser that cannot start is a missing figure, not a failed benchmark
        print(f"  site search not measured: {exc!r}", file=sys.stderr)
        return {"bytes": NA, "first": NA, "quarter": NA}
    return {"bytes": f"{m['bytes_shipped'] / 1e6:.2f} MB", "first": f"{m['first_result_s']:.2f} s",
            "quarter": f"{m['first_result_quarter_core_s']:.2f} s"}


def articles_row(articles: int, tmp: Path) -> dict[str, str]:
    kb_yml = make_kb(articles, tmp / f"kb{articles}")
    r = rebuild.measure(kb_yml, rebuilds=2)
    qs = queries(kb_yml)
    search = site_search(kb_yml.parent / "site", qs[0])
    return {"articles": str(r["articles"]), "build": f"{r['full_s']:.1f} s",
            "index": f"{r['full_stages'].get('index', 0):.1f} s", "site": f"{r['full_stages'].get('site', 0):.1f} s",
            "mkdocs alone": f"{r['mkdocs_alone_s']:.1f} s",
            "1-article rebuild": " / ".join(f"{s:.1f}" for s, _, _ in r["rebuilds"]) + " s",
            "site size": f"{r['site_mb']:.0f} MB, {r['site_files']} files",
            "search shipped": search["bytes"], "first result": search["first"], "at 1/4 core": search["quarter"],
            "suggest p95": p95(suggest_latencies(kb_yml, tmp / f"kb{articles}", qs))}


def fill(kb_yml: Path, db_url: str, complaints: int) -> float:
    start = time.perf_counter()
    subprocess.run([load.KB, "demo-data", "--quarter", QUARTER, "--complaints", str(complaints)], check=True,
                   capture_output=True, env=load.child_env(KB_CONFIG=str(kb_yml), KB_DATABASE_URL=db_url))
    return time.perf_counter() - start


def timed_gets(client, urls: list[str]) -> list[float]:
    out = []
    for url in urls:
        start = time.perf_counter()
        res = client.get(url)
        out.append(time.perf_counter() - start)
        if res.status_code != 200:
            raise RuntimeError(f"GET {url}: HTTP {res.status_code}")
    return out


def pages(kb_yml: Path, db_url: str, repeat: int) -> dict[str, str]:
    """Queue, complaint and review pages through the real app, logged in as an admin."""
    from sqlalchemy import create_engine, text

    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    app = create_app({"KB_CONFIG": str(kb_yml), "KB_OVERRIDES": {"database_url": db_url}, "TESTING": True,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        create_staff(get_session(), "scale-admin", load.STAFF_PASSWORD, "admin", [])
        get_session().commit()
    client = app.test_client()
    res = client.post("/api/v1/staff/login", json={"username": "scale-admin", "password": load.STAFF_PASSWORD})
    client.environ_base["HTTP_X_CSRFTOKEN"] = res.get_json()["csrf_token"]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        numbers = [n for (n,) in conn.execute(text("SELECT number FROM complaints"))]
    engine.dispose()
    rng = random.Random(1)
    timed_gets(client, ["/staff/", "/staff/?due=overdue", f"/staff/complaints/{numbers[0]}"])  # warm
    first = timed_gets(client, ["/staff/"] * repeat)
    filtered = timed_gets(client, ["/staff/?due=overdue"] * repeat)
    one = timed_gets(client, [f"/staff/complaints/{rng.choice(numbers)}" for _ in range(repeat)])
    # The first view computes a small quarter in the request, or asks the worker for a large one (the page says
    # "being prepared"); the worker's part is timed here in process; then the page reads the kept figures.
    review = timed_gets(client, [f"/staff/report?quarter={QUARTER}"])
    from intake_api import review_cache
    with app.app_context():
        start = time.perf_counter()
        asked = review_cache.prepare_requested(get_session(), app.config["KB"], app.extensions.get("kb_term_weights"))
        worker = time.perf_counter() - start
    kept = timed_gets(client, [f"/staff/report?quarter={QUARTER}"] * 3)
    app.extensions["db_engine"].dispose()
    shown = f"{review[0]:.1f} s" if not asked else f"{review[0]:.2f} s (worker {worker:.1f} s)"
    return {"queue p95": p95(first), "overdue p95": p95(filtered), "complaint p95": p95(one),
            "review page": f"{shown}, then {sorted(kept)[1]:.2f} s kept"}


def report_seconds(kb_yml: Path, db_url: str, out: Path) -> str:
    start = time.perf_counter()
    subprocess.run([load.KB, "report", "--quarter", QUARTER, "--out", str(out)], check=True, capture_output=True,
                   env=load.child_env(KB_CONFIG=str(kb_yml), KB_DATABASE_URL=db_url))
    return f"{time.perf_counter() - start:.1f} s"


def worker_memory(kb_yml: Path, db_url: str, settle: float) -> str:
    """Peak resident memory (VmHWM) of `kb serve`'s notification worker after it has run a while."""
    server = load.Server(kb_yml, db_url, workers=1)
    try:
        server.wait_for_worker()
        time.sleep(settle)
        pid = server.worker_pid()
        status = Path(f"/proc/{pid}/status").read_text() if pid else ""
        m = re.search(r"VmHWM:\s+(\d+) kB", status)
        return f"{int(m.group(1)) / 1024:.0f} MB" if m else NA
    finally:
        server.stop()


def complaints_row(kind: str, complaints: int, kb_yml: Path, tmp: Path, repeat: int) -> dict[str, str]:
    db_url, drop = load.new_database(kind, tmp)
    try:
        filled = fill(kb_yml, db_url, complaints)
        row = {"database": kind, "complaints": str(complaints), "fill": f"{filled:.0f} s",
               **pages(kb_yml, db_url, repeat),
               "kb report": report_seconds(kb_yml, db_url, tmp / f"report-{kind}-{complaints}"),
               "worker memory": worker_memory(kb_yml, db_url, settle=5)}
    finally:
        drop()
    return row


def recurring_row(n: int, kb_yml: Path) -> dict[str, str]:
    """The review's grouping alone on n distinct complaint texts (varied wording of 2,000 problems)."""
    from vocabulary import EN_QUERIES, ZH_QUERIES, Vocabulary

    from intake_api import recurring
    from intake_api.alerts import TermWeights
    from intake_api.demo import varied
    from kb_builder.config import load_config
    rng = random.Random(5)
    vocab = Vocabulary(1)
    problems = []
    for _ in range(2000):
        lang = "en" if rng.random() < 0.2 else "zh"
        a, b = vocab.topic(rng, lang, 2)
        problems.append(rng.choice(EN_QUERIES if lang == "en" else ZH_QUERIES).format(a=a, b=b))
    texts: dict[str, None] = {}
    while len(texts) < n:
        texts[varied(rng, rng.choice(problems))] = None
    items = [recurring.Text(str(i), t) for i, t in enumerate(texts)]
    idf = TermWeights(load_config(kb_yml).index_dir).idf_table()
    start = time.perf_counter()
    groups = recurring.group(items, idf)
    return {"distinct texts": str(n), "seconds": f"{time.perf_counter() - start:.1f} s",
            "groups": str(len(groups)), "grouped texts": str(sum(len(g) for g in groups))}


def table(title: str, rows: list[dict[str, str]]) -> None:
    if not rows:
        return
    print(f"\n{title} (reference loop before: {rows[0].pop('_ref')}, after: {reference()})")
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join(" --- " for _ in cols) + "|")
    for r in rows:
        print("| " + " | ".join(r.get(c, "") for c in cols) + " |", flush=True)


def sizes(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", default="60,1000,10000")
    ap.add_argument("--complaints", default="500,5000,50000")
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--recurring", default="50000", help="distinct texts for the grouping alone")
    ap.add_argument("--repeat", type=int, default=40, help="requests per page kind")
    ap.add_argument("--quick", action="store_true", help="60 articles, 200 complaints, 2,000 texts, 10 requests")
    args = ap.parse_args()
    if args.quick:
        args.articles, args.complaints, args.recurring, args.repeat = "60", "200", "2000", 10
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as name:
        tmp = Path(name)
        rows = []
        for n in sizes(args.articles):
            ref = reference()
            rows.append({"_ref": ref, **articles_row(n, tmp)} if not rows else articles_row(n, tmp))
        table("Knowledge base", rows)
        sample = tmp / "kb60" / "kb.yml"
        if not sample.is_file():
            rebuild.build(rebuild.load_config(make_kb(60, tmp / "kb60")))
        rows = []
        for kind in args.db.split(","):
            for n in sizes(args.complaints):
                row = complaints_row(kind, n, sample, tmp, args.repeat)
                rows.append({"_ref": reference(), **row} if not rows else row)
        table("Complaints (sample knowledge base)", rows)
        rows = []
        for n in sizes(args.recurring):
            row = recurring_row(n, sample)
            rows.append({"_ref": reference(), **row} if not rows else row)
        table("Recurring problems alone", rows)


if __name__ == "__main__":
    main()
