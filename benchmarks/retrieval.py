"""Retrieval benchmark: how often the form's first suggestions are right, on public data nobody here wrote.

For each task file in ../shared/bench/ (BANKING77 in English, SMP2017 in
Chinese; development queries only; read at run time, never copied):
  1. every article becomes a case file (title, `questions:` = its example lines),
  2. the product's own builder (`kb_builder.build.build`) builds the knowledge base,
  3. every query goes through the same search as GET /api/v1/suggest (`Searcher.search`),
and it prints Hit@1, Hit@3, MRR@10, the out-of-scope AUROC of the top score
(tasks with gold = null), p50/p95 query latency, and the same figures for a
plain BM25 baseline (bm25s over the same tokens) in the same run.

    python benchmarks/retrieval.py                 # all four tasks
    python benchmarks/retrieval.py --task smp2017_zh_k5_dev
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH = Path(__import__("os").environ.get("KB_BENCH_DIR", ROOT.parent / "shared" / "bench"))
TASKS = ["banking77_k5_dev", "banking77_k20_dev", "smp2017_zh_k5_dev", "smp2017_zh_k20_dev"]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def make_kb(task: dict, folder: Path) -> dict[str, str]:
    """Write the task's articles as case files in a copy of the project; return slug -> task id."""
    for name in ("kb.yml", "mkdocs.yml"):
        shutil.copy(ROOT / name, folder / name)
    for name in ("docs", "overrides"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("faq", "sop"))
    cases = folder / "content" / "cases"
    cases.mkdir(parents=True)
    (folder / "content" / "sops").mkdir()
    lang = "en" if task.get("language", "en").startswith("en") else "zh-Hans"
    ids = {}
    for art in task["articles"]:
        case_id = f"a-{slug(art['id'])}"
        ids[case_id] = art["id"]
        lines = [line.strip() for line in art["text"].splitlines() if line.strip()]
        front = {"id": case_id, "title": art["title"], "category": "process", "tags": [], "language": lang,
                 "questions": lines, "resolved": "2026-01-01", "published": True}
        (cases / f"{case_id}.md").write_text("---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
                                            + "---\n\n## Problem\n\n" + art["title"] + "\n", encoding="utf-8")
    return ids


def auroc(in_scope: list[float], out_scope: list[float]) -> float | None:
    """Probability that an in-scope query scores above an out-of-scope one (ties count half)."""
    if not in_scope or not out_scope:
        return None
    wins = sum((a > b) + 0.5 * (a == b) for a in in_scope for b in out_scope)
    return wins / (len(in_scope) * len(out_scope))


def evaluate(ranked: list[list[str]], tops: list[float], queries: list[dict], latencies: list[float]) -> dict:
    hit1 = hit3 = mrr = 0.0
    in_scores, out_scores = [], []
    scoped = [(r, s, q) for r, s, q in zip(ranked, tops, queries)]
    n_in = sum(q["gold"] is not None for q in queries)
    for ids, top, q in scoped:
        if q["gold"] is None:
            out_scores.append(top)
            continue
        in_scores.append(top)
        if ids[:1] == [q["gold"]]:
            hit1 += 1
        if q["gold"] in ids[:3]:
            hit3 += 1
        if q["gold"] in ids[:10]:
            mrr += 1 / (ids.index(q["gold"]) + 1)
    lat = sorted(latencies)
    return {"hit1": hit1 / n_in, "hit3": hit3 / n_in, "mrr10": mrr / n_in, "auroc": auroc(in_scores, out_scores),
            "p50_ms": statistics.median(lat) * 1000, "p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1000}


def run_task(name: str) -> None:
    from kb_builder.analysis import tokens
    from kb_builder.build import build
    from kb_builder.config import load_config
    from kb_builder.search import Searcher

    task = json.loads((BENCH / f"{name}.json").read_text(encoding="utf-8"))
    queries = task["queries"]
    with tempfile.TemporaryDirectory(prefix="kb-retrieval-") as tmp:
        folder = Path(tmp)
        ids = make_kb(task, folder)
        t0 = time.perf_counter()
        build(load_config(folder / "kb.yml"), full=True)
        build_s = time.perf_counter() - t0
        searcher = Searcher(folder / "build" / "index")
        searcher.search("warm up", limit=1)
        ranked, tops, lat = [], [], []
        for q in queries:
            start = time.perf_counter()
            hits = searcher.search(q["text"], limit=10)
            lat.append(time.perf_counter() - start)
            ranked.append([ids.get(h.id, h.id) for h in hits])
            tops.append(hits[0].score if hits else 0.0)
        product = evaluate(ranked, tops, queries, lat)

    import bm25s
    corpus = [tokens(a["title"] + "\n" + a["text"]) for a in task["articles"]]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    ranked, tops, lat = [], [], []
    for q in queries:
        start = time.perf_counter()
        qt = tokens(q["text"]) or ["∅"]
        try:
            res, scores = retriever.retrieve([qt], k=10, show_progress=False)
            order = [task["articles"][i]["id"] for i in res[0]]
            top = float(scores[0][0])
        except (ValueError, KeyError):
            order, top = [], 0.0
        lat.append(time.perf_counter() - start)
        ranked.append(order)
        tops.append(top)
    baseline = evaluate(ranked, tops, queries, lat)

    print(f"\n{name}: {len(task['articles'])} articles, {len(queries)} queries "
          f"({sum(q['gold'] is None for q in queries)} out of scope); product build {build_s:.1f} s")
    print(f"  {'':<22}{'Hit@1':>7}{'Hit@3':>7}{'MRR@10':>8}{'AUROC':>7}{'p50 ms':>8}{'p95 ms':>8}")
    for label, m in (("product (suggest path)", product), ("BM25 baseline (bm25s)", baseline)):
        au = f"{m['auroc']:.3f}" if m["auroc"] is not None else "  —  "
        print(f"  {label:<22}{m['hit1']:>7.3f}{m['hit3']:>7.3f}{m['mrr10']:>8.3f}{au:>7}{m['p50_ms']:>8.2f}{m['p95_ms']:>8.2f}",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", action="append", choices=TASKS, help="default: all four")
    args = ap.parse_args()
    if not BENCH.is_dir():
        sys.exit(f"no task files at {BENCH}: set KB_BENCH_DIR to the folder holding the *_dev.json files")
    for name in args.task or TASKS:
        run_task(name)


if __name__ == "__main__":
    main()
