"""HR's message templates (intake_api/notices.py): the shipped ones load and render, and broken ones are named."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from intake_api import notices
from intake_api.queue import LIMITS
from intake_api.channels import Outgoing
from kb_builder.errors import ConfigError

SHIPPED = ROOT / "content" / "notifications"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def shipped() -> notices.Notices:
    return notices.load(SHIPPED)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SHIPPED, tmp_path / "notifications"))


def problems_of(folder: Path) -> list:
    with pytest.raises(ConfigError) as caught:
        notices.load(folder)
    return caught.value.problems


def test_every_kind_and_language_is_shipped():
    files = sorted(p.relative_to(SHIPPED).as_posix() for p in SHIPPED.rglob("*.txt"))
    assert files == sorted(f"{lang}/{kind}.txt" for lang in notices.LANGUAGES for kind in notices.KINDS)
    # Every kind the planner sends has its templates (notify.py names them).
    from intake_api import notify
    assert set(notices.KINDS) == {*notify.STAFF_KINDS, *notify.COMPLAINANT_KINDS, "review"}


@pytest.mark.parametrize("language", notices.LANGUAGES)
@pytest.mark.parametrize("kind", list(notices.KINDS))
def test_every_kind_renders_in_every_language(shipped, kind, language):
    context = notices.sample_context(kind, language)
    message = shipped.render(kind, language, context, delivery_id="outbox-7")
    assert isinstance(message, Outgoing) and message.delivery_id == "outbox-7"
    assert message.subject and "\n" not in message.subject and len(message.subject) <= notices.MAX_SUBJECT
    assert context["link"] in message.text
    assert f'href="{context["link"]}"' in message.html
    if "number" in context:
        assert context["number"] in message.text
    assert bool(CJK.search(message.subject)) == (language != "en")
    assert "{{" not in message.text and "{%" not in message.text
    assert f'<html lang="{language}">' in message.html


def test_the_receipt_without_an_emergency_contact(shipped):
    context = notices.sample_context("receipt", "zh-Hans") | {"emergency_contact": ""}
    text = shipped.render("receipt", "zh-Hans", context, "d").text
    assert "人身安全" not in text and context["code"] in text and "\n\n\n" not in text
    full = shipped.render("receipt", "zh-Hans", notices.sample_context("receipt", "zh-Hans"), "d").text
    assert "人身安全" in full


def test_an_unknown_language_falls_back_to_simplified_chinese(shipped):
    context = notices.sample_context("question", "zh-Hans")
    fallback = shipped.render("question", "fr", context, "d")
    assert fallback == shipped.render("question", "zh-Hans", context, "d")
    assert notices.language_of("zh-TW") == "zh-Hant" and notices.language_of("en-GB") == "en"


def test_only_the_kinds_variables_reach_the_template_and_all_are_needed(shipped):
    context = notices.sample_context("assigned", "en") | {"description": "SECRET TEXT"}
    assert "SECRET TEXT" not in shipped.render("assigned", "en", context, "d").text
    del context["first_response_due"]
    with pytest.raises(ValueError, match="first_response_due"):
        shipped.render("assigned", "en", context, "d")
    with pytest.raises(ValueError, match="unknown kind"):
        shipped.render("nope", "en", context, "d")


def test_html_escapes_a_hostile_value_and_links_the_link_the_text_keeps_it(shipped):
    hostile = '<script>alert("x")</script> & <b>'
    context = notices.sample_context("response", "en") | {"response": hostile}
    message = shipped.render("response", "en", context, "d")
    assert hostile in message.text
    assert "<script>" not in message.html and "<b>" not in message.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in message.html
    assert f'<a href="{context["link"]}">{context["link"]}</a>' in message.html
    assert message.html.count("<p>") >= 4 and "<br>" in message.html


def test_links_stop_at_punctuation_and_never_carry_quotes():
    html = notices.to_html('见 https://a.example/x?y=1&z=2。再见 http://b.example/"onclick=x\n\n第二段', "zh-Hans")
    assert '<a href="https://a.example/x?y=1&amp;z=2">https://a.example/x?y=1&amp;z=2</a>。' in html
    assert '<a href="http://b.example/">http://b.example/</a>&quot;onclick=x' in html
    assert "<a" not in notices.to_html("javascript:alert(1) ftp://x.example", "en")
    assert "<p>第二段</p>" in html


def test_a_long_or_multiline_subject_becomes_one_line_of_at_most_200(folder):
    path = folder / "en" / "question.txt"
    body = path.read_text(encoding="utf-8").split("\n", 1)[1]
    path.write_text("Subject: {{ question }}\n" + body, encoding="utf-8")
    context = notices.sample_context("question", "en") | {"question": "line one\nline two " + "x" * 300}
    subject = notices.load(folder).render("question", "en", context, "d").subject
    assert subject.startswith("line one line two x") and len(subject) == notices.MAX_SUBJECT


def test_a_misspelled_variable_names_file_line_name_and_the_known_ones(folder):
    path = folder / "zh-Hans" / "new_complaint.txt"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = "{{ recipinet }}，您好：\n"
    path.write_text("".join(lines), encoding="utf-8")
    [problem] = problems_of(folder)
    assert Path(problem.path) == path and problem.line == 3
    assert "recipinet" in problem.message and "recipient" in problem.message  # did you mean
    assert all(name in problem.fix for name in notices.KINDS["new_complaint"].variables)
    assert f"{path}:3" in str(problem)


def test_every_problem_is_listed_at_once(folder):
    (folder / "en" / "result.txt").unlink()
    (folder / "zh-Hant" / "urgent.txt").write_text("Subject: 緊急 {{ number }}\n\n第一行\n{% if level %}\n沒有結束\n",
                                                    encoding="utf-8")
    (folder / "zh-Hans" / "question.txt").write_text("您好：{{ question }}\n\n{{ link }}\n", encoding="utf-8")
    (folder / "en" / "welcome.txt").write_text("Subject: hi\n\nhello\n", encoding="utf-8")
    problems = {Path(p.path).relative_to(folder).as_posix(): p for p in problems_of(folder)}
    assert set(problems) == {"en/result.txt", "zh-Hant/urgent.txt", "zh-Hans/question.txt", "en/welcome.txt"}
    assert "missing" in problems["en/result.txt"].message and "create it" in problems["en/result.txt"].fix
    syntax = problems["zh-Hant/urgent.txt"]
    assert "template error" in syntax.message and syntax.line == 5
    assert "Subject" in problems["zh-Hans/question.txt"].message and problems["zh-Hans/question.txt"].line == 1
    assert "welcome.txt" in problems["en/welcome.txt"].message and "result" in problems["en/welcome.txt"].fix


def test_syntax_error_in_the_subject_and_a_bad_attribute_in_a_loop(folder):
    (folder / "en" / "review.txt").write_text("Subject: {{ period }\n\n{{ link }}\n", encoding="utf-8")
    digest = folder / "en" / "digest.txt"
    digest.write_text("Subject: {{ count }}\n\n{% for item in items %}\n{{ item.nmber }}\n{% endfor %}\n{{ link }}\n",
                      encoding="utf-8")
    problems = {Path(p.path).name: p for p in problems_of(folder)}
    assert problems["review.txt"].line == 1 and "template error" in problems["review.txt"].message
    assert problems["digest.txt"].line == 4 and "nmber" in problems["digest.txt"].message


def test_the_sandbox_refuses_python_internals(folder):
    (folder / "en" / "review.txt").write_text("Subject: {{ period }}\n\n{{ link.__class__.__mro__ }}\n",
                                              encoding="utf-8")
    [problem] = problems_of(folder)
    assert problem.line == 3 and "unsafe" in problem.message


def test_a_missing_language_folder_and_an_unknown_one(folder):
    shutil.rmtree(folder / "zh-Hant")
    (folder / "fr").mkdir()
    problems = {Path(p.path).name: p for p in problems_of(folder)}
    assert set(problems) == {"zh-Hant", "fr"}


def test_staff_kinds_cannot_carry_complaint_text_or_identity():
    forbidden = {"description", "name", "contact", "text", "request", "phone", "email", "code"}
    for kind in notices.KINDS.values():
        if kind.audience == "staff":
            assert not forbidden & set(kind.variables), kind.name
    assert {k.audience for k in notices.KINDS.values()} == {"staff", "complainant"}
    assert "items" in notices.KINDS["digest"].variables and "number" not in notices.KINDS["digest"].variables


def test_localized_names():
    assert notices.level_names("zh-Hans")[1] == "一级（紧急）"
    assert notices.level_names("zh-Hant")[1] == "一級（緊急）"
    assert notices.level_names("en")[3] == "Level 3 (general)"
    for lang in notices.LANGUAGES:
        assert set(notices.limit_names(lang)) == {kind for kind, _, _ in LIMITS}  # every limit has a name
    assert notices.limit_names("zh-Hant")["first_response"] == "首次答覆"
