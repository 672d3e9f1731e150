"""A one-article rebuild does only that article's work, and gives what a full build of the same content gives."""

import gzip
import itertools
import json
from pathlib import Path

import pytest

from kb_builder import site_search
from kb_builder.build import STAGE, build
from kb_builder.config import load_config
from kb_builder.memo import MEMO
from kb_builder.search import Searcher

from conftest import copy_project

QUERIES = ("班车晚点", "班车晚点 复核", "饮水机坏了", "宿舍太吵", "加班餐补", "VPN 连不上", "工资少发了")
EDIT = "\n补充说明：班车调度已复核，晚点登记后按月汇总。\n"


def _files(site: Path) -> dict[str, bytes]:
    """Every file of the site except the static search index (compared by its content below)."""
    return {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*")
            if p.is_file() and not str(p.relative_to(site)).startswith(("search/kb/", "search/search_index.json"))}


def _static_index(site: Path) -> tuple[dict, dict[str, list[tuple[int, int]]], list, dict]:
    """(stub description, postings as (document, weight) by term, documents, word forms) as the browser reads them."""
    kb = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["config"]["kb"]
    folder = site / kb["path"]
    load = lambda p: json.loads(gzip.decompress(p.read_bytes()))  # noqa: E731
    shards = [load(p) for p in (folder / "t").iterdir()]
    postings = {t: list(zip(itertools.accumulate(rows[::2]), rows[1::2])) for s in shards for t, rows in s["t"].items()}
    forms = {w: stem for s in shards for w, stem in s["f"].items()}
    docs = [row for p in sorted((folder / "d").iterdir(), key=lambda p: int(p.name.split(".")[0])) for row in load(p)]
    return kb, postings, docs, forms


def _results(root: Path) -> dict[str, list[tuple[str, float]]]:
    searcher = Searcher(root / "build" / "index")
    return {q: [(h.id, round(h.score, 6)) for h in searcher.search(q, limit=10)] for q in QUERIES}


def _same_content(one: Path, two: Path) -> None:
    for folder in ("cases", "sops"):
        for path in (two / "content" / folder).iterdir():
            path.unlink()
        for path in (one / "content" / folder).iterdir():
            (two / "content" / folder / path.name).write_bytes(path.read_bytes())


@pytest.fixture
def patch_always(monkeypatch):
    """The sample has 60 pages: let one changed page be patched into the static index, as at 10,000."""
    monkeypatch.setattr(site_search, "REWRITE_SHARE", 1.0)


def test_a_one_article_rebuild_gives_the_files_and_results_of_a_full_build(tmp_path, patch_always):
    one = copy_project(tmp_path / "one")
    cfg = load_config(one / "kb.yml")
    build(cfg)
    case = one / "content" / "cases" / "shuttle-late.md"
    case.write_text(case.read_text(encoding="utf-8") + EDIT, encoding="utf-8")
    result = build(cfg)
    assert result.incremental and result.pages_written == 1
    assert result.embedded == 0  # the body changed, not a line the vectors are made of
    assert (one / "build" / STAGE / MEMO).is_file()
    _, state = site_search.load_state(one / "build" / "index")
    assert state is not None and state.changed == 1  # patched, not written whole

    two = copy_project(tmp_path / "two")
    _same_content(one, two)
    build(load_config(two / "kb.yml"), full=True)
    # Every page, asset, sitemap and the CSP hashes: byte for byte.
    files_one, files_two = _files(one / "site"), _files(two / "site")
    assert sorted(files_one) == sorted(files_two)
    assert [name for name in files_one if files_one[name] != files_two[name]] == []
    assert "班车调度已复核" in (one / "site" / "faq" / "shuttle" / "shuttle-late" / "index.html").read_text("utf-8")
    # The API's index: the same answers in the same order; Whoosh's update (delete + add) keeps the
    # replaced document in its length statistics until segments merge, so scores agree within 2 %.
    results_one, results_two = _results(one), _results(two)
    assert {q: [i for i, _ in r] for q, r in results_one.items()} == {q: [i for i, _ in r] for q, r in results_two.items()}
    assert all(abs(a - b) <= 0.02 * max(abs(b), 1e-9) for q in QUERIES
               for (_, a), (_, b) in zip(results_one[q], results_two[q]))
    # The static index: the same documents and words; each weight as a full build with the average
    # length the patched index keeps (REWRITE_SHARE) computes it, and within rounding of the full build's.
    kb1, post1, docs1, forms1 = _static_index(one / "site")
    kb2, post2, docs2, forms2 = _static_index(two / "site")
    assert docs1 == docs2 and kb1["documents"] == kb2["documents"] and kb1["buckets"] == kb2["buckets"]
    assert sorted(post1) == sorted(post2)
    assert all([d for d, _ in post1[t]] == [d for d, _ in post2[t]] for t in post1)
    assert max(abs(w1 - w2) for t in post1 for (_, w1), (_, w2) in zip(post1[t], post2[t])) <= 1
    assert "复核" in post1 and any(d[0] == "faq/shuttle/shuttle-late/" for d in docs1)
    assert forms2.items() <= forms1.items() and kb2["fold"].items() <= kb1["fold"].items()
    records, _ = site_search.load_state(one / "build" / "index")
    _, expected, _ = site_search.index_files(records, average=state.average)
    for name, data in expected.items():
        assert (one / "site" / kb1["path"] / name).read_bytes() == data or name.startswith("t/"), name
    exact = {t: list(zip(itertools.accumulate(rows[::2]), rows[1::2]))
             for name, data in expected.items() if name.startswith("t/")
             for t, rows in json.loads(gzip.decompress(data))["t"].items()}
    assert exact == post1


