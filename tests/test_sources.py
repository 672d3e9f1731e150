"""Broken content stops the build with messages naming file, line, field and fix."""

import pytest

from kb_builder.config import load_config
from kb_builder.errors import ContentError
from kb_builder.sources import read_sources

from conftest import write_case


def problems(root):
    with pytest.raises(ContentError) as info:
        read_sources(load_config(root / "kb.yml"))
    return str(info.value)


def test_sample_content_is_valid_and_large_enough(kb_tree):
    sources = read_sources(load_config(kb_tree / "kb.yml"))
    cases = [s for s in sources if s.kind == "case"]
    sops = [s for s in sources if s.kind == "sop"]
    assert len(cases) >= 40 and len(sops) >= 8
    langs = [s.meta.language for s in cases]
    assert langs.count("en") >= 8 and langs.count("zh-Hant") >= 3
    assert langs.count("zh-Hans") > len(cases) / 2
    categories = {s.meta.category for s in cases}
    assert {"facilities", "supplies", "canteen", "payroll", "leave", "it-access", "dormitory",
            "shuttle", "service", "process"} <= categories


def test_unknown_category_names_field_line_and_fix(empty_kb):
    path = write_case(empty_kb, "a-case", category="plumbing")
    text = problems(empty_kb)
    assert f"{path}:4: field 'category': unknown category 'plumbing'. Fix: use one of the category ids listed in kb.yml" in text


def test_missing_field_is_named(empty_kb):
    path = write_case(empty_kb, "a-case", questions=None)
    assert f"{path}: field 'questions': is missing." in problems(empty_kb)


def test_bad_yaml_names_the_line(empty_kb):
    path = write_case(empty_kb, "a-case", front="id: a-case\ntitle: 坏: 标题: 冒号\ncategory: facilities")
    assert f"{path}:3: YAML syntax error" in problems(empty_kb)


def test_duplicate_ids_name_both_files(empty_kb):
    write_case(empty_kb, "first")
    second = empty_kb / "content" / "cases" / "second.md"
    second.write_text((empty_kb / "content" / "cases" / "first.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert f"{second}:2: field 'id': id 'first' is already used by first.md" in problems(empty_kb)


def test_bad_values_are_all_reported_at_once(empty_kb):
    write_case(empty_kb, "one", language="fr", resolved="2026-13-45")
    write_case(empty_kb, "two", published="maybe", body="")
    text = problems(empty_kb)
    assert "4 content problems found, nothing was changed" in text
    assert "field 'language'" in text and "use one of: zh-Hans, zh-Hant, en" in text
    assert "field 'resolved'" in text and "write the date as YYYY-MM-DD" in text
    assert "field 'published'" in text
    assert "the body is empty" in text


def test_missing_front_matter(empty_kb):
    path = empty_kb / "content" / "cases" / "plain.md"
    path.write_text("just text\n", encoding="utf-8")
    assert f"{path}:1: no front matter found" in problems(empty_kb)
