"""Incremental rebuild benchmark: one changed article in a large knowledge base, versus a full build.

    python benchmarks/generate_kb.py /tmp/kb10k          # 10,000 generated articles
    python benchmarks/rebuild.py /tmp/kb10k/kb.yml
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_builder.build import build  # noqa: E402
from kb_builder.config import load_config  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kb_yml", type=Path)
    args = ap.parse_args()
    cfg = load_config(args.kb_yml)
    start = time.perf_counter()
    full = build(cfg, full=True)
    full_s = time.perf_counter() - start
    case = sorted((cfg.content_dir / "cases").glob("*.md"))[len(list((cfg.content_dir / "cases").glob("*.md"))) // 2]
    text = case.read_text(encoding="utf-8")
    case.write_text(text.replace("## ", "## ", 1) + f"\n<!-- edited {time.time()} -->\n", encoding="utf-8")
    start = time.perf_counter()
    inc = build(cfg)
    inc_s = time.perf_counter() - start
    print(f"articles {full.cases + full.sops}")
    print(f"full build        {full_s:7.1f} s  {full.seconds}")
    print(f"incremental build {inc_s:7.1f} s  {inc.seconds}  ({inc.pages_written} pages written)")
    print(f"ratio full / incremental: {full_s / inc_s:.1f}x")


if __name__ == "__main__":
    main()
