"""A running server follows a rebuild: new index and pages, no restart, no failed request."""

import sys
import threading

import pytest
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import load  # noqa: E402

from conftest import write_case  # noqa: E402


@pytest.mark.backend("postgresql")
def test_live_server_switches_to_a_new_index_under_load(kb_tree, db_url):
    from kb_builder.build import build
    from kb_builder.config import load_config
    cfg = load_config(kb_tree / "kb.yml")
    build(cfg)
    server = load.Server(kb_tree / "kb.yml", db_url, workers=2)
    url = f"http://127.0.0.1:{server.port}"
    results = {"ok": 0, "failed": []}
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            for q in ("饮水机坏了", "电梯按钮失灵", "VPN 连不上"):
                try:
                    with urllib.request.urlopen(url + "/api/v1/suggest?q=" + urllib.parse.quote(q), timeout=10) as res:
                        assert res.status == 200
                    results["ok"] += 1
                except Exception as exc:  # any failure counts
                    results["failed"].append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(1)
        write_case(kb_tree, "elevator-buttons", title="电梯按钮失灵怎么办",
                   questions="\n  - 电梯按钮失灵\n  - 按电梯没反应", body="## 问题\n\n电梯按钮按了没反应。\n")
        for _ in range(2):
            build(cfg)
            time.sleep(0.5)
        deadline = time.time() + 10
        found = False
        while time.time() < deadline and not found:
            body = urllib.request.urlopen(url + "/api/v1/suggest?q=" + urllib.parse.quote("电梯按钮失灵")).read().decode()
            found = "elevator-buttons" in body
        page = urllib.request.urlopen(url + "/faq/facilities/elevator-buttons/")
        assert page.status == 200
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.stop()
    assert found, "the new article never showed up without a restart"
    assert results["failed"] == [] and results["ok"] > 50


def _links_to(folders, keep: Path) -> dict[Path, bytes]:
    """A second hard link (in keep) to every file of folders, with its content now."""
    import os
    kept = {}
    for n, path in enumerate(p for f in folders for p in sorted(f.rglob("*")) if p.is_file()):
        link = keep / str(n)
        os.link(path, link)
        kept[link] = path.read_bytes()
    return kept


def test_a_one_article_rebuild_links_the_live_site_and_never_writes_through_it(kb_tree, tmp_path):
    """Incremental builds start from hard links to the live folders: nothing copied, nothing changed in place."""
    from kb_builder.build import build
    from kb_builder.config import load_config
    from kb_builder.errors import BuildError
    cfg = load_config(kb_tree / "kb.yml")
    build(cfg)
    live = [kb_tree / "site", kb_tree / "build" / "index", kb_tree / "docs" / "faq"]
    keep = tmp_path / "links"
    keep.mkdir()
    kept = _links_to(live, keep)
    untouched = kb_tree / "site" / "faq" / "canteen" / "canteen-too-salty" / "index.html"
    inode = untouched.stat().st_ino
    case = kb_tree / "content" / "cases" / "shuttle-late.md"
    case.write_text(case.read_text(encoding="utf-8").replace("多次晚点 15–30 分钟", "总是晚点 15–30 分钟", 1), encoding="utf-8")
    result = build(cfg)
    assert result.incremental and result.pages_written == 1
    assert "总是晚点 15–30 分钟" in (kb_tree / "site" / "faq" / "shuttle" / "shuttle-late" / "index.html").read_text("utf-8")
    assert untouched.stat().st_ino == inode  # the same file: linked into the new site, not copied
    changed = [link for link, data in kept.items() if link.read_bytes() != data]
    assert changed == []  # the previous site, index and pages as they were: every write replaced its file
    # A build that fails in MkDocs, after the index was updated, changes nothing either.
    (tmp_path / "links2").mkdir()
    kept = _links_to(live, tmp_path / "links2")
    case.write_text(case.read_text(encoding="utf-8") + "\n见[不存在的页面](../nowhere.md)。\n", encoding="utf-8")
    with pytest.raises(BuildError):
        build(cfg, strict=True)
    assert [link for link, data in kept.items() if link.read_bytes() != data] == []
    assert "总是晚点 15–30 分钟" in (kb_tree / "site" / "faq" / "shuttle" / "shuttle-late" / "index.html").read_text("utf-8")


def test_links_made_in_the_background_are_whole_or_stopped(tmp_path):
    """staging.Links: wait() gives a tree of hard links; leaving without wait() (a failed build) stops cp."""
    from kb_builder.staging import Links

    live = tmp_path / "site"
    for i in range(300):
        page = live / f"p{i:03d}" / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"page {i}", encoding="utf-8")
    with Links(live, tmp_path / "new") as links:
        links.wait()
    copy = tmp_path / "new" / "p123" / "index.html"
    assert copy.read_text(encoding="utf-8") == "page 123"
    assert copy.stat().st_ino == (live / "p123" / "index.html").stat().st_ino  # linked, not copied
    assert len(list((tmp_path / "new").rglob("index.html"))) == 300

    class Failed(Exception):
        pass

    with pytest.raises(Failed):
        with Links(live, tmp_path / "half") as links:
            raise Failed
    assert links._cp is None or links._cp.poll() is not None  # cp is not left running into a folder being removed
