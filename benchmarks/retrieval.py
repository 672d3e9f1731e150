"""Retrieval benchmark: how often the form's first suggestions are right, on public data nobody here wrote.

For each task file in ../shared/bench/ (BANKING77 in English, SMP2017 in
Chinese; development queries only; read at run time, never copied):
  1. every article becomes a case file (title, `questions:` = its example lines),
  2. the product's own builder (`kb_builder.build.build`) builds the knowledge base,
  3. every query goes through the same search as GET /api/v1/suggest (`Searcher.search`),
and it prints Hit@1, Hit@3, MRR@10, the out-of-scope AUROC of the confidence
(tasks with gold = null), the share of queries answered right at the
configured threshold (kb.yml `search.confidence_threshold`: the right top
article shown, or nothing shown when no article answers), p50/p95 query
latency, and the same figures for the lexical path alone and for a plain BM25
baseline (bm25s over the same tokens, top score as confidence) in the same run.

    python benchmarks/retrieval.py                 # all four tasks
    python benchmarks/retrieval.py --task smp2017_zh_k5_dev
    python benchmarks/retrieval.py --task-file our_cases.json   # your own data: recalibrate
    python benchmarks/retrieval.py --sweep         # field weights and the lexical weight, compared

For every task it also prints the threshold that would have answered most
queries right on that task, and at the end the one that does best over all
tasks run: that is how the configured threshold was chosen.
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


def answered_right(ranked: list[list[str]], conf: list[float], queries: list[dict], threshold: float) -> float:
    """Share of queries where the right top article is shown, or nothing is shown when none answers."""
    right = 0
    for ids, c, q in zip(ranked, conf, queries):
        shown = c >= threshold and bool(ids)
        right += (not shown) if q["gold"] is None else (shown and ids[0] == q["gold"])
    return right / len(queries)


def best_threshold(ranked, conf, queries) -> tuple[float, float]:
    """The threshold that answers most queries right, and that share."""
    return max(((t, answered_right(ranked, conf, queries, t)) for t in sorted(set(conf))), key=lambda p: p[1],
               default=(0.0, 0.0))


def evaluate(ranked: list[list[str]], tops: list[float], queries: list[dict], latencies: list[float],
             threshold: float | None = None) -> dict:
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
            "right": answered_right(ranked, tops, queries, threshold) if threshold is not None else None,
            "p50_ms": statistics.median(lat) * 1000, "p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1000}


def load_task(name: str) -> dict:
    path = Path(name)
    if not path.is_file():
        path = BENCH / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def query_all(searcher, queries: list[dict], ids: dict[str, str]):
    ranked, conf, lat = [], [], []
    for q in queries:
        start = time.perf_counter()
        answer = searcher.suggest(q["text"], limit=10)
        lat.append(time.perf_counter() - start)
        ranked.append([ids.get(h.id, h.id) for h in answer.hits])
        # Lexical path: no calibrated confidence, the top BM25 score stands in for it.
        conf.append(answer.confidence if answer.confidence is not None
                    else (answer.hits[0].score if answer.hits else 0.0))
    return ranked, conf, lat


def bm25_baseline(task: dict, queries: list[dict]):
    import bm25s

    from kb_builder.analysis import tokens
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
    return ranked, tops, lat


def run_task(name: str, sweep: bool = False, baseline: bool = True) -> tuple[list, list, list]:
    from kb_builder import search as search_mod
    from kb_builder.build import build
    from kb_builder.config import load_config
    from kb_builder.search import Searcher

    task = load_task(name)
    queries = task["queries"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-retrieval-") as tmp:
        folder = Path(tmp)
        ids = make_kb(task, folder)
        config = load_config(folder / "kb.yml")
        threshold = config.search.confidence_threshold
        t0 = time.perf_counter()
        build(config, full=True)
        build_s = time.perf_counter() - t0
        index = folder / "build" / "index"

        def measure(label: str, semantic: bool, at: float | None = None) -> tuple:
            searcher = Searcher(index, semantic=semantic)
            searcher.suggest("warm up", limit=1)
            ranked, conf, lat = query_all(searcher, queries, ids)
            rows.append((label, evaluate(ranked, conf, queries, lat, at)))
            return ranked, conf, queries

        product = measure("product (suggest path)", True, threshold)
        measure("lexical path alone", False)
        if sweep:
            saved = dict(search_mod.FIELD_BOOSTS)
            for title, questions in ((2.0, 1.5), (2.0, 1.0), (1.0, 1.0), (0.5, 1.0), (0.5, 2.0)):
                search_mod.FIELD_BOOSTS.update(title=title, questions=questions)
                measure(f"lexical title {title} q {questions}", False)
                measure(f"fused title {title} q {questions}", True)
            search_mod.FIELD_BOOSTS.update(saved)
            search_mod.FUZZY_ENGLISH = True
            measure("lexical + typo tolerance", False)
            measure("fused + typo tolerance", True)
            search_mod.FUZZY_ENGLISH = False
            from kb_builder import ranking
            saved_weight = ranking.LEXICAL_WEIGHT
            for weight in (0.0, 0.2, 0.35, 0.5):
                ranking.LEXICAL_WEIGHT = weight
                measure(f"fused, lexical weight {weight}", True, threshold)
            ranking.LEXICAL_WEIGHT = saved_weight

    if baseline:
        ranked, tops, lat = bm25_baseline(task, queries)
        rows.append(("BM25 baseline (bm25s)", evaluate(ranked, tops, queries, lat)))
    n_out = sum(q["gold"] is None for q in queries)
    print(f"\n{Path(name).stem}: {len(task['articles'])} articles, {len(queries)} queries "
          f"({n_out} out of scope); product build {build_s:.1f} s; threshold {threshold}")
    print(f"  {'':<26}{'Hit@1':>7}{'Hit@3':>7}{'MRR@10':>8}{'AUROC':>7}{'right':>7}{'p50 ms':>8}{'p95 ms':>8}")
    for label, m in rows:
        au = f"{m['auroc']:.3f}" if m["auroc"] is not None else "  —  "
        right = f"{m['right']:.3f}" if m["right"] is not None else "  —  "
        print(f"  {label:<26}{m['hit1']:>7.3f}{m['hit3']:>7.3f}{m['mrr10']:>8.3f}{au:>7}{right:>7}"
              f"{m['p50_ms']:>8.2f}{m['p95_ms']:>8.2f}", flush=True)
    t, share = best_threshold(*product)
    print(f"  best threshold on this task: {t:.3f} (answers {share:.3f} right)")
    return product


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", action="append", choices=TASKS, help="default: all four")
    ap.add_argument("--task-file", action="append", default=[], type=Path,
                    help="your own task file (same format as ../shared/bench/): recalibrate on your data")
    ap.add_argument("--no-baseline", action="store_true", help="skip the bm25s baseline (not installed by default)")
    ap.add_argument("--sweep", action="store_true",
                    help="also compare title/questions field weights, typo tolerance and the lexical weight")
    args = ap.parse_args()
    names = [str(p) for p in args.task_file] + (args.task or ([] if args.task_file else TASKS))
    if not args.task_file and not BENCH.is_dir():
        sys.exit(f"no task files at {BENCH}: set KB_BENCH_DIR to the folder holding the *_dev.json files")
    runs = [run_task(name, sweep=args.sweep, baseline=not args.no_baseline) for name in names]
    if runs:
        candidates = sorted({c for _, conf, _ in runs for c in conf})
        score = lambda t: statistics.mean(answered_right(r, c, q, t) for r, c, q in runs)  # noqa: E731
        best = max(candidates[::max(1, len(candidates) // 2000)], key=score)
        print(f"\nthreshold answering most queries right over all tasks run: {best:.3f} "
              f"(mean share {score(best):.3f}); set it as search.confidence_threshold in kb.yml")


if __name__ == "__main__":
    main()
