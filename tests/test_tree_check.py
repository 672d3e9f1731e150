"""Content builds are bounded and contained: links out of the trees, YAML bombs, huge files, leftovers, names."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import write_case
from kb_builder.build import build, check
from kb_builder.config import load_config
from kb_builder.errors import ConfigError, ContentError

# 9 lines, 342 bytes; expands to 9**9 (387 million) strings.
BOMB = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
               for prev, name in zip([None, *"abcdefgh"], "abcdefghi"))


def kb_cli(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    kb = Path(sys.executable).with_name("kb")
    return subprocess.run([str(kb), "--config", str(root / "kb.yml"), *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))


@pytest.fixture
def small_kb(empty_kb: Path) -> Path:
    """A project copy with one published case: builds in seconds."""
    write_case(empty_kb, "water-dispenser-not-working", title="饮水机坏了怎么办")
    return empty_kb


def test_a_symlink_in_docs_to_a_file_outside_is_refused_and_not_published(small_kb, tmp_path):
    secret = tmp_path / "outside" / "secret.md"
    secret.parent.mkdir()
    secret.write_text("# 工资表\n\n张三 月薪 12345\n", encoding="utf-8")
    (small_kb / "docs" / "salaries.md").symlink_to(secret)
    (small_kb / "docs" / "assets" / "etc").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(ContentError) as raised:
        build(load_config(small_kb / "kb.yml"))
    text = str(raised.value)
    assert f"{small_kb / 'docs' / 'salaries.md'}: is a symbolic link to '{secret}', outside" in text
    assert f"{small_kb / 'docs' / 'assets' / 'etc'}: is a symbolic link" in text
    assert "Fix: copy the file into the folder instead of linking to it" in text
    site = small_kb / "site"
    assert not site.exists() or "12345" not in "".join(
        p.read_text(errors="ignore") for p in site.rglob("*") if p.is_file())


def test_kb_check_refuses_content_links_that_leave_the_tree_or_lead_nowhere(small_kb, tmp_path):
    outside = tmp_path / "elsewhere.md"
    outside.write_text((small_kb / "content" / "cases" / "water-dispenser-not-working.md").read_text(
        encoding="utf-8").replace("water-dispenser-not-working", "linked-case"), encoding="utf-8")
    cases = small_kb / "content" / "cases"
    (cases / "linked-case.md").symlink_to(outside)
    (cases / ".hidden.md").symlink_to("/etc/hostname")
    (cases / "gone.md").symlink_to(tmp_path / "no-such-file.md")
    result = kb_cli(small_kb, "check")
    assert result.returncode == 1
    assert "3 content problems found, nothing was changed" in result.stderr
    assert f"{cases / 'linked-case.md'}: is a symbolic link to '{outside}', outside {small_kb / 'content'}" \
        in result.stderr
    assert f"{cases / '.hidden.md'}: is a symbolic link to '/etc/hostname', outside" in result.stderr
    assert f"{cases / 'gone.md'}: is a symbolic link to '{tmp_path / 'no-such-file.md'}', which does not exist" \
        in result.stderr
    assert "Traceback" not in result.stderr


def test_a_symlink_that_stays_inside_its_tree_is_fine(small_kb):
    (small_kb / "docs" / "report-a-problem.md").symlink_to(small_kb / "docs" / "complaint.md")
    assert check(load_config(small_kb / "kb.yml")).cases == 1


@pytest.mark.parametrize("where", ["case", "kb.yml"])
def test_a_yaml_alias_bomb_is_refused_at_once(small_kb, where):
    """A 342-byte file of aliases of aliases used to hang `kb check` (9**9 values to walk)."""
    assert len(BOMB.encode()) < 400
    if where == "case":
        path = small_kb / "content" / "cases" / "bomb.md"
        path.write_text(f"---\n{BOMB}---\n## 问题\n\n正文。\n", encoding="utf-8")
        line = 2  # the front matter starts on the file's second line
    else:
        path = small_kb / "kb.yml"
        path.write_text(path.read_text(encoding="utf-8") + "\n" + BOMB, encoding="utf-8")
        line = None
    start = time.monotonic()
    result = kb_cli(small_kb, "check", timeout=60)
    assert time.monotonic() - start < 30
    assert result.returncode == 1
    assert "YAML aliases (*name) and merge keys (<<) are not allowed" in result.stderr
    assert f"{path}:" in result.stderr and "Traceback" not in result.stderr
    if line:
        assert f"{path}:{line}:" in result.stderr


def test_yaml_nested_too_deep_is_refused_with_its_line(small_kb):
    path = write_case(small_kb, "deep", tags="[" * 200 + "]" * 200)
    with pytest.raises(ContentError) as raised:
        check(load_config(small_kb / "kb.yml"))
    assert f"{path}:" in str(raised.value) and "YAML nested more than 40 levels deep" in str(raised.value)


def test_a_merge_key_in_kb_yml_is_refused_too(small_kb):
    path = small_kb / "kb.yml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "server:\n", "base: &base {trusted_proxies: 0}\nserver:\n  <<: *base\n", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "YAML aliases (*name) and merge keys (<<) are not allowed" in str(raised.value)


def test_content_files_above_the_size_limit_are_refused_unread(small_kb):
    # Just over the 1 MiB default (1.1 MB), in paragraphs as a real file would be. English: once admitted
    # below, the privacy scan reads it all, and its name tagger takes minutes over a megabyte of Chinese.
    big = write_case(small_kb, "big-case", body="## 问题\n\n" + ("A very long body of text. " * 25 + "\n\n") * 1700)
    with pytest.raises(ContentError) as raised:
        build(load_config(small_kb / "kb.yml"))
    size = big.stat().st_size
    assert (f"{big}: is {size:,} bytes, above the limit of 1,048,576 bytes (build.max_file_bytes). "
            "Fix: split it into smaller articles, or raise build.max_file_bytes in kb.yml") in str(raised.value)
    assert not (small_kb / "site").exists()
    # The limit is configurable in kb.yml, and a hand-written docs page counts too.
    (small_kb / "docs" / "long.md").write_text("# 长页面\n\n" + "字" * 3000, encoding="utf-8")
    config = load_config(small_kb / "kb.yml", overrides={"build.max_file_bytes": 2 * 1024 * 1024})
    with pytest.raises(ContentError):
        check(load_config(small_kb / "kb.yml", overrides={"build.max_file_bytes": 4096}))
    assert check(config).cases == 2


def test_the_size_limit_is_validated_where_it_is_declared(small_kb):
    with pytest.raises(ConfigError) as raised:
        load_config(small_kb / "kb.yml", overrides={"build.max_file_bytes": 10})
    assert "build.max_file_bytes" in str(raised.value)


def test_a_build_removes_the_staging_folders_a_killed_build_left(small_kb):
    config = load_config(small_kb / "kb.yml")
    build(config)
    leftovers = [config.site_dir.parent / ".site.new-k1ll3d", config.index_dir.parent / ".index.new-k1ll3d",
                 config.docs_dir / ".faq.new-k1ll3d", config.docs_dir / ".sop.old-k1ll3d"]
    for folder in leftovers:
        (folder / "deep").mkdir(parents=True)
        (folder / "deep" / "page.html").write_text("stale", encoding="utf-8")
    keep = config.site_dir.parent / ".site-notes"  # not a staging folder: not ours to delete
    keep.mkdir()
    build(config)
    assert [f for f in leftovers if f.exists()] == []
    assert keep.is_dir()
    assert (config.site_dir / "index.html").is_file()


def test_a_killed_build_leaves_staging_folders_that_the_next_build_removes(small_kb):
    """A real `kb build` killed mid-way (SIGKILL), then run again."""
    import signal
    config = load_config(small_kb / "kb.yml")
    kb = Path(sys.executable).with_name("kb")
    proc = subprocess.Popen([str(kb), "--config", str(small_kb / "kb.yml"), "build"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    pattern = lambda: list(config.site_dir.parent.glob(".site.new-*"))  # noqa: E731
    deadline = time.monotonic() + 60
    while not pattern() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert pattern(), "the build finished before it could be killed"
    result = kb_cli(small_kb, "build")
    assert result.returncode == 0, result.stderr
    assert pattern() == [] and list(config.docs_dir.glob(".faq.new-*")) == []


def test_file_names_that_make_poor_addresses_are_warned_about(small_kb):
    sops = small_kb / "content" / "sops"
    (sops / "Leave Policy.md").write_text("---\ntitle: 请假制度\ncategory: leave\nlanguage: zh-Hans\n---\n正文。\n",
                                          encoding="utf-8")
    (sops / "报销流程.md").write_text("---\ntitle: 报销流程\ncategory: payroll\nlanguage: zh-Hans\n---\n正文。\n",
                                       encoding="utf-8")
    (small_kb / "docs" / "How#To.md").write_text("# How to\n", encoding="utf-8")
    result = kb_cli(small_kb, "check")
    assert result.returncode == 0, result.stderr
    assert (f"Warning: {sops / 'Leave Policy.md'}: the name 'sops/Leave Policy.md' makes a poor page address "
            "('Leave Policy'); use lowercase letters, digits and hyphens, e.g. leave-policy.md") in result.stderr
    assert f"Warning: {sops / '报销流程.md'}: the name 'sops/报销流程.md'" in result.stderr
    assert f"Warning: {small_kb / 'docs' / 'How#To.md'}: the name 'How#To.md'" in result.stderr


def test_the_sample_content_draws_no_warning(kb_tree):
    assert check(load_config(kb_tree / "kb.yml")).warnings == []
