"""Retrieval benchmark: how often the form's first suggestions are right, on public data nobody here wrote.

For each public task file in KB_BENCH_DIR (BANKING77 and CLINC150 in English, SMP2017 in
Chinese; development queries only; read at run time, never copied; optional: they are not in
the repository, and --task-file runs on your own data without them),
and for each variant of it (`variants`: 20 % of the articles out, 1-3 lines
per article, distractors to 600 or 5,000 articles):
  1. every article becomes a case file (title, `questions:` = its example lines),
  2. the product's own index stage (`kb_builder.build.write_search_index`) builds it,
  3. every query goes through the same search as GET /api/v1/suggest (`Searcher.search`),
and it prints Hit@1, Hit@3, MRR@10, the out-of-scope AUROC of the confidence
(tasks with gold = null), the share of queries answered right at the
configured threshold (kb.yml `search.confidence_threshold`: the right top
article shown, or nothing shown when no article answers), p50/p95 query
latency, and the same figures for the lexical path alone and for a plain BM25
baseline (bm25s over the same tokens, top score as confidence) in the same run.

    python benchmarks/retrieval.py                 # all six tasks, every variant (base, oos20, tail, size600, size5000)
    python benchmarks/retrieval.py --quick         # CI size: 5-line tasks, up to size600, 400 queries each
    python benchmarks/retrieval.py --task smp2017_zh_k5_dev --variant oos20
    python benchmarks/retrieval.py --task-file our_cases.json   # your own data: recalibrate
    python benchmarks/retrieval.py --sweep         # field weights and the lexical weight, compared

For every task it also prints the threshold that would have answered most
queries right on that task, and at the end the one that does best over all
tasks run: that is how the configured threshold was chosen.
"""

from __future__ import annotations

import argparse
import os
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
sys.path.insert(0, str(ROOT / "benchmarks"))
# The public task files are optional and live outside the repository; --task-file needs none of them.
BENCH = Path(__import__("os").environ.get("KB_BENCH_DIR", ROOT.parent / "shared" / "bench"))
TASKS = ["banking77_k5_dev", "banking77_k20_dev", "smp2017_zh_k5_dev", "smp2017_zh_k20_dev",
         "clinc150_k5_dev", "clinc150_k20_dev"]


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


class CachedEncoder:
    """The product's encoder behind a cache of query vectors (KB_BENCH_CACHE), filled in batches.

    Every variant of a task sends the same queries: encoding them once, in
    batches, keeps a full run in minutes on a busy 2-core machine. Latency
    figures are therefore the search without the encoder; benchmarks/speed.py
    times the whole suggest path.
    """

    def __init__(self, encoder):
        import numpy as np

        self.encoder, self.name, self.memo = encoder, encoder.name, {}
        self.path = CACHE / "queries.npz"
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["encoder"]) == encoder.name:
                    self.memo = dict(zip((str(t) for t in data["texts"]), data["vectors"]))

    def fill(self, texts: list[str]) -> None:
        import numpy as np

        todo = list(dict.fromkeys(t for t in texts if t not in self.memo))
        for c in range(0, len(todo), 256):
            self.memo.update(zip(todo[c:c + 256], self.encoder.encode(todo[c:c + 256])))
        if todo:
            CACHE.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_suffix(f".{os.getpid()}.tmp"), "wb") as fh:
                np.savez(fh, texts=np.array(list(self.memo)), vectors=np.array(list(self.memo.values()), np.float32),
                         encoder=np.array(self.name))
            self.path.with_suffix(f".{os.getpid()}.tmp").replace(self.path)

    def encode(self, texts: list[str]):
        import numpy as np

        self.fill(texts)
        return np.array([self.memo[t] for t in texts], np.float32).reshape(len(texts), -1)

    encode_cached = encode  # the product's Encoder API (kb_builder/encoder.py): this one caches everything


_cached: CachedEncoder | None = None


def cached_encoder():
    """Install the cached encoder into the search path (once per process); None without an encoder."""
    global _cached
    from kb_builder import search as search_mod
    from kb_builder.encoder import get_encoder

    if _cached is None and get_encoder() is not None:
        _cached = CachedEncoder(get_encoder())
        search_mod.get_encoder = lambda: _cached
    return _cached


