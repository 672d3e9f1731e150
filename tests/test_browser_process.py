"""Staff work a complaint through every state in the workspace; the complainant follows and rates it."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import COMPLAINT, PASSWORD, query_db

pytestmark = [pytest.mark.browser, pytest.mark.backend("postgresql")]


def kb_cli(built_kb, db_url, *args):
    env = dict(os.environ, KB_CONFIG=str(built_kb / "kb.yml"), KB_DATABASE_URL=db_url,
               KB_STAFF_PASSWORD=PASSWORD)
    kb = Path(sys.executable).with_name("kb")
    res = subprocess.run([str(kb), *args], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_workspace_and_status_page_walk_every_state(page, live_server, built_kb, live_db_url):
    from playwright.sync_api import expect
    out = kb_cli(built_kb, live_db_url, "staff", "create", "wang", "--role", "handler", "--team", "facilities",
                 "--name", "王工")
    assert "Created handler 'wang'" in out

    req = urllib.request.Request(live_server + "/api/v1/complaints", data=json.dumps(COMPLAINT).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    ack = json.loads(urllib.request.urlopen(req).read())
    number, code = ack["number"], ack["tracking_code"]

    page.goto(live_server + "/staff/")
    page.fill("#username", "wang")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.click(f"#queue tr[data-number='{number}'] a")
    status = page.locator("#status")

    def move(to, label):
        page.select_option("#status-select", to)
        page.click("#form-status button[type=submit]")
        expect(status).to_have_text(label)

    def complainant_sees(label):
        p2 = page.context.new_page()
        p2.goto(live_server + "/status/")
        p2.fill("#kb-tracking-code", code)
        p2.click("#kb-status-form button[type=submit]")
        expect(p2.locator("#kb-status-result")).to_contain_text(label)
        return p2

    expect(status).to_have_text("已受理")
    move("assessed", "已评估")
    page.select_option("#assign-handler", "wang")
    page.click("#form-assign button[type=submit]")
    move("investigating", "调查处理中")
    move("escalated", "已升级")
    move("investigating", "调查处理中")
    page.fill("#response-text", "已更换饮水机加热模块，恢复供应热水。")
    page.click("#form-response button[type=submit]")
    page.click("#form-end-investigation button[type=submit]")
    expect(page.locator("body")).to_contain_text("结果反馈期限")
    move("resolved", "已反馈结果")

    # The complainant reads the response and is not satisfied.
    p2 = complainant_sees("已更换饮水机加热模块")
    p2.check("#kb-rating-form input[value='2']")
    p2.fill("#kb-rating-comment", "第二天又不热了")
    p2.click("#kb-rating-form button[type=submit]")
    expect(p2.locator("#kb-status-result")).to_contain_text("重新处理")
    p2.close()

    page.reload()
    expect(status).to_have_text("重新处理")
    move("investigating", "调查处理中")
    move("resolved", "已反馈结果")
    p2 = complainant_sees("已反馈结果")
    p2.check("#kb-rating-form input[value='5']")
    p2.click("#kb-rating-form button[type=submit]")
    expect(p2.locator("#kb-status-result")).to_contain_text("5 / 5")
    p2.close()
    move("closed", "已结案")
    history = page.locator("#history tbody tr")
    expect(history.filter(has_text="→ 已结案")).to_have_count(1)  # the label, never the id "closed"
    expect(history.filter(has_text="closed")).to_have_count(0)
    assert query_db(live_db_url, "SELECT status, rating FROM complaints") == [("closed", 5)]
