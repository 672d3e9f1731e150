"""Generate a large bilingual knowledge base (default 10,000 cases) for speed benchmarks.

    python benchmarks/generate_kb.py /tmp/kb10k --articles 10000
    .venv/bin/kb --config /tmp/kb10k/kb.yml build
    python benchmarks/load.py --kb /tmp/kb10k/kb.yml --db postgresql

Articles use a synthetic vocabulary shaped like a real one (vocabulary.py:
about 100,000 distinct terms at 10,000 articles, Zipf-like frequencies,
Chinese and English); about one in five is English. `queries.jsonl` beside
kb.yml holds search queries written from each sampled article's subject
words with other wording (never a line of the article), with the article
they should find. `--style recombined` gives the old knowledge base: the
sample cases' phrasings recombined with places and details (2,160 distinct
terms at 10,000 articles).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

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
    ap.add_argument("--style", choices=("realistic", "recombined"), default="realistic")
    ap.add_argument("--queries", type=int, default=300, help="queries written into queries.jsonl")
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
    # Everything of content/ but the cases: SOPs, HR's examples of danger and harassment, synonyms and the
    # notification templates (without these the app refuses to start, so speed.py could not run).
    shutil.copytree(ROOT / "content", target / "content", ignore=lambda folder, names: (
        ["cases"] if Path(folder) == ROOT / "content" else []))
    cases = target / "content" / "cases"
    cases.mkdir(parents=True)
    if args.style == "realistic":
        realistic(cases, args.articles, args.queries, args.seed, [s.meta.category for s in sources])
        return
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


def realistic(cases: Path, count: int, queries: int, seed: int, categories: list[str]) -> None:
    """Articles and queries from the synthetic vocabulary (see the module docstring)."""
    from vocabulary import (EN_QUERIES, EN_TEMPLATES, EN_TITLES, ZH_QUERIES, ZH_TEMPLATES, ZH_TITLES,
                            Vocabulary)
    from kb_builder.analysis import tokens

    rng = random.Random(seed)
    vocab = Vocabulary(seed)
    terms: set[str] = set()
    asked = set(rng.sample(range(count), min(queries, count)))
    with open(cases.parents[1] / "queries.jsonl", "w", encoding="utf-8") as out:
        for i in range(count):
            lang = "en" if rng.random() < 0.2 else "zh"
            topic = vocab.topic(rng, lang)
            titles, lines = (EN_TITLES, EN_TEMPLATES) if lang == "en" else (ZH_TITLES, ZH_TEMPLATES)
            sep = " " if lang == "en" else ""
            section = lambda n: sep.join(vocab.fill(rng, rng.choice(lines), lang, topic)  # noqa: E731
                                         for _ in range(n))
            front = {"id": f"gen-{i:05d}", "title": vocab.fill(rng, rng.choice(titles), lang, topic[:2]),
                     "category": rng.choice(categories), "tags": topic[:2],
                     "language": "en" if lang == "en" else "zh-Hans",
                     "questions": [vocab.fill(rng, rng.choice(titles), lang, topic) for _ in range(4)],
                     "resolved": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}", "published": True}
            heads = ("Problem", "Cause", "What to do") if lang == "en" else ("问题", "原因", "处理办法")
            body = "".join(f"## {h}\n\n{section(rng.randint(2, 6))}\n\n" for h in heads)
            (cases / f"gen-{i:05d}.md").write_text("---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
                                                   + "---\n\n" + body, encoding="utf-8")
            terms.update(tokens(front["title"] + " " + " ".join(front["questions"]) + " " + body))
            if i in asked:
                a, b = rng.sample(topic, 2)
                q = rng.choice(EN_QUERIES if lang == "en" else ZH_QUERIES).format(a=a, b=b)
                out.write(json.dumps({"q": q, "article": front["id"]}, ensure_ascii=False) + "\n")
    print(f"Wrote {count} cases into {cases}: {len(terms)} distinct terms; {len(asked)} queries in "
          f"{cases.parents[1] / 'queries.jsonl'}")


if __name__ == "__main__":
    main()