def query_all(searcher, queries: list[dict], ids: dict[str, str]):
    from kb_builder.analysis import to_simplified
    from kb_builder.search import MAX_EMBED_CHARS

    if searcher.semantic and cached_encoder() is not None:
        cached_encoder().fill([to_simplified(q["text"][:MAX_EMBED_CHARS]) for q in queries])
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


def variants(task: dict, name: str, kinds: list[str], rng_seed: int = 16) -> list[tuple[str, dict]]:
    """The task as a real knowledge base looks: (label, task) per variant kind asked for.

    - base: the task as published;
    - oos20: 20 % of the articles taken out, their queries kept with gold null
      (real, same-domain problems with no article: what a form meets most);
    - tail: each article keeps 1-3 of its lines (most real articles have few phrasings);
    - size600 / size5000: the task's articles among distractors (the other
      tasks' articles, then generated HR articles) to about that many.
    """
    import random

    out = []
    for kind in kinds:
        rng = random.Random(f"{rng_seed}-{name}-{kind}")
        if kind == "base":
            out.append((kind, task))
        elif kind == "oos20":
            gone = set(rng.sample([a["id"] for a in task["articles"]], max(1, len(task["articles"]) // 5)))
            out.append((kind, dict(task, articles=[a for a in task["articles"] if a["id"] not in gone],
                                   queries=[dict(q, gold=None if q["gold"] in gone else q["gold"])
                                            for q in task["queries"]])))
        elif kind == "tail":
            arts = []
            for a in task["articles"]:
                lines = [line for line in a["text"].splitlines() if line.strip()]
                arts.append(dict(a, text="\n".join(rng.sample(lines, min(len(lines), rng.randint(1, 3))))))
            out.append((kind, dict(task, articles=arts)))
        elif kind.startswith("size"):
            target = int(kind[4:])
            extra = distractors(name, target - len(task["articles"]), rng)
            out.append((kind, dict(task, articles=task["articles"] + extra)))
    return out


def distractors(name: str, count: int, rng) -> list[dict]:
    """count articles that answer none of the task's queries: other tasks' articles, then generated ones."""
    own = Path(name).stem.split("_")[0]
    found = []
    for other in ("banking77_k20_dev", "clinc150_k20_dev", "smp2017_zh_k20_dev"):
        if other.split("_")[0] != own and (BENCH / f"{other}.json").is_file():
            found += [dict(a, id=f"x-{other.split('_')[0]}-{a['id']}") for a in load_task(other)["articles"]]
    rng.shuffle(found)
    found = found[:count]
    if len(found) < count:
        found += generated_articles(count - len(found), rng)
    return found


def generated_articles(count: int, rng) -> list[dict]:
    """HR articles recombined from the sample cases (benchmarks/generate_kb.py's recipe), as task articles."""
    from generate_kb import DETAILS_EN, DETAILS_ZH, PLACES_EN, PLACES_ZH, FLOORS_ZH

    from kb_builder.config import load_config
    from kb_builder.sources import read_sources
    sources = [s for s in read_sources(load_config(ROOT / "kb.yml")) if s.kind == "case" and s.meta.published]
    out = []
    for i in range(count):
        m = rng.choice(sources).meta
        qs = rng.sample(list(m.questions), min(4, len(m.questions)))
        if m.language == "en":
            place, detail = rng.choice(PLACES_EN), rng.choice(DETAILS_EN)
            title, lines = f"{m.title} ({place})", [f"{q} in {place}" for q in qs] + [f"{m.questions[0]} {detail}"]
        else:
            place, floor, detail = rng.choice(PLACES_ZH), rng.choice(FLOORS_ZH), rng.choice(DETAILS_ZH)
            title = f"{place}{floor}：{m.title}"
            lines = [f"{place}{floor}{q}" for q in qs] + [f"{m.questions[0]}，{detail}"]
        out.append({"id": f"gen-{i:05d}", "title": title, "text": "\n".join(lines)})
    return out


CACHE = Path(__import__("os").environ.get("KB_BENCH_CACHE", Path(tempfile.gettempdir()) / "kb-bench-cache"))


def build_index(folder: Path) -> float:
    """The product's index stage (`build.write_search_index`: Whoosh, vectors, calibration); seconds taken.

    The static site is not built: retrieval does not read it. Line vectors are
    taken from a cache of earlier runs (KB_BENCH_CACHE), the way a rebuild
    reuses the live index's: variants share most of their lines.
    """
    import numpy as np

    from kb_builder import articles as articles_mod
    from kb_builder.build import write_search_index
    from kb_builder.config import load_config
    from kb_builder.encoder import get_encoder
    from kb_builder.sources import read_sources
    from kb_builder.vectors import VECTORS

    config = load_config(folder / "kb.yml")
    articles = articles_mod.published_articles(read_sources(config))
    cache = CACHE / "vectors.npz"
    config.index_dir.mkdir(parents=True, exist_ok=True)
    if cache.is_file():
        shutil.copy(cache, config.index_dir / VECTORS)
    out = folder / "index-built"
    out.mkdir()
    t0 = time.perf_counter()
    write_search_index(config, articles, out, incremental=False)
    seconds = time.perf_counter() - t0
    shutil.rmtree(config.index_dir)
    out.rename(config.index_dir)
    with np.load(config.index_dir / VECTORS, allow_pickle=False) as new:
        keys, raw, encoder = list(new["keys"]), new["raw"], str(new["encoder"])
    if encoder == getattr(get_encoder(), "name", None):
        known = {}
        if cache.is_file():
            with np.load(cache, allow_pickle=False) as old:
                if str(old["encoder"]) == encoder:
                    known = dict(zip(old["keys"], old["raw"]))
        known.update(zip(keys, raw))
        CACHE.mkdir(parents=True, exist_ok=True)
        with open(cache.with_suffix(f".{os.getpid()}.tmp"), "wb") as fh:
            np.savez(fh, keys=np.array(list(known), dtype="S32"), raw=np.array(list(known.values()), np.float16),
                     encoder=np.array(encoder))
        cache.with_suffix(f".{os.getpid()}.tmp").replace(cache)
    return seconds


def run_variant(name: str, label: str, task: dict, threshold: float, baseline: bool, sweep: bool,
                max_queries: int | None) -> dict:
    from kb_builder import search as search_mod
    from kb_builder.search import Searcher

    queries = task["queries"]
    if max_queries and len(queries) > max_queries:
        import random
        queries = random.Random(f"q-{name}").sample(queries, max_queries)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-retrieval-") as tmp:
        folder = Path(tmp)
        ids = make_kb(task, folder)
        build_s = build_index(folder)
        index = folder / "build" / "index"

        def measure(row: str, semantic: bool, at: float | None = None) -> tuple:
            searcher = Searcher(index, semantic=semantic)
            searcher.suggest("warm up", limit=1)
            ranked, conf, lat = query_all(searcher, queries, ids)
            rows.append((row, evaluate(ranked, conf, queries, lat, at)))
            return ranked, conf, queries

        product = measure("product (suggest path)", True, threshold)
        if label == "base":
            measure("lexical path alone", False)
        if sweep:
            saved = dict(search_mod.FIELD_BOOSTS)
            for title, qs in ((2.0, 1.5), (2.0, 1.0), (1.0, 1.0), (0.5, 1.0), (0.5, 2.0)):
                search_mod.FIELD_BOOSTS.update(title=title, questions=qs)
                measure(f"lexical title {title} q {qs}", False)
                measure(f"fused title {title} q {qs}", True)
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
    if baseline and label == "base":
        ranked, tops, lat = bm25_baseline(task, queries)
        rows.append(("BM25 baseline (bm25s)", evaluate(ranked, tops, queries, lat)))
    n_out = sum(q["gold"] is None for q in queries)
    print(f"\n{Path(name).stem} [{label}]: {len(task['articles'])} articles, {len(queries)} queries "
          f"({n_out} out of scope); index build {build_s:.1f} s; threshold {threshold}")
    print(f"  {'':<26}{'Hit@1':>7}{'Hit@3':>7}{'MRR@10':>8}{'AUROC':>7}{'right':>7}{'p50 ms':>8}{'p95 ms':>8}")
    for row, m in rows:
        au = f"{m['auroc']:.3f}" if m["auroc"] is not None else "  —  "
        right = f"{m['right']:.3f}" if m["right"] is not None else "  —  "
        print(f"  {row:<26}{m['hit1']:>7.3f}{m['hit3']:>7.3f}{m['mrr10']:>8.3f}{au:>7}{right:>7}"
              f"{m['p50_ms']:>8.2f}{m['p95_ms']:>8.2f}", flush=True)
    t, share = best_threshold(*product)
    m = rows[0][1]
    print(f"  best threshold on this variant alone: {t:.3f} (answers {share:.3f} right; shipped setting "
          f"{m['right']:.3f}, gap {share - m['right']:.3f})")
    summary = {"task": Path(name).stem, "variant": label, "articles": len(task["articles"]), **m,
               "best_t": t, "best_right": share, "run": product}
    return summary


def run_task(name: str, sweep: bool = False, baseline: bool = True, kinds: list[str] | None = None,
             max_queries: int | None = None) -> list[dict]:
    from kb_builder.config import load_config

    threshold = load_config(ROOT / "kb.yml").search.confidence_threshold
    task = load_task(name)
    return [run_variant(name, label, v, threshold, baseline, sweep, max_queries)
            for label, v in variants(task, name, kinds or ["base"])]


VARIANTS = ["base", "oos20", "tail", "size600", "size5000"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", action="append", choices=TASKS, help="default: all six")
    ap.add_argument("--task-file", action="append", default=[], type=Path,
                    help="your own task file (format: operations/publishing.md): recalibrate on your data")
    ap.add_argument("--variant", action="append", choices=VARIANTS,
                    help="default: base only for --task-file, all for the public tasks")
    ap.add_argument("--quick", action="store_true",
                    help="CI size: 5-line tasks, variants up to size600, at most 400 queries each")
    ap.add_argument("--no-baseline", action="store_true", help="skip the bm25s baseline (not installed by default)")
    ap.add_argument("--sweep", action="store_true",
                    help="also compare title/questions field weights, typo tolerance and the lexical weight")
    args = ap.parse_args()
    tasks = args.task or ([] if args.task_file else [t for t in TASKS if not args.quick or "_k5_" in t])
    names = [str(p) for p in args.task_file] + tasks
    kinds = args.variant or (["base"] if args.task_file else VARIANTS[:4] if args.quick else VARIANTS)
    if tasks and not BENCH.is_dir():
        sys.exit(f"no task files at {BENCH}: set KB_BENCH_DIR to the folder holding the *_dev.json files")
    started = time.perf_counter()
    results = [r for name in names for r in run_task(name, sweep=args.sweep, baseline=not args.no_baseline,
                                                    kinds=kinds, max_queries=400 if args.quick else None)]
    if not results:
        return
    print(f"\nsummary at the shipped setting (threshold {load_threshold()}); "
          "best = the best threshold for that variant alone, gap = best - right")
    print(f"  {'task':<22}{'variant':<10}{'articles':>9}{'Hit@1':>7}{'Hit@3':>7}{'AUROC':>7}{'right':>7}"
          f"{'best':>7}{'gap':>7}")
    for r in results:
        au = f"{r['auroc']:.3f}" if r["auroc"] is not None else "  —  "
        print(f"  {r['task']:<22}{r['variant']:<10}{r['articles']:>9}{r['hit1']:>7.3f}{r['hit3']:>7.3f}{au:>7}"
              f"{r['right']:>7.3f}{r['best_right']:>7.3f}{r['best_right'] - r['right']:>7.3f}")
    runs = [r["run"] for r in results]
    candidates = sorted({c for _, conf, _ in runs for c in conf})
    score = lambda t: statistics.mean(answered_right(r, c, q, t) for r, c, q in runs)  # noqa: E731
    best = max(candidates[::max(1, len(candidates) // 2000)], key=score)
    print(f"\nthreshold answering most queries right over all tasks run: {best:.3f} "
          f"(mean share {score(best):.3f}; shipped {score(load_threshold()):.3f}); "
          f"search.confidence_threshold in kb.yml; {time.perf_counter() - started:.0f} s in all")


def load_threshold() -> float:
    from kb_builder.config import load_config
    return load_config(ROOT / "kb.yml").search.confidence_threshold


if __name__ == "__main__":
    main()
