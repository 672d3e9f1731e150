"""staging.py: new folders swapped in together, or not at all, on the real file system."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_builder import staging
from kb_builder.errors import BuildError


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "f.txt").write_text(text, encoding="utf-8")
    return path


def _text(path: Path) -> str:
    return (path / "f.txt").read_text(encoding="utf-8")


@pytest.fixture(params=["renameat2", "two renames"])
def kernel(request, monkeypatch):
    if request.param == "two renames":  # a kernel or C library without RENAME_EXCHANGE
        monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    return request.param


def test_every_new_folder_replaces_its_live_one_and_the_old_content_is_gone(tmp_path, kernel):
    lives = [_folder(tmp_path / "site", "old site"), tmp_path / "index"]  # the index is not built yet
    with staging.Staging(lives) as new:
        (new[lives[0]] / "f.txt").write_text("new site", encoding="utf-8")
        (new[lives[1]] / "f.txt").write_text("new index", encoding="utf-8")
        new.swap_in()
    assert (_text(lives[0]), _text(lives[1])) == ("new site", "new index")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "site"]


def test_the_old_content_can_be_deleted_in_the_background(tmp_path):
    import time
    site = _folder(tmp_path / "site", "old site")
    with staging.Staging([site]) as new:
        (new[site] / "f.txt").write_text("new site", encoding="utf-8")
        new.swap_in(wait=False)
    assert _text(site) == "new site"  # swapped at once
    deadline = time.time() + 10
    while len(list(tmp_path.iterdir())) > 1 and time.time() < deadline:
        time.sleep(0.05)
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_swap_that_fails_half_way_puts_every_live_folder_back(tmp_path, kernel):
    site, index = _folder(tmp_path / "site", "old site"), _folder(tmp_path / "index", "old index")
    new_site = _folder(tmp_path / "new-site", "new site")
    missing = tmp_path / "new-index"  # vanished before the swap: its rename fails
    with pytest.raises(BuildError, match="could not swap in the new build .*the previous one is still live"):
        staging.swap_in([(new_site, site), (missing, index)])
    assert (_text(site), _text(index)) == ("old site", "old index")


def test_a_second_build_at_the_same_time_is_refused(tmp_path):
    with staging.build_lock(tmp_path):
        with pytest.raises(BuildError, match="another `kb build` is running"):
            with staging.build_lock(tmp_path):
                pass
    with staging.build_lock(tmp_path):  # released when the first build ends
        pass
