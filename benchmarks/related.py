"""Time the build's related-articles step (kb_builder.pages.related_articles) on a large knowledge base.

    python benchmarks/related.py [--articles 10000]

The cases are variants made from the sample cases (their ids renamed, a word of another case's
title added, three of their phrasings kept), so words repeat as they do in a large real base. Prints
the reference speed (`python -c "sum(range(10**8))"`) before and after: compare on a quiet machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def reference() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "sum(range(10**8))"], check=True)
    return time.perf_counter() - start


def main() -> None:
    from kb_builder.articles import published_articles
    from kb_builder.config import load_config
    from kb_builder.pages import related_articles
    from kb_builder.sources import read_sources

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    args = parser.parse_args()
    cfg = load_config(ROOT / "kb.yml")
    base = [a for a in published_articles(read_sources(cfg)) if a.kind == "case"]
    rng = random.Random(1)
    cases = []
    for i in range(args.articles):
        a = rng.choice(base)
        cases.append(dataclasses.replace(a, id=f"{a.id}-{i}", title=f"{a.title} {rng.choice(base).title[:4]}",
                                         questions=tuple(rng.sample(a.questions, min(3, len(a.questions))))))
    print(f"reference speed: {reference():.2f} s")
    start = time.perf_counter()
    related = related_articles(cases)
    took = time.perf_counter() - start
    print(f"related_articles, {len(cases):,} cases: {took:.2f} s "
          f"({sum(len(r) for r in related.values()) / len(related):.1f} related each)")
    print(f"reference speed: {reference():.2f} s")


if __name__ == "__main__":
    main()
