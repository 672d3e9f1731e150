"""HR's own words (content/synonyms.yml): validated, applied to the index, the query and the site search."""

from __future__ import annotations

import json

import pytest

from conftest import write_case


@pytest.fixture(scope="module")
def searcher(built_kb):
    from kb_builder.search import Searcher

    return Searcher(built_kb / "build" / "index")


@pytest.mark.parametrize("query, article", [
    ("人工迟发了", "salary-paid-late"),     # 人工: Cantonese for salary
    ("出粮遲咗", "salary-paid-late"),       # Cantonese, Traditional
    ("薪金晚发了", "salary-paid-late"),
])
def test_hr_words_for_salary_find_the_salary_articles(searcher, query, article):
    answer = searcher.suggest(query, 3)
    assert article in [h.id for h in answer.hits]
    assert "canteen" not in " ".join(h.id for h in answer.hits)


def test_ot_pay_ranks_overtime_pay_first(searcher):
    assert searcher.suggest("OT pay", 3).hits[0].id == "overtime-pay-missing"


def test_without_the_file_the_same_words_do_not_meet(kb_tree):
    """The synonyms file is what makes 出粮 find salary: the same content without it does not."""
    from kb_builder.build import build
    from kb_builder.config import load_config
    from kb_builder.search import Searcher

    (kb_tree / "content" / "synonyms.yml").unlink()
    config = load_config(kb_tree / "kb.yml")
    build(config)
    terms = Searcher(config.index_dir).query_terms("OT pay", Searcher(config.index_dir)._current())
    assert "加班费" not in terms
    site = json.loads((config.site_dir / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert not any("薪金" in d["text"] for d in site["docs"])


def test_the_site_search_index_carries_the_group_words(built_kb):
    """The static site search's page records (kb_builder/site_search.py) know a page by its groups' words."""
    from kb_builder.config import load_config
    from kb_builder.site_search import load_records
    pages = load_records(load_config(built_kb / "kb.yml").index_dir)
    salary = [p for location, p in pages.items() if "payslip-error" in location]
    assert salary and all("薪金" in p.counts and "出粮" in p.counts for p in salary)
    assert not any("出粮" in p.counts for location, p in pages.items() if "canteen" in location)


@pytest.mark.parametrize("text, message", [
    ("- [工资]\n", "synonyms.yml:1: group 1 must list at least two words"),
    ("- [工资, 薪金]\n- [薪金, 人工]\n", "synonyms.yml:2: '薪金' is in group 1 (line 1) and group 2"),
    ("- [工资, '']\n", "synonyms.yml:1: group 1, word 2 must be a word or phrase"),
    ("工资: 薪金\n", "synonyms.yml:1: must be a list of groups"),
    ("- [工资, 薪金\n", "synonyms.yml:2: YAML syntax error"),
])
def test_a_bad_synonyms_file_names_its_line_and_nothing_is_built(kb_tree, text, message):
    from kb_builder.build import build
    from kb_builder.config import load_config
    from kb_builder.errors import ContentError

    (kb_tree / "content" / "synonyms.yml").write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as err:
        build(load_config(kb_tree / "kb.yml"))
    assert message in str(err.value)
    assert not (kb_tree / "build" / "index").exists()


def test_kb_check_reports_a_bad_synonyms_file(kb_tree):
    from click.testing import CliRunner

    from kb_builder.cli import main

    (kb_tree / "content" / "synonyms.yml").write_text("- [工资]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(kb_tree / "kb.yml"), "check"])
    assert result.exit_code != 0 and "synonyms.yml:1" in result.output


def test_an_article_using_a_group_word_is_found_by_the_canonical_one(kb_tree):
    from kb_builder.build import build
    from kb_builder.config import load_config
    from kb_builder.search import Searcher

    write_case(kb_tree, "wage-slip-lost", category="payroll", title="薪水单找不到了",
               questions="\n  - 薪水单丢了\n  - 哪里下载薪水单")
    config = load_config(kb_tree / "kb.yml")
    build(config)
    searcher = Searcher(config.index_dir)
    assert "工资" in searcher.query_terms("薪水单丢了", searcher._current())
    hits = searcher.suggest("工资单丢了", 3).hits
    assert "wage-slip-lost" in [h.id for h in hits]
