"""Staff accounts managed by admins, from `kb staff`, the staff API and the workspace; every change audited."""

import re

import pytest
from click.testing import CliRunner

from conftest import token_of, workspace_login, PASSWORD, query_db

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def desk_app(built_kb, db_url):
    """An app (CSRF on, as in production; no rate limits) with an admin, two handlers and employee relations."""
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url},
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        create_staff(get_session(), "boss", PASSWORD, "admin", [])
        create_staff(get_session(), "wang", PASSWORD, "handler", ["facilities"], display_name="王工 <b>x</b>")
        create_staff(get_session(), "li", PASSWORD, "handler", ["it"])
        create_staff(get_session(), "er", PASSWORD, "relations", [])
        get_session().commit()
    yield app
    app.extensions["db_engine"].dispose()


def staff(app, username: str, password: str = PASSWORD):
    client = app.test_client()
    res = client.post("/api/v1/staff/login", json={"username": username, "password": password})
    assert res.status_code == 200, res.get_json()
    client.environ_base["HTTP_X_CSRFTOKEN"] = res.get_json()["csrf_token"]
    return client


def audit_rows(db_url: str) -> list[tuple]:
    return query_db(db_url, "SELECT actor, username, action, from_value, to_value FROM staff_audit ORDER BY id")


def test_admin_lists_and_changes_accounts_through_the_api_each_change_audited(desk_app, db_url):
    boss = staff(desk_app, "boss")
    accounts = boss.get("/api/v1/staff/accounts").get_json()["accounts"]
    assert [a["username"] for a in accounts] == ["boss", "er", "li", "wang"]
    assert not any("password" in key for a in accounts for key in a)
    res = boss.patch("/api/v1/staff/accounts/wang", json={"role": "relations", "teams": ["facilities", "it"],
                                                          "department": "admin", "email": "wang@example.com"})
    assert res.status_code == 200, res.get_json()
    assert res.get_json() | {"created_at": None} == {
        "username": "wang", "name": "王工 <b>x</b>", "role": "relations", "teams": ["facilities", "it"],
        "department": "admin", "email": "wang@example.com", "active": True, "created_at": None}
    # "" clears; a field not sent stays; the same value again is no change.
    res = boss.patch("/api/v1/staff/accounts/WANG", json={"department": "", "teams": ["facilities", "it"]})
    assert res.get_json()["department"] is None and res.get_json()["email"] == "wang@example.com"
    assert audit_rows(db_url) == [
        ("staff:boss", "wang", "role", "handler", "relations"),
        ("staff:boss", "wang", "teams", "facilities", "facilities, it"),
        ("staff:boss", "wang", "department", None, "admin"),
        ("staff:boss", "wang", "email", None, "wang@example.com"),
        ("staff:boss", "wang", "department", "admin", None),
    ]
    audit = boss.get("/api/v1/staff/accounts/audit", query_string={"user": "wang", "limit": 2}).get_json()["audit"]
    assert [(a["action"], a["from"], a["to"]) for a in audit] == [("department", "admin", None),
                                                                 ("email", None, "wang@example.com")]
    # A new account, audited as created without its password.
    res = boss.post("/api/v1/staff/accounts", json={"username": "Zhao", "password": NEW_PASSWORD, "role": "handler",
                                                    "teams": ["canteen"], "department": "canteen"})
    assert res.status_code == 201 and res.get_json()["username"] == "zhao"
    assert audit_rows(db_url)[-1] == ("staff:boss", "zhao", "created", None,
                                      "role=handler; teams=canteen; department=canteen")
    assert boss.post("/api/v1/staff/accounts", json={"username": "zhao", "password": NEW_PASSWORD}).status_code == 409


