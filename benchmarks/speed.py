"""Speed at size: index build time and GET /api/v1/suggest latency with 10,000 articles, beside tantivy.

    pip install -e '.[bench]'
    python benchmarks/speed.py                      # generates 10,000 articles in a temporary folder
    python benchmarks/speed.py --kb /tmp/kb10k/kb.yml   # an existing knowledge base (its index is rebuilt)
    python benchmarks/speed.py --recogniser-cost     # suggest with and without the danger/harassment recogniser

It builds the search index the way `kb build` does (Whoosh, then sentence
vectors; the MkDocs site is not part of the index and not timed here: see
benchmarks/rebuild.py), then times /api/v1/suggest through the real Flask app
(test client) for short form queries (at most 30 characters) and for
300-character complaint texts, and tantivy over the same tokens (our
analyser's terms, the same four fields and boosts, top 5) as the speed
reference. Queries are the sample content's own phrasings and bodies, which
the generated articles are recombined from. Ratios are printed because the
machine is noisy.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def sample_queries(rng: random.Random) -> tuple[list[str], list[str]]:
    """Short phrasings (<= 30 characters) and 300-character texts from the sample content."""
    from kb_builder.config import load_config
    from kb_builder.sources import read_sources

    sources = [s for s in read_sources(load_config(ROOT / "kb.yml")) if getattr(s.meta, "published", True)]
    short = [q for s in sources for q in getattr(s.meta, "questions", ()) if len(q) <= 30]
    bodies = [" ".join(s.body.split()) for s in sources]
    long = []
    for _ in range(100):
        text = ""
        while len(text) < 300:
            text += rng.choice(bodies) + " "
        long.append(text[:300])
    rng.shuffle(short)
    return short[:200], long


def build_index(config) -> tuple[float, list]:
    """Build the index as `kb build --full` does (Whoosh and vectors side by side), from nothing."""
    from kb_builder import articles as articles_mod
    from kb_builder.build import write_search_index
    from kb_builder.sources import read_sources

    articles = articles_mod.published_articles(read_sources(config))
    shutil.rmtree(config.index_dir, ignore_errors=True)  # nothing to reuse: a first build
    config.index_dir.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".index.speed-", dir=config.index_dir.parent))
    start = time.perf_counter()
    write_search_index(config, articles, folder, incremental=False)
    seconds = time.perf_counter() - start
    folder.rename(config.index_dir)
    return seconds, articles


def time_suggest(config, queries: list[str], recogniser: bool = True) -> list[float]:
    """Milliseconds per GET /api/v1/suggest; recogniser=False: as with no examples file (category rules only)."""
    from intake_api import create_app, sensitive

    if not recogniser:
        real, sensitive.recogniser = sensitive.recogniser, lambda kb: None
        try:
            return time_suggest(config, queries)
        finally:
            sensitive.recogniser = real

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"KB_CONFIG": str(config.root / "kb.yml"), "KB_OVERRIDES": {"database_url": f"sqlite:///{tmp}/speed.db"},
                          "RATELIMIT_ENABLED": False, "SERVE_SITE": False})
        client = app.test_client()
        assert client.get("/api/v1/suggest", query_string={"q": "热身 warm up", "all": 1}).status_code == 200
        ms = []
        for q in queries:
            start = time.perf_counter()
            res = client.get("/api/v1/suggest", query_string={"q": q, "limit": 5})
            ms.append((time.perf_counter() - start) * 1000)
            assert res.status_code == 200, res.get_data(as_text=True)
        app.extensions["db_engine"].dispose()
        return ms


def tantivy_reference(articles: list, short: list[str], long: list[str]) -> tuple[float, list[float], list[float]]:
    import tantivy

    from kb_builder.analysis import tokens
    from kb_builder.index import document
    from kb_builder.search import FIELD_BOOSTS

    builder = tantivy.SchemaBuilder()
    for field in FIELD_BOOSTS:
        builder.add_text_field(field, stored=False, tokenizer_name="whitespace")
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    schema = builder.build()
    from kb_builder import analysis
    analysis._tokens.cache_clear()  # tokenising is part of both builds: no head start from the token cache
    with tempfile.TemporaryDirectory() as tmp:
        index = tantivy.Index(schema, path=tmp)
        start = time.perf_counter()
        writer = index.writer()
        for art in articles:
            doc = document(art)
            writer.add_document(tantivy.Document(id=art.id, **{f: " ".join(tokens(doc[f])) for f in FIELD_BOOSTS}))
        writer.commit()
        index.reload()
        build_s = time.perf_counter() - start
        searcher = index.searcher()

        def run(text: str) -> None:
            terms = list(dict.fromkeys(tokens(text)))[:16]
            clauses = [(tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, t), b))
                       for t in terms for f, b in FIELD_BOOSTS.items()]
            if clauses:
                searcher.search(tantivy.Query.boolean_query(clauses), 5)

        def timed(queries: list[str]) -> list[float]:
            ms = []
            for q in queries:
                start = time.perf_counter()
                run(q)
                ms.append((time.perf_counter() - start) * 1000)
            return ms

        run("热身")
        return build_s, timed(short), timed(long)


def recogniser_cost(config, short: list[str], long: list[str]) -> None:
    """Suggest p50/p95 with and without the recogniser, the two alternated so that the machine's drift is shared."""
    runs: dict[tuple[str, bool], list[float]] = {}
    for _round in range(3):
        for on in (True, False):
            for label, queries in (("short", short), ("300 chars", long)):
                runs.setdefault((label, on), []).extend(time_suggest(config, queries, recogniser=on))
    print(f"{'':<12}{'with p50':>10}{'with p95':>10}{'without p50':>13}{'without p95':>13}{'p95 ratio':>11}")
    for label in ("short", "300 chars"):
        (w50, w95), (o50, o95) = percentiles(runs[(label, True)]), percentiles(runs[(label, False)])
        print(f"{label:<12}{w50:>10.1f}{w95:>10.1f}{o50:>13.1f}{o95:>13.1f}{w95 / o95:>10.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kb", type=Path, help="kb.yml of an existing knowledge base (default: generate one)")
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--recogniser-cost", action="store_true",
                    help="time suggest with and without the recogniser, alternated over three rounds (issue 18)")
    args = ap.parse_args()
    from kb_builder.analysis import warm_up
    from kb_builder.config import load_config

    tmp = None
    if args.kb is None:
        tmp = Path(tempfile.mkdtemp(prefix="kb-speed-"))
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate_kb.py"), str(tmp / "kb"),
                        "--articles", str(args.articles)], check=True, stdout=subprocess.DEVNULL)
        args.kb = tmp / "kb" / "kb.yml"
    try:
        warm_up()
        config = load_config(args.kb)
        rng = random.Random(7)
        short, long = sample_queries(rng)
        build_s, articles = build_index(config)
        if args.recogniser_cost:
            recogniser_cost(config, short, long)
            return
        suggest_short, suggest_long = time_suggest(config, short), time_suggest(config, long)
        tv_build, tv_short, tv_long = tantivy_reference(articles, short, long)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"{len(articles)} articles; {len(short)} short queries (<= 30 characters), "
          f"{len(long)} texts of 300 characters")
    print(f"index build (Whoosh + sentence vectors): {build_s:.1f} s; tantivy {tv_build:.1f} s "
          f"(ratio {build_s / tv_build:.1f}x)")
    print(f"  {'':<34}{'p50 ms':>8}{'p95 ms':>8}")
    rows = [("suggest, short (Flask, full path)", suggest_short), ("tantivy, short (same tokens)", tv_short),
            ("suggest, 300 chars (Flask)", suggest_long), ("tantivy, 300 chars (same tokens)", tv_long)]
    for label, ms in rows:
        p50, p95 = percentiles(ms)
        print(f"  {label:<34}{p50:>8.1f}{p95:>8.1f}")
    for label, ours, ref in (("short", suggest_short, tv_short), ("300 chars", suggest_long, tv_long)):
        print(f"ratio suggest / tantivy, {label}: p50 {percentiles(ours)[0] / percentiles(ref)[0]:.1f}x, "
              f"p95 {percentiles(ours)[1] / percentiles(ref)[1]:.1f}x")


if __name__ == "__main__":
    main()
