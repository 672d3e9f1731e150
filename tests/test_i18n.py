"""The interface's languages (intake_api/i18n.py): complete catalogues, the visitor's language, labels not ids."""

from __future__ import annotations

import shutil

import pytest
from babel.messages.pofile import read_po

from intake_api import catalogues, i18n
from kb_builder import site_words

BAD = {"category": "plumbing", "description": "坏", "occurred_at": "yesterday"}


def test_every_message_has_a_translation_in_every_catalogue():
    found = catalogues.extract()
    assert len(found) > 300  # the workspace, the API's errors, the desk's refusals, the templates
    assert "Cannot go from “%(current)s” to “%(target)s”; allowed next: %(allowed)s" in found
    assert catalogues.problems(found) == []
    for language in i18n.LANGUAGES:  # placeholders a translation uses are the id's (Babel's checkers)
        with catalogues.path(language).open("rb") as source:
            catalogue = read_po(source, locale=i18n.LOCALES[language])
        assert [(m.id, errors) for m, errors in catalogue.check()] == []


def test_a_missing_translation_fails_the_check_and_names_the_file(tmp_path, monkeypatch):
    copy = tmp_path / "translations"
    shutil.copytree(i18n.CATALOGUES, copy)
    monkeypatch.setattr(catalogues, "CATALOGUES", copy)
    po = copy / "zh_Hant" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    entry = 'msgid "Log out"\nmsgstr "'
    assert entry in text
    po.write_text(text.replace('msgid "Log out"\nmsgstr "退出"', 'msgid "Log out"\nmsgstr ""'), encoding="utf-8")
    problems = catalogues.problems()
    assert problems == [f"{po}: 'Log out' is untranslated or fuzzy ({problems[0].rsplit('(', 1)[1]}"]
    assert "workspace.py" in problems[0]
    po.write_text(text.replace('msgid "Log out"\nmsgstr "退出"\n', ""), encoding="utf-8")
    assert "no entry for 'Log out'" in catalogues.problems()[0]


@pytest.mark.parametrize(("header", "language"), [
    ("en-GB,en;q=0.9", "en"), ("zh-TW", "zh-Hant"), ("zh-HK,zh;q=0.8", "zh-Hant"), ("zh-Hant-TW", "zh-Hant"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"), ("fr-FR,en;q=0.5", "en"), ("fr,de", "zh-Hans"), ("", "zh-Hans"),
    ("en;q=0.2,zh-TW;q=0.9", "zh-Hant"), ("en;q=0,zh", "zh-Hans"),
])
def test_the_best_language_the_browser_asks_for(header, language):
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    assert i18n.best_of(list(parse_accept_header(header, LanguageAccept))) == language


def test_the_command_line_speaks_the_shell_locale():
    assert i18n.from_environment({"LANG": "C.UTF-8"}) == "zh-Hans"
    assert i18n.from_environment({"LANG": "en_US.UTF-8"}) == "en"
    assert i18n.from_environment({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}) == "zh-Hant"
    assert i18n.from_environment({"LANGUAGE": "en:zh_CN", "LANG": "zh_CN.UTF-8"}) == "en"


def test_api_errors_in_the_requesters_language_with_field_names_unchanged(client):
    words = {}
    for header, language in (("zh-CN", "zh-Hans"), ("zh-TW", "zh-Hant"), ("en", "en")):
        res = client.post("/api/v1/complaints", json=BAD, headers={"Accept-Language": header})
        assert res.status_code == 400 and res.headers["Content-Language"] == language
        body = res.get_json()
        fields = {e["field"]: e["message"] for e in body["errors"]}
        assert set(fields) == {"category", "description", "request", "occurred_at", "location"}
        words[language] = (body["error"], fields["request"], fields["description"])
    assert words["zh-Hans"] == ("有字段需要修改", "必填", "太短，至少 5 个字")
    assert words["zh-Hant"] == ("有欄位需要修改", "必填", "太短，至少 5 個字")
    assert words["en"] == ("Some fields need fixing", "This field is required", "Too short: at least 5 characters")
    assert not any(" · " in w for ws in words.values() for w in ws)  # one language per message


def test_statuses_and_levels_are_labels_in_the_requesters_language(client):
    good = {"category": "facilities", "description": "三楼饮水机坏了一周", "request": "请尽快修理",
            "occurred_at": "2026-11-20", "location": "三楼"}
    receipt = client.post("/api/v1/complaints", json=good, headers={"Accept-Language": "zh-TW"}).get_json()
    assert "您的投訴已受理" in receipt["acknowledgement"] and "received" not in receipt["acknowledgement"]
    status = {}
    for header in ("en", "zh-TW", "zh-CN"):
        status[header] = client.get(f"/api/v1/complaints/{receipt['tracking_code']}",
                                    headers={"Accept-Language": header}).get_json()
    assert status["en"]["status"] == status["zh-TW"]["status"] == "received"  # the id stays the id
    assert (status["en"]["status_label"], status["zh-TW"]["status_label"], status["zh-CN"]["status_label"]) == (
        "Received", "已受理", "已受理")
    meta = client.get("/api/v1/meta", headers={"Accept-Language": "en"}).get_json()
    assert [lv["label"] for lv in meta["levels"]] == ["Urgent", "Important", "General"]
    assert meta["channels"][0]["label"] == "Online form"


def test_the_sites_words_are_translated_in_every_catalogue_and_words_js_is_current():
    found = site_words.extract()
    assert {"What happened?", "Tracking code: ", "At most %(count)s files"} <= set(found)
    assert site_words.problems() == []
    table = site_words.words()
    assert (table["zh-Hans"]["What happened?"], table["zh-Hant"]["What happened?"], table["en"]["What happened?"]) == (
        "发生了什么？", "發生了什麼？", "What happened?")


def test_a_word_without_translation_is_named(tmp_path, monkeypatch):
    copy = tmp_path / "translations"
    shutil.copytree(site_words.CATALOGUES, copy)
    monkeypatch.setattr(site_words, "CATALOGUES", copy)
    po = copy / "en" / "LC_MESSAGES" / "site.po"
    po.write_text(po.read_text(encoding="utf-8").replace('msgid "Where"\nmsgstr "Where"', 'msgid "Where"\nmsgstr ""'),
                  encoding="utf-8")
    missing = site_words.problems()
    assert f"{po}: 'Where' is untranslated or fuzzy (docs/complaint.md)" in missing
    assert any("words.js is out of date" in p for p in missing)  # it no longer matches the catalogues
