"""Every staff action gives the same result through the staff API and through the workspace.

Both front ends call the desk (intake_api/desk.py); this test is what keeps
them from drifting apart again. It once failed on main: assigning to a staff
account that does not exist was 409 in the API while the workspace said
"Saved" and changed nothing.
"""

import datetime as dt
import re

import pytest

from conftest import COMPLAINT, PASSWORD, api_login

# (action, fields, accepted?) run in this order on two identical complaints, one per front end.
# Refused steps must be refused by both, with the same reason, and change nothing.
PROMISED = (dt.date.today() + dt.timedelta(days=30)).isoformat()
STEPS = [
    ("status", {"status": "closed"}, False),                       # not allowed from received
    ("investigation-ended", {}, False),                            # not under investigation
    ("assign", {"handler": "nobody-by-that-name"}, False),          # no such account
    ("assign", {"handler": "it-only"}, False),                     # not in the complaint's team
    ("assign", {"team": "no-such-team"}, False),
    ("assign", {"handler": "fac"}, True),
    ("level", {"level": 9}, False),
    ("level", {"level": 2, "note": "影响整层楼"}, True),
    ("about", {"department": "nowhere"}, False),                  # no such department
    ("about", {"department": "admin", "role": "保洁 <i>班组</i>"}, True),  # fac is of admin's team: unassigned
    ("assign", {"handler": "fac"}, False),                         # a conflict of interest
    ("assign", {"handler": "fac", "override_reason": "只有他懂"}, False),  # only an admin may override
    ("responsibility", {"responsibility": "nobody"}, False),
    ("responsibility", {"responsibility": "third_party"}, True),
    ("temporary-measures", {"text": "   "}, False),
    ("temporary-measures", {"text": "已放置临时饮水桶"}, True),
    ("messages", {"text": ""}, False),
    ("messages", {"text": "请问是哪台饮水机？<b>编号</b>"}, True),
    ("status", {"status": "assessed", "note": "已核实"}, True),
    ("status", {"status": "investigating"}, True),
    ("step", {"step": "guessing"}, False),
    ("step", {"step": "verify"}, True),
    ("task", {"team": "it", "text": "核对门禁记录"}, False),          # no due date
    ("task", {"team": "it", "text": "核对门禁记录", "due_date": PROMISED}, True),
    ("status", {"status": "resolved"}, False),                     # no response yet
    ("response", {"text": "  "}, False),
    ("response", {"text": "已更换加热模块，恢复热水。"}, True),
    ("response", {"basis": "查看了设备记录"}, False),                # no result
    ("response", {"basis": "查看了设备记录", "result": "已更换加热模块", "followup": "每月巡检"}, True),
    ("outcome", {"solutions": "repair"}, False),                   # a repair promises a date
    ("outcome", {"solutions": "bribe"}, False),
    ("outcome", {"solutions": "repair,apology", "promise_date": PROMISED, "promise_text": "换新饮水机"}, True),
    ("investigation-ended", {}, True),
    ("status", {"status": "resolved"}, True),
    ("follow-up", {"method": "fax"}, False),
    ("follow-up", {"method": "phone", "score": 4, "note": "基本满意"}, True),
    ("status", {"status": "closed"}, False),                       # the promise is not kept yet
    ("promise-kept", {"note": "新饮水机已安装"}, True),
    ("promise-kept", {}, False),                                   # nothing left to keep
    ("review", {"outcome": "upheld"}, False),                      # not escalated, and fac is no supervisor
    ("assign", {"team": "it"}, True),
]


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def two_front_ends(built_kb, db_url):
    """One app (CSRF on, as in production), an API client and a workspace client, both logged in as `fac`."""
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session

    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url}})
    with app.app_context():
        create_staff(get_session(), "fac", PASSWORD, "handler", ["facilities", "it"])
        create_staff(get_session(), "it-only", PASSWORD, "handler", ["it"])
        get_session().commit()
    api, web = app.test_client(), app.test_client()
    numbers = [api.post("/api/v1/complaints", json=COMPLAINT).get_json()["number"] for _ in range(2)]
    api_login(api, "fac")
    page = web.get("/staff/login").get_data(as_text=True)
    assert web.post("/staff/login", data={"username": "fac", "password": PASSWORD,
                                          "csrf_token": _token(page)}).status_code == 302
    yield app, api, web, numbers
    app.extensions["db_engine"].dispose()


