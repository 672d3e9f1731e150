"""search.IndexTerms: the term statistics alerts and reports weigh words with, read from the real index."""

from __future__ import annotations

import math
import os
from pathlib import Path

from intake_api.alerts import TermWeights
from kb_builder.articles import Article
from kb_builder.index import write_index
from kb_builder.search import IndexTerms


def _article(art_id: str, title: str, body: str) -> Article:
    return Article(id=art_id, kind="case", title=title, category="facilities", tags=(), language="zh-Hans",
                   questions=(), body=body, resolved=None, source=Path(f"{art_id}.md"))


def _swap_in(tmp_path: Path, live: Path, articles: list[Article]) -> None:
    """What a build does: write a new index beside the live one, then rename it into place."""
    new = tmp_path / "new-index"
    write_index(articles, new)
    if live.exists():
        os.rename(live, tmp_path / f"old-{live.stat().st_ino}")
    os.rename(new, live)


def test_counts_follow_a_rebuild(tmp_path):
    live = tmp_path / "index"
    terms = IndexTerms(live)
    assert terms.counts().generation is None and terms.counts().frequency("电梯") == 0

    _swap_in(tmp_path, live, [_article("a", "电梯停运", "电梯坏了"), _article("b", "食堂", "饭菜太咸")])
    first = terms.counts()
    assert first.documents == 2
    assert first.frequency("电梯") == 2  # title and body of one article: one count per scored field
    assert first.frequency("食堂") == 1
    assert first.frequency("停车") == 0

    _swap_in(tmp_path, live, [_article(x, "停车", "停车位不够") for x in "abc"])
    second = terms.counts()
    assert second.generation != first.generation
    assert (second.documents, second.frequency("停车"), second.frequency("电梯")) == (3, 6, 0)


def test_term_weights_are_idf_over_the_current_index(tmp_path):
    live = tmp_path / "index"
    _swap_in(tmp_path, live, [_article("a", "电梯停运", "电梯坏了"), _article("b", "食堂", "饭菜太咸")])
    weights = TermWeights(live)
    idf = weights.idf_table()
    assert idf("食堂") == math.log(3 / 1.5) + 1.0
    assert idf("停车") > idf("食堂") > idf("电梯")
    assert idf("#号楼") == math.log(3 / 0.5) + 1.0  # a CJK character pair is never an index term
    weights.norm_cache()["some text"] = 1.0

    _swap_in(tmp_path, live, [_article(x, "食堂", "食堂") for x in "abc"])
    assert weights.idf_table()("食堂") == math.log(4 / 6.5) + 1.0
    assert weights.norm_cache() == {}  # norms from the old index are not reused