def test_the_static_index_is_patched_until_a_share_of_it_changed(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "kb")
    cfg = load_config(root / "kb.yml")
    build(cfg)
    case = root / "content" / "cases" / "shuttle-late.md"
    version = lambda: _static_index(root / "site")[0]["version"]  # noqa: E731
    before = version()
    monkeypatch.setattr(site_search, "REWRITE_SHARE", 1.5 / 60)  # one changed page of the sample's 60-odd
    case.write_text(case.read_text(encoding="utf-8") + EDIT, encoding="utf-8")
    build(cfg)
    assert site_search.load_state(root / "build" / "index")[1].changed == 1 and version() != before
    case.write_text(case.read_text(encoding="utf-8") + "\n又补充一句。\n", encoding="utf-8")
    build(cfg)  # a second change passes the share: the index is written whole again
    assert site_search.load_state(root / "build" / "index")[1].changed == 0
    (root / "content" / "cases" / "dorm-noise.md").unlink()
    build(cfg)  # a page gone: written whole, never patched
    kb, postings, docs, _ = _static_index(root / "site")
    assert site_search.load_state(root / "build" / "index")[1].changed == 0
    assert all(not d[0].endswith("/dorm-noise/") for d in docs) and kb["documents"] == len(docs)


def test_a_title_or_navigation_change_takes_the_full_path(tmp_path, patch_always):
    root = copy_project(tmp_path / "kb")
    cfg = load_config(root / "kb.yml")
    build(cfg)
    sop = sorted((root / "content" / "sops").glob("*.md"))[0]
    text = sop.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    sop.write_text(text.replace(title, title + "（新版）", 1), encoding="utf-8")
    result = build(cfg)  # an SOP's title is in every page's navigation
    assert result.incremental is False
    assert "（新版）" in (root / "site" / "sop" / "index.html").read_text(encoding="utf-8")
    assert site_search.load_state(root / "build" / "index")[1].changed == 0
    from kb_builder.articles import published_articles
    from kb_builder.pages import related_articles
    from kb_builder.sources import read_sources

    def related() -> dict[str, list[tuple[str, str]]]:
        listing = related_articles(published_articles(read_sources(cfg)))
        return {k: [(a.id, a.title) for a in near] for k, near in listing.items()}

    before = related()
    case = root / "content" / "cases" / "shuttle-late.md"
    case.write_text(case.read_text(encoding="utf-8").replace("title: 班车经常晚点，上班迟到", "title: 班车总是晚点", 1),
                    encoding="utf-8")
    after = related()
    others = {k for k in after if k != "shuttle-late" and after[k] != before.get(k)}
    assert others  # the sample has cases that list it as related: their lists show the new title
    home = 1 if "shuttle-late" in cfg.site.helpful_articles else 0  # the home page's most helpful list
    # A case's title is not in the navigation: its page, its category page, the tags page, the pages
    # whose related articles show it, and the home page when it is among the most helpful.
    result = build(cfg)
    assert result.incremental is True and result.pages_written == 3 + len(others) + home
    assert "班车总是晚点" in (root / "site" / "faq" / "shuttle" / "index.html").read_text(encoding="utf-8")


def test_the_memo_is_not_trusted_across_builder_code_or_settings(tmp_path):
    from kb_builder.build import open_memo
    root = copy_project(tmp_path / "kb")
    cfg = load_config(root / "kb.yml")
    build(cfg)
    memo = open_memo(cfg)
    case = root / "content" / "cases" / "shuttle-late.md"
    assert "source" in memo.entry(case, case.read_bytes()) and memo.hits == 1
    changed = load_config(root / "kb.yml", overrides={"site.api_base_url": "https://api.example.org"})
    assert open_memo(changed).entry(case, case.read_bytes()) == {}
    assert open_memo(cfg, fresh=True).entry(case, case.read_bytes()) == {}
    (root / "build" / STAGE / MEMO).write_bytes(b"not a pickle")
    assert open_memo(cfg).entry(case, case.read_bytes()) == {}


def test_a_process_that_builds_again_keeps_its_memo_until_another_build_replaces_the_file(tmp_path):
    """The worker publishes one article after another: its last build's memo is used from memory."""
    import shutil

    from kb_builder import memo as memo_mod
    from kb_builder.build import open_memo
    root = copy_project(tmp_path / "kb")
    cfg = load_config(root / "kb.yml")
    build(cfg)
    path = root / "build" / STAGE / MEMO
    kept = memo_mod._KEPT[path][2]["entries"]
    case = root / "content" / "cases" / "shuttle-late.md"
    again = open_memo(cfg)
    assert again._old is kept and "source" in again.entry(case, case.read_bytes())
    # Another process's build replaces the file (a new inode): it is read again, not trusted from memory.
    shutil.copy(path, path.with_name("other"))
    path.with_name("other").replace(path)
    other = open_memo(cfg)
    assert other._old is not kept and other._old.keys() == kept.keys()
    assert "source" in other.entry(case, case.read_bytes()) and other.hits == 1
    # The related-article lists, computed from every case together, are kept too.
    assert other.whole("related", "another key") is None and other._whole["related"][1]
