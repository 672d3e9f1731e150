"""Generate a large bilingual knowledge base (default 10,000 cases) for speed benchmarks.

    python benchmarks/generate_kb.py /tmp/kb10k --articles 10000
    .venv/bin/kb --config /tmp/kb10k/kb.yml build
    python benchmarks/load.py --kb /tmp/kb10k/kb.yml --db postgresql

Articles are made from the sample cases' phrasings, recombined with places,
objects and details so that they differ; about one in five is English.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLACES_ZH = ["A 栋", "B 栋", "3 号楼", "行政楼", "研发中心", "二号宿舍楼", "一号食堂", "东门", "地下车库", "培训中心"]
FLOORS_ZH = ["一楼", "二楼", "三楼", "五楼", "八楼", "负一层"]
PLACES_EN = ["Building A", "Building B", "the R&D centre", "the east gate", "the training centre", "Dorm 2"]
DETAILS_ZH = ["已经好几天了", "每天早上都这样", "影响整个部门", "上周刚修过", "找了前台也没用", "新来的同事也遇到了"]
DETAILS_EN = ["for several days now", "every morning", "for the whole team", "again after last week's repair"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", type=Path)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from kb_builder.config import load_config
    from kb_builder.sources import read_sources

    rng = random.Random(args.seed)
    sources = [s for s in read_sources(load_config(ROOT / "kb.yml")) if s.kind == "case" and s.meta.published]
    zh = [s for s in sources if s.meta.language != "en"]
    en = [s for s in sources if s.meta.language == "en"]
    target = args.target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("kb.yml", "mkdocs.yml"):
        shutil.copy(ROOT / name, target / name)
    for name in ("docs", "overrides"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("faq", "sop"))
    shutil.copytree(ROOT / "content" / "sops", target / "content" / "sops")
    if (ROOT / "content" / "recognise.yml").exists():  # HR's examples of danger and harassment
        shutil.copy(ROOT / "content" / "recognise.yml", target / "content" / "recognise.yml")
    cases = target / "content" / "cases"
    cases.mkdir(parents=True)
    for i in range(args.articles):
        english = rng.random() < 0.2
        src = rng.choice(en if english else zh)
        m = src.meta
        if english:
            place, detail = rng.choice(PLACES_EN), rng.choice(DETAILS_EN)
            title = f"{m.title} ({place})"
            questions = [f"{q} in {place}" for q in rng.sample(list(m.questions), min(4, len(m.questions)))] + [f"{m.questions[0]} {detail}"]
        else:
            place, floor, detail = rng.choice(PLACES_ZH), rng.choice(FLOORS_ZH), rng.choice(DETAILS_ZH)
            title = f"{place}{floor}：{m.title}"
            questions = [f"{place}{floor}{q}" for q in rng.sample(list(m.questions), min(4, len(m.questions)))] + [f"{m.questions[0]}，{detail}"]
        front = {"id": f"gen-{i:05d}", "title": title, "category": m.category, "tags": list(m.tags),
                 "language": m.language, "questions": questions, "resolved": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
                 "published": True}
        body = src.body.replace("。", f"（{place}）。", 1) if not english else src.body
        (cases / f"gen-{i:05d}.md").write_text("---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
                                               + "---\n\n" + body, encoding="utf-8")
    print(f"Wrote {args.articles} cases into {cases}")


if __name__ == "__main__":
    main()
