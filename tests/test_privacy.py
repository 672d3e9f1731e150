"""Privacy by design: who sees identities, what is stored, encrypted, purged and reported."""

import datetime as dt
import logging

import pytest
from click.testing import CliRunner

from conftest import COMPLAINT, api_login, query_db

WHO = {"name": "赵丽华", "department": "财务部", "position": "会计", "contact": "zhaolihua@example.com"}


def all_text(db_url: str) -> str:
    """Every value of every row of every table, as one string: what a dump would show."""
    from sqlalchemy import create_engine, inspect, text
    engine = create_engine(db_url)
    out = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                out.append(" ".join(str(v) for v in row))
    engine.dispose()
    return "\n".join(out)


def test_sensitive_categories_are_flagged_for_the_form(client):
    cats = {c["id"]: c["sensitive"] for c in client.get("/api/v1/meta").get_json()["categories"]}
    assert cats["harassment"] and cats["safety"] and not cats["canteen"]


def test_sensitive_complaints_go_to_employee_relations(client):
    body = client.post("/api/v1/complaints", json=dict(COMPLAINT, category="service",
                                                       description="主管多次在会上辱骂我，还威胁要扣我奖金")).get_json()
    assert body["team"] == "relations"
    body = client.post("/api/v1/complaints", json=dict(COMPLAINT, category="safety",
                                                       description="仓库的货架摇摇欲坠")).get_json()
    assert body["level"] == 1


def test_confidential_identity_is_seen_by_employee_relations_only(client, make_staff):
    make_staff("hr", "handler", ["relations"])
    make_staff("boss", "admin")
    make_staff("er", "relations")
    number = client.post("/api/v1/complaints", json=dict(COMPLAINT, category="harassment",
                                                         description="同组同事多次发露骨消息", disclosure="confidential",
                                                         identity=WHO)).get_json()["number"]
    for user, sees in (("hr", False), ("boss", False), ("er", True)):
        client.post("/api/v1/staff/logout")
        api_login(client, user)
        body = client.get(f"/api/v1/staff/complaints/{number}").get_json()
        page = client.get(f"/staff/complaints/{number}").get_data(as_text=True)
        assert (body["identity"] == WHO) is sees, user
        assert (WHO["name"] in page) is sees, user
        if not sees:
            assert body["identity"] == {"hidden": True}
            assert "仅员工关系专员可见" in page


def test_relations_see_confidential_complaints_of_any_team(client, make_staff):
    make_staff("er", "relations")
    conf = client.post("/api/v1/complaints", json=dict(COMPLAINT, disclosure="confidential", identity=WHO)).get_json()
    client.post("/api/v1/complaints", json=COMPLAINT)
    api_login(client, "er")
    numbers = [c["number"] for c in client.get("/api/v1/staff/complaints").get_json()["complaints"]]
    assert numbers == [conf["number"]]


def test_an_anonymous_complainant_answers_a_question_through_the_tracking_code(client, make_staff):
    make_staff("wang", "handler", ["facilities"])
    ack = client.post("/api/v1/complaints", json=dict(COMPLAINT, disclosure="anonymous")).get_json()
    token = api_login(client, "wang")
    res = client.post(f"/api/v1/staff/complaints/{ack['number']}/messages", json={"text": "是哪一层的饮水机？"},
                      headers={"X-CSRFToken": token})
    assert res.status_code == 200
    client.post("/api/v1/staff/logout")
    status = client.get(f"/api/v1/complaints/{ack['tracking_code']}").get_json()
    assert [m["body"] for m in status["messages"]] == ["是哪一层的饮水机？"]
    assert "wang" not in str(status)
    res = client.post(f"/api/v1/complaints/{ack['tracking_code']}/messages", json={"text": "三楼东侧茶水间"})
    assert res.status_code == 201
    assert [m["author"] for m in res.get_json()["messages"]] == ["staff", "complainant"]
    api_login(client, "wang")
    detail = client.get(f"/api/v1/staff/complaints/{ack['number']}").get_json()
    assert [(h["actor"], h["action"], h["to"]) for h in detail["history"] if h["action"] in ("question", "answer")] == [
        ("staff:wang", "question", "是哪一层的饮水机？"), ("complainant", "answer", "三楼东侧茶水间")]
    assert detail["identity"] is None