def _state(api, number: str) -> dict:
    """What a complaint is after a step, without what differs between any two complaints (number, times)."""
    d = api.get(f"/api/v1/staff/complaints/{number}").get_json()
    keep = ("status", "level", "team", "handler", "responsibility", "response", "temporary_measures", "about")
    return {
        **{k: d[k] for k in keep},
        "messages": [(m["author"], m["body"]) for m in d["messages"]],
        "history": [(h["actor"], h["action"], h["from"], h["to"], h["note"]) for h in d["history"]],
        "dates_set": sorted(k for k, v in d["dates"].items() if v),
    }


def test_every_staff_action_is_covered():
    from intake_api.desk import ACTIONS
    assert {action for action, _, _ in STEPS} == set(ACTIONS)


def test_every_staff_action_gives_the_same_result_in_the_api_and_the_workspace(two_front_ends):
    app, api, web, (through_api, through_web) = two_front_ends
    for action, fields, accepted in STEPS:
        before = _state(api, through_api)
        res = api.post(f"/api/v1/staff/complaints/{through_api}/{action}", json=fields)
        assert (res.status_code == 200) is accepted, (action, fields, res.get_json())

        page = web.get(f"/staff/complaints/{through_web}").get_data(as_text=True)
        form = {k: str(v) for k, v in fields.items()}
        res_web = web.post(f"/staff/complaints/{through_web}/{action}", data={**form, "csrf_token": _token(page)})
        assert res_web.status_code == 302
        shown = web.get(res_web.headers["Location"]).get_data(as_text=True)
        saved = 'class="flash-ok"' in shown
        refused = re.search(r'class="flash-error">([^<]*)<', shown)
        assert saved is accepted and (refused is None) is accepted, (action, fields, shown[:2000])

        after_api, after_web = _state(api, through_api), _state(api, through_web)
        assert after_api == after_web, (action, fields)
        if not accepted:
            assert after_api == before, f"a refused {action} changed the complaint"
            # The same reason, in the workspace page's language (Chinese by default).
            reason = res.get_json()["error"]
            assert refused.group(1).strip() == reason.partition(" · ")[0].replace("<", "&lt;").replace(">", "&gt;")
    final = _state(api, through_api)
    assert final["handler"] is None  # unassigned once the complaint was about fac's own department
    assert final["about"] == {"department": "admin", "role": "保洁 <i>班组</i>"}


def test_assigning_to_an_account_that_does_not_exist_is_not_saved_in_the_workspace(two_front_ends):
    app, api, web, (_, number) = two_front_ends
    page = web.get(f"/staff/complaints/{number}").get_data(as_text=True)
    res = web.post(f"/staff/complaints/{number}/assign", data={"handler": "ghost", "csrf_token": _token(page)},
                   follow_redirects=True)
    text = res.get_data(as_text=True)
    assert "已保存" not in text and "没有这个员工账号" in text
    assert [h["action"] for h in api.get(f"/api/v1/staff/complaints/{number}").get_json()["history"]
            if h["action"] == "handler"] == []


def test_an_unknown_action_is_404_in_both(two_front_ends):
    app, api, web, (a, b) = two_front_ends
    assert api.post(f"/api/v1/staff/complaints/{a}/delete", json={}).status_code in (404, 405)
    page = web.get(f"/staff/complaints/{b}").get_data(as_text=True)
    res = web.post(f"/staff/complaints/{b}/delete", data={"csrf_token": _token(page)}, follow_redirects=True)
    assert "已保存" not in res.get_data(as_text=True)