def test_validation_names_the_field_and_lists_the_known_values(desk_app, db_url):
    boss = staff(desk_app, "boss")
    cases = [({"teams": ["facilities", "nope"]}, "teams", ["hr-desk", "facilities", "it", "canteen"]),
             ({"department": "nowhere"}, "department", ["hr", "admin", "logistics"]),
             ({"role": "boss"}, "role", ["handler", "admin", "relations"]),
             ({"email": "not an address"}, "email", ["name@example.com"])]
    for body, field, listed in cases:
        res = boss.patch("/api/v1/staff/accounts/wang", json=body)
        assert res.status_code == 400, body
        (error,) = res.get_json()["errors"]
        assert error["field"] == field and all(name in error["message"] for name in listed), error
    res = boss.patch("/api/v1/staff/accounts/wang", json={"role": "boss", "department": "nowhere"})
    assert [e["field"] for e in res.get_json()["errors"]] == ["role", "department"]  # every bad field at once
    assert boss.patch("/api/v1/staff/accounts/ghost", json={"role": "admin"}).status_code == 404
    res = boss.post("/api/v1/staff/accounts/wang/password", json={"password": "short"})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "password"
    assert audit_rows(db_url) == []  # nothing refused was changed, or recorded


def test_only_admins_manage_accounts(desk_app, db_url):
    for username in ("wang", "er"):
        client = staff(desk_app, username)
        assert client.get("/api/v1/staff/accounts").status_code == 403
        assert client.get("/api/v1/staff/accounts/audit").status_code == 403
        assert client.patch("/api/v1/staff/accounts/" + username, json={"role": "admin"}).status_code == 403
        assert client.patch("/api/v1/staff/accounts/boss", json={"active": False}).status_code == 403
        assert client.post("/api/v1/staff/accounts/boss/password", json={"password": NEW_PASSWORD}).status_code == 403
        assert client.post("/api/v1/staff/accounts", json={"username": "x", "password": NEW_PASSWORD,
                                                           "role": "admin"}).status_code == 403
        web = workspace_login(desk_app, username)
        assert web.get("/staff/accounts").status_code == 403
        assert 'href="/staff/accounts"' not in web.get("/staff/").get_data(as_text=True)
    assert query_db(db_url, "SELECT role FROM staff_users WHERE username = 'wang'") == [("handler",)]
    assert audit_rows(db_url) == []
    assert staff(desk_app, "boss").get("/api/v1/staff/accounts").status_code == 200
    assert desk_app.test_client().get("/api/v1/staff/accounts").status_code == 401


def test_deactivation_ends_the_sessions_at_once_and_stops_logins(desk_app, db_url):
    api, web = staff(desk_app, "wang"), workspace_login(desk_app, "wang")
    assert api.get("/api/v1/staff/complaints").status_code == 200
    assert web.get("/staff/").status_code == 200
    (user_id,), = query_db(db_url, "SELECT id FROM staff_users WHERE username = 'wang'")
    assert len(query_db(db_url, "SELECT token_hash FROM staff_sessions WHERE user_id = :u", u=user_id)) == 2

    boss = staff(desk_app, "boss")
    res = boss.patch("/api/v1/staff/accounts/wang", json={"active": False})
    assert res.status_code == 200 and res.get_json()["active"] is False
    assert query_db(db_url, "SELECT token_hash FROM staff_sessions WHERE user_id = :u", u=user_id) == []
    # The very next request of each logged-in client is refused: the cookies name sessions that are gone.
    assert api.get("/api/v1/staff/complaints").status_code == 401
    res = web.get("/staff/")
    assert res.status_code == 302 and "/staff/login" in res.headers["Location"]
    assert desk_app.test_client().post("/api/v1/staff/login", json={"username": "wang", "password": PASSWORD}
                                       ).status_code == 401
    assert boss.get("/api/v1/staff/complaints").status_code == 200  # the admin's own session goes on

    assert boss.patch("/api/v1/staff/accounts/wang", json={"active": True}).status_code == 200
    assert staff(desk_app, "wang").get("/api/v1/staff/complaints").status_code == 200
    assert [row[2] for row in audit_rows(db_url)] == ["deactivated", "reactivated"]


