"""Replay benchmark: how fast suggestions improve when every answered complaint teaches the knowledge base.

For each public development task in KB_BENCH_DIR (read at run time, never copied), the queries are
replayed in one seeded arrival order against a knowledge base that starts small: every article with
its title and one phrasing (its first example line), and a share of the articles (--missing, 20 %)
not written yet. Queries arrive in windows; within a window the index is fixed, as between two
`kb build`s. Each query goes through the product's suggest path (`Searcher.suggest`, the configured
threshold); then, as the desk does (the same functions, so the simulation is the product's code path):
  - the right article shown: the employee is answered and clicks "this solved it"; the desk's
    `record_deflection` proposes the query as a phrasing of that article (the default, --learn-from all;
    with --learn-from complaints a deflection teaches nothing, as before the product did this);
  - otherwise the employee complains. A handler links the complaint to its gold article when that
    article exists (`link_article`). Either way the proposal is `intake_api.learning.proposable`:
    nothing for a sensitive matter (`sensitive.assess`), else redacted by `publish.redactor_for`
    and cut to its opening sentences; `learning.is_new` drops one the article already has (or HR
    already decided); the quality guard (`Searcher.phrasing_conflicts`, as the approver sees it)
    makes HR reject it when it would win other articles' phrasings, and HR approves the rest. When
    the gold article does not exist, HR writes it after the --write-after-th complaint on that topic,
    with those complaints as its phrasings. Out-of-scope queries (gold null) teach nothing.
  - the next window's index is built with the approved phrasings and written articles
    (`kb_builder.build.write_search_index`, calibration included).

Per window it prints answered right (the right article shown, or nothing shown when no article in the
knowledge base at that moment answers), the share deflected (the right article shown), the articles and
phrasings the knowledge base has, and the proposals the guard flagged. Beside it, the same task with 5
phrasings per article and every article present (today's figure), on the same later queries. The
curve is plotted to benchmarks/learning.png.

    python benchmarks/learning.py                    # banking77_k5_dev, smp2017_zh_k5_dev, clinc150_k5_dev
    python benchmarks/learning.py --quick            # at most 600 queries per task, 6 windows
    python benchmarks/learning.py --learn-from both  # the product, and complaints alone beside it
    python benchmarks/learning.py --task smp2017_zh_k5_dev --windows 10 --missing 0.2 --write-after 3
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from retrieval import BENCH, build_index, cached_encoder, load_task, make_kb  # noqa: E402

TASKS = ["banking77_k5_dev", "smp2017_zh_k5_dev", "clinc150_k5_dev"]
PLOT = ROOT / "benchmarks" / "learning.png"


@dataclass
class KnowledgeBase:
    """The articles as HR has them at one moment: title and phrasings, the ones not yet written apart."""

    titles: dict[str, str]
    lines: dict[str, list[str]]   # article id -> phrasings, for the articles that exist
    missing: set[str]
    waiting: dict[str, list[str]] = field(default_factory=dict)  # missing article -> complaints on it so far

    def as_task(self) -> dict:
        return {"language": "", "articles": [{"id": a, "title": self.titles[a], "text": "\n".join(lines)}
                                             for a, lines in self.lines.items()]}


def start(task: dict, missing_share: float, seed: int) -> KnowledgeBase:
    """One phrasing per article (its first example line), and missing_share of the articles not written."""
    ids = [a["id"] for a in task["articles"]]
    missing = set(random.Random(f"missing-{seed}").sample(ids, round(missing_share * len(ids))))
    titles = {a["id"]: a["title"] for a in task["articles"]}
    lines = {a["id"]: [a["text"].splitlines()[0].strip()] for a in task["articles"] if a["id"] not in missing}
    return KnowledgeBase(titles, lines, missing)


class Index:
    """The knowledge base built by the product's index stage, searched by the product's suggest path."""

    def __init__(self, kb: KnowledgeBase, language: str):
        from kb_builder.search import Searcher

        self.tmp = tempfile.TemporaryDirectory(prefix="kb-learning-")
        task = kb.as_task()
        task["language"] = language
        self.ids = make_kb(task, Path(self.tmp.name))
        self.slugs = {v: k for k, v in self.ids.items()}
        build_index(Path(self.tmp.name))
        self.searcher = Searcher(Path(self.tmp.name) / "build" / "index")

    def top(self, text: str, threshold: float) -> str | None:
        """The article the form shows first, or None when it stays quiet."""
        answer = self.searcher.suggest(text, limit=3)
        confident = bool(answer.hits) and (answer.confidence is None or answer.confidence >= threshold)
        return self.ids.get(answer.hits[0].id, answer.hits[0].id) if confident else None

    def conflicts(self, article: str, text: str) -> bool:
        """The guard, as the approver sees it; an article written since this build has nothing to check against."""
        if article not in self.slugs:
            return False
        return bool(self.searcher.phrasing_conflicts(self.slugs[article], text))

    def close(self) -> None:
        self.searcher.close()
        self.tmp.cleanup()




def replay(name: str, windows: int, missing: float, write_after: int, max_queries: int | None, seed: int,
           threshold: float, learn_from: str = "all", guard: bool = True) -> dict:
    from intake_api import learning, publish
    from kb_builder.config import load_config

    config = load_config(ROOT / "kb.yml")
    task = load_task(name)
    queries = list(task["queries"])
    random.Random(f"order-{seed}").shuffle(queries)  # one arrival order, the same for every run
    if max_queries:
        queries = queries[:max_queries]
    cached_encoder().fill([q["text"] for q in queries]) if cached_encoder() else None
    language = "en" if task.get("language", "en").startswith("en") else "zh-Hans"
    kb, red = start(task, missing, seed), publish.redactor_for(config, None, [])
    decided: dict[str, list[str]] = {}  # proposals HR rejected, per article: the desk proposes a text once
    size = -(-len(queries) // windows)
    rows, proposed, flagged = [], 0, 0
    t0 = time.perf_counter()
    for w in range(windows):
        batch = queries[w * size:(w + 1) * size]
        if not batch:
            break
        index = Index(kb, language)
        right = deflected = 0
        complaints: list[dict] = []
        for q in batch:
            gold = q["gold"] if q["gold"] in kb.lines else None  # an article not written yet: quiet is right
            shown = index.top(q["text"], threshold)
            right += shown == gold
            if gold is not None and shown == gold:
                deflected += 1
                if learn_from == "all":
                    complaints.append(q)
            else:
                complaints.append(q)
        rows.append({"window": w + 1, "queries": len(batch), "right": right / len(batch),
                     "deflected": deflected / len(batch), "articles": len(kb.lines),
                     "phrasings": sum(map(len, kb.lines.values())), "proposed": proposed, "flagged": flagged})
        for q in complaints:  # the desk's side: link or click, approve, or write the article
            gold = q["gold"]
            text = learning.proposable(config, q["text"], red) if gold is not None else ""
            if not text:
                continue
            if gold in kb.lines:
                if not learning.is_new(text, kb.lines[gold] + decided.get(gold, [])):
                    continue
                proposed += 1
                if guard and index.conflicts(gold, text):
                    flagged += 1
                    decided.setdefault(gold, []).append(text)
                else:
                    kb.lines[gold].append(text)
            else:
                kb.waiting.setdefault(gold, []).append(text)
                if len(kb.waiting[gold]) >= write_after:
                    kb.lines[gold] = kb.waiting.pop(gold)
        index.close()
    half = [r for r in rows if r["window"] > windows // 2]
    later = queries[(windows // 2) * size:]
    return {"name": name, "rows": rows, "seconds": time.perf_counter() - t0,
            "later_right": sum(r["right"] * r["queries"] for r in half) / max(1, sum(r["queries"] for r in half)),
            "later_deflected": sum(r["deflected"] * r["queries"] for r in half) / max(1, sum(r["queries"] for r in half)),
            "today": today(task, later, language, threshold), "proposed": proposed, "flagged": flagged}


def today(task: dict, queries: list[dict], language: str, threshold: float) -> dict:
    """The same task as it ships: 5 phrasings per article, every article present, on the same queries."""
    full = KnowledgeBase({a["id"]: a["title"] for a in task["articles"]},
                         {a["id"]: [x.strip() for x in a["text"].splitlines() if x.strip()] for a in task["articles"]},
                         set())
    index = Index(full, language)
    try:
        shown = [index.top(q["text"], threshold) for q in queries]
    finally:
        index.close()
    n = max(1, len(queries))
    return {"right": sum(s == q["gold"] for s, q in zip(shown, queries)) / n,
            "deflected": sum(s is not None and s == q["gold"] for s, q in zip(shown, queries)) / n}


def plot(results: list[dict], path: Path) -> None:
    """Answered right per window, one line per task, today's 5-phrasing figure dashed (the review's style)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from intake_api.report import CJK_FONTS
    plt.rcParams["font.sans-serif"] = CJK_FONTS
    plt.rcParams["axes.spines.top"] = plt.rcParams["axes.spines.right"] = False
    colours = ["#3949ab", "#26a69a", "#ef6c00", "#1a237e"]
    names = list(dict.fromkeys(r["name"] for r in results))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for res in results:
        colour = colours[names.index(res["name"]) % len(colours)]
        xs = [r["window"] for r in res["rows"]]
        solid = res["mode"] == "all"
        ax.plot(xs, [r["right"] * 100 for r in res["rows"]], marker="o" if solid else None, color=colour,
                linestyle="-" if solid else ":", label=Path(res["name"]).stem + ("" if solid else " (complaints only)"))
        if solid:
            ax.axhline(res["today"]["right"] * 100, color=colour, linestyle="--", linewidth=1)
    ax.set_xlabel("窗口（按到达顺序） · window of queries, in arrival order")
    ax.set_ylabel("答对 · answered right %")
    ax.set_title("每个已答复的投诉都教知识库 · Learning from answered complaints (dashed: 5 phrasings today)",
                 fontsize=9)
    ax.legend(loc="lower right", fontsize=7, frameon=False, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", action="append", help="a task name in KB_BENCH_DIR or a task file (repeatable)")
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--missing", type=float, default=0.2, help="share of articles not written at the start")
    parser.add_argument("--write-after", type=int, default=3, help="complaints on a missing topic before HR writes it")
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--quick", action="store_true", help="at most 600 queries per task, 6 windows")
    parser.add_argument("--plot", type=Path, default=PLOT)
    parser.add_argument("--learn-from", choices=["all", "complaints", "both"], default="all",
                        help="all (the product): a complaint is linked by its handler, a deflection proposes its "
                             "query by its \"this solved it\" click; complaints: only the complaints teach; "
                             "both: one run of each")
    parser.add_argument("--no-guard", action="store_true", help="approve every proposal (measures the guard)")
    args = parser.parse_args()
    from kb_builder.config import load_config

    threshold = load_config(ROOT / "kb.yml").search.confidence_threshold
    names = args.task or [t for t in TASKS if (BENCH / f"{t}.json").is_file()]
    if not names:
        sys.exit(f"no task files in {BENCH}: set KB_BENCH_DIR or pass --task FILE")
    for name in names:
        if not Path(name).is_file() and not (BENCH / f"{name}.json").is_file():
            sys.exit(f"--task {name}: no such file, and no {name}.json in {BENCH} (KB_BENCH_DIR)")
    windows = 6 if args.quick else args.windows
    modes = ["all", "complaints"] if args.learn_from == "both" else [args.learn_from]
    results = []
    for name in names:
        for mode in modes:
            res = replay(name, windows, args.missing, args.write_after, 600 if args.quick else None, args.seed,
                         threshold, mode, not args.no_guard)
            res["mode"] = mode
            results.append(res)
            report(res, args, threshold)
    plot(results, args.plot)
    print(f"\nplot: {args.plot.relative_to(ROOT) if args.plot.is_relative_to(ROOT) else args.plot}")


def report(res: dict, args, threshold: float) -> None:
    learnt = {"all": "the product: complaints linked by their handler, deflections proposed by their \"this solved "
                     "it\" click", "complaints": "only the queries that became complaints linked"}[res["mode"]]
    print(f"\n{Path(res['name']).stem} [{res['mode']}]: {learnt}; 1 phrasing per article at the start, "
          f"{args.missing:.0%} of articles missing, written after {args.write_after} complaints; guard "
          f"{'off' if args.no_guard else 'on'}; threshold {threshold}; {res['seconds']:.0f} s")
    print(f"  {'window':>6}{'queries':>9}{'right':>8}{'deflected':>11}{'articles':>10}{'phrasings':>11}"
          f"{'proposed':>10}{'flagged':>9}")
    for r in res["rows"]:
        print(f"  {r['window']:>6}{r['queries']:>9}{r['right']:>8.3f}{r['deflected']:>11.3f}{r['articles']:>10}"
              f"{r['phrasings']:>11}{r['proposed']:>10}{r['flagged']:>9}")
    ok = res["later_right"] >= res["today"]["right"]
    print(f"  second half: answered right {res['later_right']:.3f}, deflected {res['later_deflected']:.3f}; "
          f"today with 5 phrasings, same queries: {res['today']['right']:.3f}, deflected "
          f"{res['today']['deflected']:.3f}  [{'target met' if ok else 'below target'}]")


if __name__ == "__main__":
    main()