def test_a_dump_read_without_the_key_shows_no_identity(client, db_url):
    client.post("/api/v1/complaints", json=dict(COMPLAINT, identity=WHO))
    client.post("/api/v1/complaints", json=dict(COMPLAINT, disclosure="confidential", identity=WHO))
    dump = all_text(db_url)
    for value in WHO.values():
        assert value not in dump
    # Read with another key, the tokens do not open.
    from cryptography.fernet import Fernet, InvalidToken
    token = query_db(db_url, "SELECT name FROM complaints WHERE name IS NOT NULL")[0][0]
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(token.encode())


def test_an_anonymous_complaint_leaves_no_identity_or_ip_anywhere(live_server, live_db_url, built_kb):
    import json
    import urllib.request
    marker = "匿名测试投诉：仓库通道被纸箱堵住了七号门"
    req = urllib.request.Request(live_server + "/api/v1/complaints", method="POST",
                                 headers={"Content-Type": "application/json", "X-Forwarded-For": "10.9.8.7"},
                                 data=json.dumps(dict(COMPLAINT, description=marker, disclosure="anonymous")).encode())
    code = json.loads(urllib.request.urlopen(req).read())["tracking_code"]
    urllib.request.urlopen(live_server + "/api/v1/complaints/" + code).read()
    dump = all_text(live_db_url)
    assert "127.0.0.1" not in dump and "10.9.8.7" not in dump
    row = query_db(live_db_url, "SELECT disclosure, name, department, position, contact FROM complaints")
    assert row == [("anonymous", None, None, None, None)]


def test_server_logs_hold_no_complaint_text_or_ip(built_kb, db_url, tmp_path):
    """Run kb serve, submit, and read everything the server wrote."""
    import json
    import urllib.request

    from conftest import start_kb_serve, stop_kb_serve
    log_file = tmp_path / "server.log"
    with open(log_file, "w") as log:
        proc, url = start_kb_serve(built_kb / "kb.yml", db_url, output=log)
        try:
            marker = "匿名：七号门的消防通道被纸箱堵住"
            req = urllib.request.Request(url + "/api/v1/complaints", method="POST",
                                         headers={"Content-Type": "application/json"},
                                         data=json.dumps(dict(COMPLAINT, description=marker, disclosure="anonymous")).encode())
            urllib.request.urlopen(req).read()
            bad = urllib.request.Request(url + "/api/v1/complaints", method="POST",
                                         headers={"Content-Type": "application/json"},
                                         data=json.dumps({"description": marker}).encode())
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(bad)
        finally:
            stop_kb_serve(proc)
    text = log_file.read_text()
    assert "Listening at" in text  # the log was captured
    assert marker not in text and url.removeprefix("http://") + " -" not in text
    assert "127.0.0.1 " not in text


def test_app_logging_keeps_no_complaint_text(client, caplog):
    caplog.set_level(logging.DEBUG)
    marker = "日志测试：饮水机旁边有积水很滑"
    client.post("/api/v1/complaints", json=dict(COMPLAINT, description=marker, disclosure="anonymous"))
    client.post("/api/v1/complaints", json={"description": marker})
    assert marker not in caplog.text


def test_key_rotation_re_encrypts_and_drops_the_old_key(empty_kb, db_url, monkeypatch):
    from kb_builder.cli import main
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    monkeypatch.delenv("KB_IDENTITY_KEYS", raising=False)
    from intake_api import create_app
    app = create_app({"KB_CONFIG": str(empty_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": db_url,
                                                                                 "paths.index": str(empty_kb / "none")}})
    app.test_client().post("/api/v1/complaints", json=dict(COMPLAINT, identity=WHO))
    app.extensions["db_engine"].dispose()
    key_file = empty_kb / "instance" / "identity.keys"
    from intake_api.crypto import parse_keys
    old = parse_keys(key_file.read_text())
    before = query_db(db_url, "SELECT name FROM complaints")[0][0]

    assert key_file.stat().st_mode & 0o777 == 0o600  # made on first use by crypto.write_keys

    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "keys", "rotate"])
    assert res.exit_code == 0, res.output
    assert "Re-encrypted 1 complaints" in res.output
    new = parse_keys(key_file.read_text())
    assert len(new) == 1 and new != old
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in key_file.parent.iterdir() if p.name.startswith(".identity")] == []  # no temporary left
    after = query_db(db_url, "SELECT name FROM complaints")[0][0]
    assert after != before
    from cryptography.fernet import Fernet, InvalidToken
    with pytest.raises(InvalidToken):
        Fernet(old[0].encode()).decrypt(after.encode())
    assert Fernet(new[0].encode()).decrypt(after.encode()).decode() == WHO["name"]