def test_a_password_reset_ends_sessions_and_is_audited_without_the_password(desk_app, db_url):
    wang = staff(desk_app, "wang")
    boss = staff(desk_app, "boss")
    res = boss.post("/api/v1/staff/accounts/wang/password", json={"password": NEW_PASSWORD})
    assert res.status_code == 200
    assert wang.get("/api/v1/staff/complaints").status_code == 401
    refused = desk_app.test_client().post("/api/v1/staff/login", json={"username": "wang", "password": PASSWORD})
    assert refused.status_code == 401
    assert staff(desk_app, "wang", NEW_PASSWORD).get("/api/v1/staff/complaints").status_code == 200
    assert audit_rows(db_url) == [("staff:boss", "wang", "password_reset", None, None)]
    (hash_,), = query_db(db_url, "SELECT password_hash FROM staff_users WHERE username = 'wang'")
    dump = repr(query_db(db_url, "SELECT * FROM staff_audit"))
    assert NEW_PASSWORD not in dump and hash_ not in dump and "argon2" not in dump


def test_the_last_active_admin_stays(desk_app, db_url):
    """Nobody, not even the last admin themselves, can leave the desk without an active admin."""
    boss = staff(desk_app, "boss")
    for change in ({"active": False}, {"role": "handler"}, {"role": "relations", "active": True}):
        res = boss.patch("/api/v1/staff/accounts/boss", json=change)
        assert res.status_code == 409, change
        assert "最后一个在用的管理员" in res.get_json()["error"]
    assert query_db(db_url, "SELECT role, active FROM staff_users WHERE username = 'boss'") == [("admin", True)]
    assert audit_rows(db_url) == []
    # With a second admin, the first may step down; then the second is the last.
    assert boss.patch("/api/v1/staff/accounts/li", json={"role": "admin"}).status_code == 200
    assert boss.patch("/api/v1/staff/accounts/boss", json={"role": "handler"}).status_code == 200
    li = staff(desk_app, "li")
    assert li.patch("/api/v1/staff/accounts/li", json={"active": False}).status_code == 409
    # A deactivated admin does not count.
    assert li.patch("/api/v1/staff/accounts/boss", json={"role": "admin", "active": False}).status_code == 200
    assert li.patch("/api/v1/staff/accounts/li", json={"role": "handler"}).status_code == 409


