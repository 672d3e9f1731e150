"""Rebuild benchmark: a full build, MkDocs alone on the same pages, and one-article rebuilds.

    python benchmarks/generate_kb.py /tmp/kb10k          # 10,000 generated articles
    python benchmarks/rebuild.py /tmp/kb10k/kb.yml

The one-article rebuild is timed twice (the first after the full build, the
second after another edit): the figure that matters is how it grows with the
knowledge base (issue 25: at most 1.5 times the same rebuild at 1,000).

Several knowledge bases (`rebuild.py /tmp/kb1k/kb.yml /tmp/kb10k/kb.yml
--rebuilds-only --rebuilds 3`) are rebuilt in turn, round after round, with
the machine's reference loop before each round: on a shared machine the
ratio of two figures of the same round is what to compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_builder.build import STAGE, build  # noqa: E402
from kb_builder.config import load_config  # noqa: E402


def mkdocs_alone(cfg) -> float:
    """MkDocs' own build of the staged docs tree with the project's mkdocs.yml, no plugin of ours."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config as mkdocs_config

    with tempfile.TemporaryDirectory() as out:
        mc = mkdocs_config(config_file=str(cfg.mkdocs_config), docs_dir=str(cfg.index_dir.parent / STAGE / "docs"),
                           site_dir=out)
        start = time.perf_counter()
        mkdocs_build(mc)
        return time.perf_counter() - start


def edit_one(cfg, n: int) -> None:
    """Add a visible sentence to one article (new words: its page, index entry and site search change)."""
    cases = sorted((cfg.content_dir / "cases").glob("*.md"))
    case = cases[(len(cases) // 2 + n) % len(cases)]
    stamp = f"{time.time():.0f}"
    case.write_text(case.read_text(encoding="utf-8") + f"\n补充说明 {n}：复核编号 R{stamp}。\n", encoding="utf-8")


def measure(kb_yml: Path, rebuilds: int = 2, full_build: bool = True) -> dict:
    """Seconds of a full build, MkDocs alone, and each one-article rebuild; the site's size.

    full_build=False: the knowledge base is already built; only the rebuilds are timed.
    """
    cfg = load_config(kb_yml)
    out: dict = {"articles": len(list((cfg.content_dir / "cases").glob("*.md"))), "rebuilds": []}
    if full_build:
        start = time.perf_counter()
        full = build(cfg, full=True)
        out.update(articles=full.cases + full.sops, full_s=time.perf_counter() - start, full_stages=full.seconds,
                   mkdocs_alone_s=mkdocs_alone(cfg))
    for n in range(rebuilds):
        edit_one(cfg, n)
        start = time.perf_counter()
        inc = build(cfg)
        out["rebuilds"].append((time.perf_counter() - start, inc.seconds, inc.pages_written))
    files = [p for p in cfg.site_dir.rglob("*") if p.is_file()]
    out["site_files"], out["site_mb"] = len(files), sum(p.stat().st_size for p in files) / 1e6
    return out


def reference() -> float:
    """Seconds for `sum(range(10**8))`: the machine's speed now (about 1.2 s when it is quiet)."""
    start = time.perf_counter()
    sum(range(10**8))
    return time.perf_counter() - start


def interleaved(kb_ymls: list[Path], rounds: int) -> None:
    """One-article rebuilds of built knowledge bases in turn; a reference loop before each round."""
    cfgs = [load_config(k) for k in kb_ymls]
    sizes = [len(list((c.content_dir / "cases").glob("*.md"))) for c in cfgs]
    for n in range(rounds):
        ref = reference()
        row = []
        for cfg in cfgs:
            edit_one(cfg, n)
            start = time.perf_counter()
            inc = build(cfg)
            row.append((time.perf_counter() - start, inc))
        figures = "  ".join(f"{size} articles {s:6.2f} s {inc.seconds}" for size, (s, inc) in zip(sizes, row))
        ratio = row[-1][0] / row[0][0]
        print(f"round {n + 1}: reference {ref:.2f} s  {figures}  ratio {ratio:.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kb_yml", type=Path, nargs="+")
    ap.add_argument("--rebuilds", type=int, default=2)
    ap.add_argument("--rebuilds-only", action="store_true", help="the knowledge base is built: time the rebuilds only")
    args = ap.parse_args()
    if len(args.kb_yml) > 1:
        if not args.rebuilds_only:
            ap.error("several knowledge bases: build them first, then time their rebuilds with --rebuilds-only")
        interleaved(args.kb_yml, args.rebuilds)
        return
    print(f"reference {reference():.2f} s", flush=True)
    r = measure(args.kb_yml[0], args.rebuilds, full_build=not args.rebuilds_only)
    print(f"articles {r['articles']}, site {r['site_mb']:.0f} MB in {r['site_files']} files")
    if "full_s" in r:
        print(f"full build        {r['full_s']:7.1f} s  {r['full_stages']}")
        print(f"mkdocs alone      {r['mkdocs_alone_s']:7.1f} s  (our site stage: {r['full_stages'].get('site', 0):.1f} s)")
    for s, stages, pages in r["rebuilds"]:
        print(f"one-article build {s:7.1f} s  {stages}  ({pages} pages written)")


if __name__ == "__main__":
    main()