def test_purge_and_erasure_keep_the_aggregates(app, client, db_url):
    from intake_api import privacy, process
    from intake_api.db import get_session
    from intake_api.models import Complaint
    from intake_api.schemas import ComplaintIn
    from sqlalchemy import select
    kb = app.config["KB"]
    old_time = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=800)
    with app.app_context():
        s = get_session()
        clock = app.extensions["kb_clock"]
        for i in range(3):
            data = ComplaintIn.model_validate(dict(COMPLAINT, identity=WHO), context={"categories": kb.category_ids})
            c, _ = process.register(s, kb, clock, data, now=old_time)
            c.status, c.closed_at, c.rating = "closed", old_time + dt.timedelta(days=10), 4
        recent = client.post("/api/v1/complaints", json=dict(COMPLAINT, identity=WHO)).get_json()["number"]
        s.commit()
        before = query_db(db_url, "SELECT category, level, channel, status, rating FROM complaints ORDER BY id")
        purged = privacy.purge(s, kb.process.privacy.retention_days)
        s.commit()
        assert len(purged) == 3
        c = s.scalar(select(Complaint).where(Complaint.number == recent))
        privacy.erase_identity(s, c, "staff:boss", "本人申请删除")
        s.commit()
    after = query_db(db_url, "SELECT category, level, channel, status, rating FROM complaints ORDER BY id")
    assert after == before
    dump = all_text(db_url)
    assert COMPLAINT["description"] in dump  # the recent complaint keeps its text...
    assert dump.count(COMPLAINT["description"]) == 1 + 0  # ...the purged ones do not
    with app.app_context():
        for c in get_session().scalars(select(Complaint)):
            assert c.name is None
    events = query_db(db_url, "SELECT action, note FROM complaint_events WHERE action IN ('purged', 'identity_erased')")
    assert sorted(a for a, _ in events) == ["identity_erased", "purged", "purged", "purged"]
    assert ("identity_erased", "本人申请删除") in events


def test_small_groups_are_merged_or_hidden():
    from intake_api.privacy import OTHER, suppress_small
    assert suppress_small({"财务部": 12, "IT": 7, "法务": 3, "审计": 2}, 5) == {"财务部": 12, "IT": 7, OTHER: 5}
    assert suppress_small({"财务部": 12, "法务": 3}, 5) == {"财务部": 12, OTHER: 0}
    assert suppress_small({"财务部": 12}, 5) == {"财务部": 12}


@pytest.mark.parametrize("text", ["我的组长经常对我性骚扰", "My manager keeps bullying me", "同事因为我的年龄歧视我",
                                  "他收了供应商的回扣"])
def test_sensitive_texts_get_no_suggestions(client, text):
    body = client.get("/api/v1/suggest", query_string={"q": text}).get_json()
    assert body["results"] == [] and body["sensitive"] is True and body["emergency_contact"] is None


def test_danger_gets_the_emergency_contact(client):
    body = client.get("/api/v1/suggest", query_string={"q": "楼道里起火了，有烟"}).get_json()
    assert body["results"] == [] and body["sensitive"] is True
    assert "110" in body["emergency_contact"]
    body = client.get("/api/v1/suggest", query_string={"q": "货架不稳", "category": "safety"}).get_json()
    assert body["sensitive"] is True and body["emergency_contact"]


def test_ordinary_texts_still_get_suggestions(client):
    body = client.get("/api/v1/suggest", query_string={"q": "饮水机坏了"}).get_json()
    assert body["results"] and not body.get("sensitive")


def test_a_failed_rotation_keeps_every_key_that_may_be_in_use(empty_kb, db_url, monkeypatch):
    """The new key is written to the key file before anything is encrypted with it."""
    from intake_api import crypto, privacy
    from kb_builder.cli import main
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    monkeypatch.delenv("KB_IDENTITY_KEYS", raising=False)
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "db", "upgrade"])
    assert res.exit_code == 0, res.output
    key_file = empty_kb / "instance" / "identity.keys"
    old = crypto.parse_keys(key_file.read_text())

    def fail_halfway(session):
        raise crypto.KeyringError("disk full halfway through")
    monkeypatch.setattr(privacy, "rotate_keys", fail_halfway)
    res = CliRunner().invoke(main, ["--config", str(empty_kb / "kb.yml"), "keys", "rotate"])
    assert res.exit_code == 1 and res.output == "Error: disk full halfway through\n"
    ring = crypto.parse_keys(key_file.read_text())
    assert len(ring) == 2 and ring[1:] == old  # the new key in front, the old one still there
    assert key_file.stat().st_mode & 0o777 == 0o600