def test_two_admins_demoting_each_other_at_once_leave_one(desk_app, db_url):
    """Each in its own transaction at the same moment: one wins, the other is refused (409), never both."""
    import threading

    from intake_api.desk import Actor, Conflict, Desk
    from intake_api.models import StaffUser
    make = desk_app.extensions["db_sessionmaker"]
    kb, clock = desk_app.config["KB"], desk_app.extensions["kb_clock"]
    execute = staff(desk_app, "boss")
    assert execute.patch("/api/v1/staff/accounts/li", json={"role": "admin"}).status_code == 200
    for round_ in range(4):
        barrier, outcomes = threading.Barrier(2), []

        def demote(me: str, other: str, field: str) -> None:
            with make() as session:
                desk = Desk(session, kb, clock)
                who = Actor.staff(session.query(StaffUser).filter_by(username=me).one())
                barrier.wait()
                try:
                    desk.update_staff(who, other, **({"active": False} if field == "active" else {"role": "handler"}))
                    outcomes.append("done")
                except Conflict:
                    outcomes.append("refused")

        field = ("active", "role")[round_ % 2]
        threads = [threading.Thread(target=demote, args=pair + (field,)) for pair in (("boss", "li"), ("li", "boss"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["done", "refused"], (round_, outcomes)
        admins = query_db(db_url, "SELECT username FROM staff_users WHERE role = 'admin' AND active")
        assert len(admins) == 1, admins
        # Both admins again for the next round.
        query_db_execute(db_url, "UPDATE staff_users SET role = 'admin', active = true WHERE username IN ('boss', 'li')")


def query_db_execute(db_url: str, sql: str) -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def run_kb(built_kb, *args, **kwargs):
    from kb_builder.cli import main
    return CliRunner().invoke(main, ["--config", str(built_kb / "kb.yml"), "staff", *args], **kwargs)


def test_kb_staff_commands(desk_app, built_kb, db_url, monkeypatch):
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    monkeypatch.delenv("KB_STAFF_PASSWORD", raising=False)
    wang = staff(desk_app, "wang")

    res = run_kb(built_kb, "list")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split() == ["username", "name", "role", "teams", "department", "email", "active"]
    assert [line.split()[0] for line in lines[1:]] == ["boss", "er", "li", "wang"]

    res = run_kb(built_kb, "set", "wang", "--role", "relations", "--team", "it", "--team", "hazards",
                 "--department", "security", "--email", "wang@example.com")
    assert res.exit_code == 0, res.output
    assert res.output == ("'wang': role relations, teams it, hazards, department security, "
                          "e-mail wang@example.com.\n")
    assert run_kb(built_kb, "set", "wang", "--no-teams", "--email", "").exit_code == 0
    assert query_db(db_url, "SELECT teams, email FROM staff_users WHERE username = 'wang'") == [([], None)]

    res = run_kb(built_kb, "set", "wang", "--team", "nope")
    assert res.exit_code == 1 and res.output.startswith("Error: 未知团队 nope，可选：hr-desk, facilities")
    assert "（kb.yml 的 process.teams）" in res.output and "Traceback" not in res.output
    assert run_kb(built_kb, "set", "wang").exit_code == 2  # nothing to change: a usage error

    res = run_kb(built_kb, "deactivate", "wang")
    assert res.exit_code == 0 and res.output == "Deactivated 'wang'; its sessions have ended.\n"
    assert wang.get("/api/v1/staff/complaints").status_code == 401
    assert run_kb(built_kb, "reactivate", "wang").exit_code == 0

    # reset-password asks twice (and refuses two different answers), or takes KB_STAFF_PASSWORD.
    res = run_kb(built_kb, "reset-password", "wang", input=f"{NEW_PASSWORD}\nsomething else\n{NEW_PASSWORD}\n"
                                                            f"{NEW_PASSWORD}\n")
    assert res.exit_code == 0, res.output
    assert "do not match" in res.output and NEW_PASSWORD not in res.output
    staff(desk_app, "wang", NEW_PASSWORD)
    monkeypatch.setenv("KB_STAFF_PASSWORD", "from the environment")
    assert run_kb(built_kb, "reset-password", "wang").exit_code == 0
    staff(desk_app, "wang", "from the environment")
    monkeypatch.setenv("KB_STAFF_PASSWORD", "short")
    res = run_kb(built_kb, "reset-password", "wang")
    assert res.exit_code == 1 and "密码至少要 10 个字符" in res.output

    res = run_kb(built_kb, "deactivate", "boss")
    assert res.exit_code == 1 and "boss 是最后一个在用的管理员" in res.output
    assert run_kb(built_kb, "deactivate", "ghost").output.startswith("Error: 没有这个员工账号“ghost”")

    monkeypatch.setenv("KB_STAFF_PASSWORD", NEW_PASSWORD)
    res = run_kb(built_kb, "create", "zhao", "--team", "canteen")
    assert res.exit_code == 0 and res.output == "Created handler 'zhao' in teams canteen.\n", res.output

    res = run_kb(built_kb, "audit", "--limit", "50")
    assert res.exit_code == 0
    actions = [line.split()[4].rstrip(":") for line in res.output.splitlines()]
    assert actions == ["created", "password_reset", "password_reset", "reactivated", "deactivated", "email",
                       "teams", "email", "department", "teams", "role"]
    assert all(line.split()[2] == "admin:cli" for line in res.output.splitlines())
    assert "relations" in res.output and "from the environment" not in res.output
    res = run_kb(built_kb, "audit", "--user", "zhao")
    assert len(res.output.splitlines()) == 1 and "role=handler; teams=canteen" in res.output


def test_the_accounts_page(desk_app, db_url):
    boss = workspace_login(desk_app, "boss")
    index = boss.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/accounts"' in index
    page = boss.get("/staff/accounts").get_data(as_text=True)
    assert "员工账号" in page and "账号变更记录" in page and "重置密码" in page
    assert "王工 &lt;b&gt;x&lt;/b&gt;" in page and "王工 <b>x" not in page
    token = token_of(page)

    # Change role, teams, department and e-mail with the account's form (unticked teams go).
    form = {"role": "handler", "teams": ["it", "canteen"], "department": "it", "email": "wang@example.com"}
    assert boss.post("/staff/accounts/wang", data=form).status_code == 400  # no CSRF token: refused
    res = boss.post("/staff/accounts/wang", data={**form, "csrf_token": token})
    assert res.status_code == 302
    shown = boss.get(res.headers["Location"]).get_data(as_text=True)
    assert 'class="flash-ok"' in shown
    assert query_db(db_url, "SELECT teams, department, email FROM staff_users WHERE username = 'wang'") == [
        (["it", "canteen"], "it", "wang@example.com")]
    # A refused change is explained on the page, in its language, and changes nothing.
    res = boss.post("/staff/accounts/wang", data={**form, "department": "nowhere", "csrf_token": token},
                    follow_redirects=True)
    assert "未知部门 &#39;nowhere&#39;，可选：hr, admin" in res.get_data(as_text=True)
    res = boss.post("/staff/accounts/wang/password", data={"password": NEW_PASSWORD, "password2": "typo typo typo",
                                                           "csrf_token": token}, follow_redirects=True)
    assert "两次输入的密码不一致" in res.get_data(as_text=True)
    assert [row[2] for row in audit_rows(db_url)] == ["teams", "department", "email"]

    # Deactivate from the page: wang's open workspace session ends.
    wang = workspace_login(desk_app, "wang")
    assert boss.post("/staff/accounts/wang/active", data={"active": "0", "csrf_token": token}).status_code == 302
    assert wang.get("/staff/").status_code == 302
    page = boss.get("/staff/accounts").get_data(as_text=True)
    assert re.search(r'data-username="wang" class="inactive"', page) and "恢复启用" in page
    res = boss.post("/staff/accounts/boss/active", data={"active": "0", "csrf_token": token}, follow_redirects=True)
    assert "boss 是最后一个在用的管理员" in res.get_data(as_text=True)
    assert query_db(db_url, "SELECT active FROM staff_users WHERE username = 'boss'") == [(True,)]

    # Reset the password and create an account from the page.
    res = boss.post("/staff/accounts/wang/password", data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD,
                                                           "csrf_token": token})
    assert res.status_code == 302
    res = boss.post("/staff/accounts", data={"username": "zhao", "name": "赵 <i>", "role": "relations",
                                             "password": NEW_PASSWORD, "password2": NEW_PASSWORD,
                                             "csrf_token": token})
    assert res.status_code == 302
    # The audit table on the page, newest first, in English too.
    boss.get("/staff/?lang=en")
    page = boss.get("/staff/accounts").get_data(as_text=True)
    assert "Changes to accounts" in page and "Reset password" in page and "赵 &lt;i&gt;" in page
    audit = page.split('id="audit"')[1]
    assert [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", audit)[3::5]] == [
        "created", "password reset", "deactivated", "e-mail", "department", "teams"]
    assert NEW_PASSWORD not in page


def test_changing_ones_own_e_mail_is_audited_too(desk_app, db_url):
    web = workspace_login(desk_app, "wang")
    token = token_of(web.get("/staff/notifications").get_data(as_text=True))
    res = web.post("/staff/notifications", data={"email": "w@example.com", "language": "en", "csrf_token": token})
    assert res.status_code == 302
    assert audit_rows(db_url) == [("staff:wang", "wang", "email", None, "w@example.com"),
                                  ("staff:wang", "wang", "language", None, "en")]
