"""`kb build` end to end on the sample content, with a real mkdocs build."""

import hashlib
import itertools
import json
from pathlib import Path

import pytest

from kb_builder.build import build
from kb_builder.config import load_config
from kb_builder.errors import BuildError, ContentError
from kb_builder.index import open_index
from kb_builder.sources import read_sources

from conftest import copy_project, write_case


def snapshot(*folders: Path) -> dict[str, str]:
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def sample_cases(root: Path):
    return [s for s in read_sources(load_config(root / "kb.yml")) if s.kind == "case"]


def test_every_published_case_gets_a_page_and_an_index_entry(built_kb):
    site = built_kb / "site"
    ix = open_index(built_kb / "build" / "index")
    with ix.searcher() as searcher:
        indexed = {doc["id"] for doc in searcher.all_stored_fields()}
    for case in sample_cases(built_kb):
        page = site / "faq" / case.meta.category / case.meta.id / "index.html"
        if case.meta.published:
            assert page.is_file(), page
            assert case.meta.id in indexed
        else:
            assert not page.exists()
            assert case.meta.id not in indexed


def test_unpublished_cases_appear_nowhere(built_kb):
    drafts = [c for c in sample_cases(built_kb) if not c.meta.published]
    assert drafts, "the sample content should hold at least one draft"
    everything = "".join(p.read_text(encoding="utf-8", errors="ignore")
                         for p in (built_kb / "site").rglob("*") if p.is_file() and p.suffix in {".html", ".json", ".xml"})
    everything += "".join(p.read_text(encoding="utf-8") for p in (built_kb / "docs").rglob("*.md"))
    for draft in drafts:
        assert draft.meta.id not in everything
        assert draft.meta.title not in everything


def test_category_index_sop_and_form_pages_exist(built_kb):
    site = built_kb / "site"
    cfg = load_config(built_kb / "kb.yml")
    used = {c.meta.category for c in sample_cases(built_kb) if c.meta.published}
    for cat in used:
        page = (site / "faq" / cat / "index.html").read_text(encoding="utf-8")
        assert cfg.category(cat).zh in page
    assert (site / "sop" / "index.html").is_file()
    assert len(list((site / "sop").glob("*/index.html"))) >= 8
    form = (site / "complaint" / "index.html").read_text(encoding="utf-8")
    assert 'id="kb-complaint-form"' in form and 'id="kb-description"' in form
    home = (site / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh"' in home and 'for="__search"' in home


def static_search_index(root: Path) -> tuple[dict, dict[str, list[int]], list[list]]:
    """The site search's static index: (its description in the stub, postings by term, documents)."""
    import gzip
    kb = json.loads((root / "site" / "search" / "search_index.json").read_text(encoding="utf-8"))["config"]["kb"]
    folder = root / "site" / kb["path"]
    load = lambda p: json.loads(gzip.decompress(p.read_bytes()))  # noqa: E731
    postings = {t: rows for p in (folder / "t").iterdir() for t, rows in load(p)["t"].items()}
    docs = [row for p in sorted((folder / "d").iterdir(), key=lambda p: int(p.name.split(".")[0])) for row in load(p)]
    return kb, postings, docs


def test_site_search_index_segments_chinese_and_folds_traditional(built_kb):
    kb, postings, docs = static_search_index(built_kb)
    assert kb["documents"] == len(docs) and [d[0] for d in docs] == sorted(d[0] for d in docs)
    number = next(i for i, d in enumerate(docs) if d[0] == "faq/facilities/water-dispenser-not-working/")
    assert number in itertools.accumulate(postings["饮水机"][::2])  # a jieba word, not characters
    # The Traditional article is indexed under Simplified words; the browser folds queries with the map.
    meal = next(i for i, d in enumerate(docs) if d[0].endswith("/overtime-meal-allowance/"))
    assert meal in itertools.accumulate(postings["加班"][::2]) and kb["fold"]["飲"] == "饮"


def test_invalid_content_leaves_the_previous_build_untouched(kb_tree):
    cfg = load_config(kb_tree / "kb.yml")
    build(cfg)
    live = (kb_tree / "site", kb_tree / "build" / "index", kb_tree / "docs" / "faq")
    before = snapshot(*live)
    write_case(kb_tree, "broken-case", category="no-such-category")
    with pytest.raises(ContentError):
        build(cfg)
    assert snapshot(*live) == before


def test_a_failing_site_build_leaves_the_previous_build_untouched(kb_tree):
    cfg = load_config(kb_tree / "kb.yml")
    build(cfg)
    live = (kb_tree / "site", kb_tree / "build" / "index", kb_tree / "docs" / "faq")
    before = snapshot(*live)
    # Valid content, but a broken link fails the mkdocs stage in strict mode,
    # after the new index has already been written.
    write_case(kb_tree, "new-case", body="## 问题\n\n见[不存在的页面](../nowhere.md)。\n")
    with pytest.raises(BuildError):
        build(cfg, strict=True)
    assert snapshot(*live) == before
    leftovers = [p.name for p in (kb_tree, kb_tree / "build", kb_tree / "docs") for p in p.iterdir()
                 if p.name.startswith(".") and ".new-" in p.name]
    assert leftovers == []


def test_the_same_content_builds_to_the_same_output(tmp_path):
    outputs = []
    for name in ("one", "two"):
        root = copy_project(tmp_path / name)
        build(load_config(root / "kb.yml"))
        site = {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "site").rglob("*")) if p.is_file()}
        with open_index(root / "build" / "index").searcher() as s:
            stored = sorted(json.dumps(d, sort_keys=True, ensure_ascii=False) for d in s.all_stored_fields())
        generated = {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "docs").rglob("*.md"))}
        outputs.append((site, stored, generated))
    assert outputs[0][0].keys() == outputs[1][0].keys()
    different = [k for k in outputs[0][0] if outputs[0][0][k] != outputs[1][0][k]]
    assert different == []
    assert outputs[0][1] == outputs[1][1]
    assert outputs[0][2] == outputs[1][2]


def _locations(root: Path) -> set[str]:
    return {d[0] for d in static_search_index(root)[2]}


def _related(cfg) -> dict[str, list[tuple[str, str]]]:
    """Each case's related articles as its page links them: id and title."""
    from kb_builder.articles import published_articles
    from kb_builder.pages import related_articles
    return {a: [(r.id, r.title) for r in rel] for a, rel in related_articles(published_articles(read_sources(cfg))).items()}


def test_an_incremental_build_equals_a_full_one(tmp_path):
    one = copy_project(tmp_path / "one")
    cfg = load_config(one / "kb.yml")
    assert build(cfg).incremental is False
    related_before = _related(cfg)
    cases = one / "content" / "cases"
    changed = (cases / "shuttle-late.md").read_text(encoding="utf-8").replace("班车经常晚点，上班迟到", "班车经常晚点，害我上班迟到")
    (cases / "shuttle-late.md").write_text(changed, encoding="utf-8")
    (cases / "dorm-noise.md").unlink()
    write_case(one, "elevator-buttons", title="电梯按钮失灵怎么办", tags="[电梯]",
               questions="\n  - 电梯按钮失灵", body="## 问题\n\n电梯按钮按了没反应。\n")
    result = build(cfg)
    assert result.incremental is True
    # The three cases, their category pages, the FAQ index, the tags page, the home page (category counts),
    # and the cases whose related articles changed (the new one, the removed one, the retitled one).
    related_after = _related(cfg)
    relinked = {a for a in related_after if a in related_before and related_after[a] != related_before[a]}
    assert 0 < len(relinked) and result.pages_written <= 9 + len(relinked)
    site = one / "site"
    assert (site / "faq" / "facilities" / "elevator-buttons" / "index.html").is_file()
    assert not (site / "faq" / "dormitory" / "dorm-noise").exists()
    assert "害我上班迟到" in (site / "faq" / "shuttle" / "shuttle-late" / "index.html").read_text(encoding="utf-8")
    assert "电梯按钮失灵怎么办" in (site / "faq" / "tags" / "index.html").read_text(encoding="utf-8")

    # The same content built from scratch gives the same pages and the same search entries.
    two = copy_project(tmp_path / "two")
    for path in (two / "content" / "cases").iterdir():
        path.unlink()
    for path in cases.iterdir():
        (two / "content" / "cases" / path.name).write_bytes(path.read_bytes())
    build(load_config(two / "kb.yml"), full=True)
    assert _locations(one) == _locations(two)
    assert static_search_index(one)[0]["version"] == static_search_index(two)[0]["version"]  # the same files
    pages = lambda root: sorted(str(p.relative_to(root / "site")) for p in (root / "site").rglob("index.html"))  # noqa: E731
    assert pages(one) == pages(two)
    for rel in ("faq/shuttle/shuttle-late/index.html", "faq/tags/index.html", "faq/dormitory/index.html"):
        assert (one / "site" / rel).read_bytes() == (two / "site" / rel).read_bytes(), rel


def test_a_theme_or_navigation_change_rebuilds_everything(tmp_path):
    root = copy_project(tmp_path / "kb")
    cfg = load_config(root / "kb.yml")
    build(cfg)
    assert build(cfg).incremental is True
    (root / "docs" / "index.md").write_text((root / "docs" / "index.md").read_text(encoding="utf-8") + "\n更新。\n",
                                            encoding="utf-8")
    assert build(cfg).incremental is False
    write_case(root, "new-category-case", category="supplies")  # same categories: nav unchanged
    assert build(cfg).incremental is True


def test_an_incremental_index_update_finds_the_same_documents(tmp_path):
    root = copy_project(tmp_path / "kb")
    cfg = load_config(root / "kb.yml")
    build(cfg)
    (root / "content" / "cases" / "dorm-noise.md").unlink()
    write_case(root, "elevator-buttons", title="电梯按钮失灵怎么办", questions="\n  - 电梯按钮失灵")
    assert build(cfg).incremental is True
    from kb_builder.search import Searcher
    searcher = Searcher(root / "build" / "index")
    assert searcher.search("电梯按钮失灵")[0].id == "elevator-buttons"
    assert all(h.id != "dorm-noise" for h in searcher.search("宿舍太吵了", limit=10))
    with open_index(root / "build" / "index").searcher() as s:
        ids = sorted(d["id"] for d in s.all_stored_fields())
    assert "dorm-noise" not in ids and "elevator-buttons" in ids and len(ids) == len(set(ids))
