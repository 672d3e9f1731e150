"""Danger and harassment recognised however people write them, and every complaint reaching the right people (issue 18).

Every example of the issue goes through the real API (suggest and submit)
on SQLite and PostgreSQL; the routing matrix checks each role against each
routing outcome; two worker processes on PostgreSQL raise one alert per wave.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import COMPLAINT, ROOT, api_login, query_db

EMERGENCY = "110"

# (description, category filed under, expected kind, expected team, expected level)
ISSUE_EXAMPLES = [
    ("电梯困人了，有两个人被困在B座2号电梯里", "facilities", "danger", "hazards", 1),
    ("办公楼B座的电梯经常停在半路，上周还困住了两个人十分钟", "facilities", "danger", "hazards", 1),
    ("楼梯扶手松动了，随时可能有人摔下去", "facilities", "danger", "hazards", 1),
    ("今天在食堂吃完午饭，下午好几个同事肚子疼、上吐下泻", "canteen", "hygiene", "canteen", 1),
    ("my manager touches me inappropriately", "service", "harassment", "relations", 3),
    ("he groped me at the party", "facilities", "harassment", "relations", 3),
    ("my manager yelled at me and hit me", "service", "harassment", "relations", 3),
    ("主管经常骂我是废物", "service", "harassment", "relations", 3),
    ("因为我怀孕就把我调岗降薪", "leave", "discrimination", "relations", 3),
    ("同事偷了我的钱包", "facilities", "misconduct", "relations", 3),
    ("我不敢说是谁，但他总是在没人的时候…", "service", "harassment", "relations", 3),
]
PEOPLE = {"harassment", "discrimination", "retaliation", "misconduct"}


def submit(client, **fields):
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, **fields))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def suggest(client, q, **params):
    res = client.get("/api/v1/suggest", query_string={"q": q, **params})
    assert res.status_code == 200
    return res.get_json()


@pytest.mark.parametrize("text,category,kind,team,level", ISSUE_EXAMPLES, ids=[e[0][:24] for e in ISSUE_EXAMPLES])
def test_each_issue_example_is_recognised_routed_and_stored(client, db_url, make_staff, text, category, kind, team,
                                                            level):
    body = suggest(client, text)
    assert body["results"] == [] and body["sensitive"] is True and body["kind"] == kind
    if kind == "danger":
        assert EMERGENCY in body["emergency_contact"]
    else:
        assert body["emergency_contact"] is None
    assert body["propose_disclosure"] == ("confidential" if kind in PEOPLE else None)

    ack = submit(client, description=text, category=category)
    assert (ack["team"], ack["level"]) == (team, level)
    if kind == "danger":
        assert EMERGENCY in ack["emergency_contact"] and EMERGENCY in ack["acknowledgement"]
    else:
        assert ack["emergency_contact"] is None
    stored = query_db(db_url, "SELECT recognised_kind, recognised_reason, safety_flag FROM complaints")
    assert stored[0][0] == kind and stored[0][1] and bool(stored[0][2]) is (level == 1)

    # Staff see the decision and its reason; the history says which rule routed it.
    make_staff("boss", "admin")
    api_login(client, "boss")
    detail = client.get(f"/api/v1/staff/complaints/{ack['number']}").get_json()
    assert detail["recognised"]["kind"] == kind and detail["recognised"]["reason"] == stored[0][1]
    team_event = next(h for h in detail["history"] if h["action"] == "team")
    assert team_event["to"] == team and team_event["note"].startswith(f"rule: recognised as {kind}")
    page = client.get(f"/staff/complaints/{ack['number']}").get_data(as_text=True)
    assert 'id="recognised"' in page and kind in page


@pytest.mark.parametrize("text", ["someone is smoking in the toilet", "食堂的火锅太辣了", "where is the smoking area",
                                  "吸烟区在哪", "smoking area", "饮水机坏了", "gas lift on my chair failed",
                                  "电梯太慢了"])
def test_look_alikes_do_not_alarm(client, db_url, text):
    body = suggest(client, text)
    assert not body.get("sensitive") and not body.get("emergency_contact")
    ack = submit(client, description=text, category="facilities")
    assert ack["level"] == 3 and ack["emergency_contact"] is None and ack["team"] == "facilities"
    assert query_db(db_url, "SELECT count(*) FROM alerts") == [(0,)]


@pytest.fixture(scope="module")
def kb(built_kb):
    """The knowledge base's settings as the app reads them: the recogniser needs no app and no database."""
    from kb_builder.config import load_config
    return load_config(built_kb / "kb.yml")


def test_negation_keeps_a_word_from_alarming(kb):
    from intake_api.sensitive import recogniser
    rec = recogniser(kb)
    assert "danger" in rec.words("楼道里有人受伤了")
    assert "danger" not in rec.words("演练很顺利，没有人受伤")
    assert "danger" not in rec.words("nobody was injured in the drill")
    assert "danger" not in rec.words("食堂的火锅太辣")


@pytest.mark.parametrize("text,negated", [
    ("有没有人受伤？", False),                      # a question, not a negation
    ("没多久就着火了", False),                      # the sentence turns at 就
    ("没人管，有人被困在电梯里", False),             # another clause
    ("水淹没了配电箱，有人触电", False),             # 淹没 is no negation
    ("there's another explosion in the lab", False),  # "no" is not in "another"
    ("I'm not sure but I think someone is trapped", False),
    ("演练时没有人受伤", True),
    ("no one was injured", True),
    ("he wasn't injured", True),
    ("the socket never sparked, it just stopped working", True),   # another form of a listed word (sparks)
    ("the socket sparked and now it's black", False),
])
def test_a_negation_counts_in_its_own_clause_only(kb, text, negated):
    from intake_api.sensitive import recogniser
    assert ("danger" not in recogniser(kb).words(text)) is negated


@pytest.mark.parametrize("text,counts", [
    ("万一着火了，我们这层从哪个楼梯走？", False),           # asks the procedure
    ("如果有人受傷，醫藥箱放在哪", False),                   # Traditional, asks where
    ("what number do I call if someone is trapped in the lift?", False),
    ("消防通道堵死了，万一着火根本跑不出去", True),            # no question: a hazard report
    ("有人受伤了，医药箱在哪？", True),                      # a question, but the injury is no supposition
    ("if you ask me, someone will get electrocuted here", True),   # a hypothetical, but no question: counts
])
def test_a_supposition_in_a_question_does_not_alarm_by_words(kb, text, counts):
    from intake_api.sensitive import recogniser
    rec = recogniser(kb)
    assert ("danger" in rec.words(text)) is counts


@pytest.mark.parametrize("text,kind", [
    ("去年被热水烫伤的医药费收据找到了，还可以申请补助吗？", None),          # asks about a finished injury
    ("上次茶水間插座冒煙的事已經修好了，想確認以後要怎麼通報。", None),       # Traditional, mended, asks the procedure
    ("We had a gas leak in the kitchen last year which was fixed, but who should I call if it happens again?", None),
    ("之前就反映过电梯困人，怎么还没人管？", "danger"),                     # not mended: still now
    ("上次电梯困人之后一直没修，今天又困人了", "danger"),                   # happening again
    ("去年受伤的医药费还没报销", "danger"),                                 # no question: the word counts (known)
    ("去年他经常摸我，我该找谁？", "harassment"),                           # the people matters count in the past
])
def test_a_question_about_a_finished_event_is_not_urgent(kb, text, kind):
    from intake_api.sensitive import recogniser
    assert recogniser(kb).recognise(text).kind == kind


def test_english_phrases_allow_a_few_fillers_between_their_words(kb):
    from intake_api.sensitive import recogniser
    rec = recogniser(kb)
    assert rec.words("smoke is still coming out of the vending machine")["danger"] == ["smoke coming out"]
    assert rec.words("smoke's coming out of the printer")["danger"] == ["smoke coming out"]
    # Fillers only: other words between still break the phrase, and a negation still governs it.
    assert "danger" not in rec.words("smoke from the kitchen was coming out of the vent")
    assert "danger" not in rec.words("there was no smoke coming out, it was steam")


def test_phrases_match_as_they_stand_and_ignored_phrases_are_invisible_to_the_meaning(kb):
    from intake_api.sensitive import recogniser
    rec = recogniser(kb)
    # jieba splits 人关在里面 differently by context; the phrase 关在里面 does not care.
    assert rec.words("东区的电梯把两个同事关在里面了")["danger"] == ["关在里面"]
    assert rec.words("there's a strong smell of gas in the basement")["danger"] == ["smell of gas"]
    # "gas lift" is an ignored phrase: neither its words nor its meaning read as a lift.
    assert rec._masked("The gas lift on my chair failed").split() == ["the", "on", "my", "chair", "failed"]
    assert rec.recognise("The gas lift on my chair failed").kind is None
    assert rec.recognise("My chair's gas lift is broken and the lift in block B is stuck with people inside").kind \
        == "danger"


def test_the_threshold_is_chosen_by_cross_validation_on_the_examples_file():
    """The lowest threshold at which at most `false_alarms` of the ordinary examples alarm, whatever the group."""
    from types import SimpleNamespace

    import numpy as np

    from kb_builder.recognise import choose_threshold
    # two kinds (danger, harassment as the people group), ordinary last; labels -1 = ordinary
    probs = np.array([[0.9, 0.0, 0.1], [0.45, 0.0, 0.55],      # danger examples
                      [0.0, 0.8, 0.2],                          # a harassment example
                      [0.5, 0.0, 0.5], [0.0, 0.33, 0.67], [0.1, 0.1, 0.8], [0.0, 0.0, 1.0]])  # ordinary
    labels = np.array([0, 0, 1, -1, -1, -1, -1])
    rec = SimpleNamespace(_labels=labels, _groups=[(0,), (1,)], rules=SimpleNamespace(false_alarms=0.25))
    assert choose_threshold(rec, probs) == 0.34   # 0.33 would alarm on two of four
    rec.rules.false_alarms = 0.5
    assert choose_threshold(rec, probs) == 0.2
    rec.rules.false_alarms = 0.01
    assert choose_threshold(rec, probs) == 0.51
    # Several splits: the share is averaged. A second split where no ordinary example alarms halves
    # the first's share, so 0.2 (two of four there, none here: 0.25 on average) is allowed.
    quiet = probs.copy()
    quiet[3:] = [0.0, 0.0, 1.0]
    rec.rules.false_alarms = 0.25
    assert choose_threshold(rec, [probs, quiet]) == 0.2
    assert choose_threshold(rec, [probs, probs]) == 0.34


def test_the_learnt_threshold_and_a_fixed_one(kb):
    from intake_api.sensitive import recogniser
    from kb_builder.recognise import THRESHOLDS, Recogniser
    rec = recogniser(kb)
    assert rec.rules.threshold is None and len(set(rec.thresholds.values())) == 1
    assert next(iter(rec.thresholds.values())) in THRESHOLDS
    store = kb.path("cache")
    fixed = Recogniser(rec.rules.model_copy(update={"threshold": 0.6}), encoder=rec.encoder, store=store)
    assert set(fixed.thresholds.values()) == {0.6}
    assert Recogniser(rec.rules, encoder=rec.encoder, store=store).thresholds == rec.thresholds  # read back


def _small_rules():
    """The sample's examples file cut to a few examples per kind: learnt in a second, not seven."""
    from kb_builder.recognise import load_rules
    rules = load_rules(ROOT / "content" / "recognise.yml")
    kinds = {k: r.model_copy(update={"examples": r.examples[:6]}) for k, r in rules.kinds.items()}
    return rules.model_copy(update={"kinds": kinds, "ordinary": rules.ordinary[:30]})


def test_the_learnt_model_is_kept_read_back_and_never_stale(tmp_path, monkeypatch, caplog):
    """A second process reads what the first learnt (same verdicts, no learning); an edit or damage learns afresh."""
    from kb_builder import recognise
    from kb_builder.recognise import Model, Recogniser
    rules = _small_rules()
    texts = ["电梯困人了，有两个人被困在B座2号电梯里", "my manager touches me inappropriately", "食堂的菜太咸了",
             "主管經常罵我是廢物"]
    recognise._MODELS.clear()
    first = Recogniser(rules, store=tmp_path)
    [stored] = tmp_path.glob("recogniser-*.npz")
    expected = [first.recognise(t) for t in texts]
    assert any(v.kind for v in expected) and any(v.kind is None for v in expected)

    recognise._MODELS.clear()  # as a new process
    with monkeypatch.context() as m:
        m.setattr(Model, "fit", classmethod(lambda *a, **k: pytest.fail("learnt again instead of read")))
        second = Recogniser(rules, store=tmp_path)
        assert second.thresholds == first.thresholds
        assert [second.recognise(t) for t in texts] == expected
        assert [second.recognise(t).score for t in texts] == [v.score for v in expected]

    recognise._MODELS.clear()
    edited = rules.model_copy(update={"ordinary": [*rules.ordinary, "打印机又卡纸了，等了半小时"]})
    Recogniser(edited, store=tmp_path)
    assert len(list(tmp_path.glob("recogniser-*.npz"))) == 2  # the edit has a file of its own

    stored.write_bytes(b"PK\x03\x04 damaged")
    recognise._MODELS.clear()
    with caplog.at_level("WARNING", logger="kb_builder.recognise_store"):
        third = Recogniser(rules, store=tmp_path)
    assert "ignoring" in caplog.text and str(stored) in caplog.text
    assert [third.recognise(t) for t in texts] == expected
    assert stored.stat().st_size > 1000  # learnt over and kept whole again
    recognise._MODELS.clear()


def test_half_typed_harassment_shows_no_articles(client):
    """Every prefix of a harassment complaint as typed: sensitive or held, never an article list."""
    for full in ("我的主管经常骂我是废物", "my manager touches me inappropriately"):
        decided = False
        for end in range(2, len(full) + 1):
            body = suggest(client, full[:end])
            if body.get("sensitive"):
                decided = True
            if decided:
                # After the first sensitive answer the form stays sensitive (kb.js keeps it
                # until a clearly ordinary, longer text): only the early prefixes matter here.
                continue
            assert body["results"] == [] or body.get("hold"), (full[:end], body)
        assert decided


def test_the_safety_category_shows_the_emergency_contact_and_goes_to_the_hazards_team(client):
    cats = {c["id"]: c for c in client.get("/api/v1/meta").get_json()["categories"]}
    assert EMERGENCY in cats["safety"]["emergency_contact"] and cats["harassment"]["emergency_contact"] is None
    body = suggest(client, "货架不太稳", category="safety")
    assert body["sensitive"] is True and EMERGENCY in body["emergency_contact"]
    ack = submit(client, category="safety", description="二楼仓库的货架有点歪")
    assert ack["team"] == "hazards" and ack["level"] == 1 and EMERGENCY in ack["emergency_contact"]


def test_the_category_decides_the_team_and_keywords_read_the_description_only(client, make_staff):
    payroll = submit(client, category="payroll", description="这个月工资少发了三百，工资条发到了我的邮箱但数字不对",
                     identity={"name": "李四", "contact": "lisi@example.com"})
    assert payroll["team"] == "finance"
    vpn = submit(client, category="process", description="VPN 一直连不上，申请流程也没人管")
    assert vpn["team"] == "it"
    # The contact field and the request say 邮箱 / e-mail: keyword rules never read them.
    contact = submit(client, category="process", description="报销流程要签五个字", request="结果请发到我的邮箱",
                     identity={"name": "王五", "contact": "e-mail: wangwu@example.com"})
    assert contact["team"] == "hr-desk"
    make_staff("boss", "admin")
    api_login(client, "boss")

    def rule(number):
        history = client.get(f"/api/v1/staff/complaints/{number}").get_json()["history"]
        return next(h["note"] for h in history if h["action"] == "team")
    assert rule(payroll["number"]) == "rule: category payroll"
    assert rule(vpn["number"]).startswith("rule: keywords VPN in the description: IT words")
    assert rule(contact["number"]) == "rule: category process has no team of its own: default team"


def test_an_employee_relations_account_sees_every_complaint_routed_to_it(client, make_staff):
    make_staff("er", "relations")  # as operations/desk.md creates it: no teams listed
    disc = submit(client, category="leave", description="因为我怀孕就把我调岗降薪", disclosure="anonymous")
    misc = submit(client, category="facilities", description="同事偷了我的钱包", disclosure="anonymous")
    plain = submit(client)
    api_login(client, "er")
    numbers = {c["number"] for c in client.get("/api/v1/staff/complaints").get_json()["complaints"]}
    assert numbers == {disc["number"], misc["number"]}
    assert client.get(f"/api/v1/staff/complaints/{plain['number']}").status_code == 404


# Each routing outcome, filed the way an employee would.
OUTCOMES = {
    "category": dict(category="facilities"),                                              # -> facilities
    "keyword": dict(category="process", description="VPN 连不上，流程也没人管"),           # -> it
    "default": dict(category="process", description="报销流程要签五个字"),                 # -> hr-desk
    "harassment": dict(category="facilities", description="he groped me at the party"),  # -> relations
    "danger": dict(category="facilities", description="电梯困人了，有两个人被困在里面"),   # -> hazards
    "confidential": dict(category="facilities", disclosure="confidential",
                         identity={"name": "赵丽华", "contact": "zhao@example.com"}),      # -> facilities
}
# Who sees what, written out (not computed by the rule under test).
MATRIX = {
    #                category keyword default harassment danger confidential
    "fac":          (True,    False,  False,  False,     False, True),
    "itdesk":       (False,   True,   False,  False,     False, False),
    "hrdesk":       (False,   False,  True,   False,     False, False),
    "hazard":       (False,   False,  False,  False,     True,  False),
    "er":           (False,   False,  False,  True,      False, True),
    "boss":         (True,    True,   True,   True,      True,  True),
}
ROLES = {"fac": ("handler", ["facilities"]), "itdesk": ("handler", ["it"]), "hrdesk": ("handler", ["hr-desk"]),
         "hazard": ("handler", ["hazards"]), "er": ("relations", []), "boss": ("admin", [])}
TEAMS = {"category": "facilities", "keyword": "it", "default": "hr-desk", "harassment": "relations",
         "danger": "hazards", "confidential": "facilities"}


def test_routing_matrix_each_role_against_each_outcome(client, make_staff):
    numbers = {}
    for outcome, fields in OUTCOMES.items():
        ack = submit(client, **fields)
        assert ack["team"] == TEAMS[outcome], outcome
        numbers[outcome] = ack["number"]
    for user, (role, teams) in ROLES.items():
        make_staff(user, role, teams)
    for user in ROLES:
        client.post("/api/v1/staff/logout")
        api_login(client, user)
        listed = {c["number"] for c in client.get("/api/v1/staff/complaints").get_json()["complaints"]}
        for outcome, sees in zip(OUTCOMES, MATRIX[user]):
            assert (numbers[outcome] in listed) is sees, (user, outcome)
            status = client.get(f"/api/v1/staff/complaints/{numbers[outcome]}").status_code
            assert status == (200 if sees else 404), (user, outcome)


def test_an_urgent_complaint_needs_its_temporary_measures_before_moving_on(client, make_staff):
    ack = submit(client, description="楼梯扶手松动了，随时可能有人摔下去")
    make_staff("hazard", "handler", ["hazards"])
    token = api_login(client, "hazard")
    headers = {"X-CSRFToken": token}
    url = f"/api/v1/staff/complaints/{ack['number']}"
    res = client.post(url + "/status", json={"status": "assessed"}, headers=headers)
    assert res.status_code == 409 and "临时措施" in res.get_json()["error"]
    res = client.post(url + "/temporary-measures", json={"text": "  "}, headers=headers)
    assert res.status_code == 409
    res = client.post(url + "/temporary-measures", json={"text": "已拉警戒线，楼梯暂停使用"}, headers=headers)
    assert res.status_code == 200 and res.get_json()["temporary_measures"] == "已拉警戒线，楼梯暂停使用"
    assert client.post(url + "/status", json={"status": "assessed"}, headers=headers).status_code == 200
    history = client.get(url).get_json()["history"]
    assert [h["action"] for h in history if h["action"] in ("temporary_measures", "status")] == [
        "temporary_measures", "status"]
    page = client.get(f"/staff/complaints/{ack['number']}").get_data(as_text=True)
    assert 'id="form-temporary-measures"' in page and "已拉警戒线" in page
    # Ordinary complaints have no such step.
    plain = submit(client)
    make_staff("fac", "handler", ["facilities"])
    client.post("/api/v1/staff/logout")
    token = api_login(client, "fac")
    res = client.post(f"/api/v1/staff/complaints/{plain['number']}/status", json={"status": "assessed"},
                      headers={"X-CSRFToken": token})
    assert res.status_code == 200


OUTAGE = ["3号楼突然停电了，电脑全部关机", "三号楼停电，空调和电脑都不能用", "3号楼整层停电，没法工作",
          "3号楼又停电了，文件没保存", "停电了！3号楼二层三层都没电", "3号楼停电快一个小时了，电梯也停了",
          "3号楼停电，冰箱里的东西要坏了", "3号楼还是停电，什么时候来电"]


def test_an_alert_is_acknowledged_with_a_note_and_the_wave_keeps_joining_it(client, db_url, make_staff):
    for text in OUTAGE[:6]:
        submit(client, description=text)
    make_staff("fac", "handler", ["facilities"])
    token = api_login(client, "fac")
    alerts = client.get("/api/v1/staff/alerts").get_json()["alerts"]
    wave = [a for a in alerts if a["kind"] == "emergency"]
    assert len(wave) == 1 and wave[0]["acknowledged_at"] is None
    url = f"/api/v1/staff/alerts/{wave[0]['id']}/acknowledge"
    res = client.post(url, json={"note": ""}, headers={"X-CSRFToken": token})
    assert res.status_code == 400
    res = client.post(url, json={"note": "已联系供电局，预计 14:00 恢复"}, headers={"X-CSRFToken": token})
    assert res.status_code == 200 and res.get_json()["acknowledged_by"] == "fac"
    assert client.post(url, json={"note": "again"}, headers={"X-CSRFToken": token}).status_code == 409
    submit(client, description=OUTAGE[6])
    rows = query_db(db_url, "SELECT complaint_ids, acknowledged_note FROM alerts WHERE kind = 'emergency'")
    assert len(rows) == 1 and len(rows[0][0]) == 7 and rows[0][1] == "已联系供电局，预计 14:00 恢复"
    page = client.get("/staff/alerts").get_data(as_text=True)
    assert "已联系供电局" in page


WORKER = textwrap.dedent("""
    import sys, time, json
    sys.path.insert(0, {root!r})
    from intake_api import create_app
    from intake_api.web import desk
    from intake_api.schemas import ComplaintIn
    app = create_app({{"KB_CONFIG": {kb!r}, "KB_OVERRIDES": {{"database_url": {db!r}}}, "DB_AUTO_MIGRATE": False}})
    kb = app.config["KB"]
    rounds = json.loads(sys.argv[1])
    print("ready", flush=True)
    begin = float(sys.stdin.readline())  # the same instant for both workers, sent once both are ready
    with app.test_request_context():
        for offset, category, text in rounds:
            data = ComplaintIn.model_validate(dict({complaint!r}, category=category, description=text),
                                              context={{"categories": kb.category_ids}})
            start = begin + offset
            while time.time() < start:
                time.sleep(0.0005)
            desk().register(data)
    app.extensions["db_engine"].dispose()
""")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_workers_raise_one_alert_per_wave(app, client, built_kb, db_url):
    """Two processes, each with its own engine, register the 6th and 7th complaint of a wave at the same instant."""
    from intake_api.web import desk
    from intake_api.schemas import ComplaintIn
    categories = ["facilities", "dormitory", "supplies", "shuttle", "canteen", "it-access"]
    with app.test_request_context():
        for category in categories:
            for text in OUTAGE[:5]:
                desk().register(ComplaintIn.model_validate(
                    dict(COMPLAINT, category=category, description=text),
                    context={"categories": app.config["KB"].category_ids}))
    assert query_db(db_url, "SELECT count(*) FROM alerts WHERE kind = 'emergency'") == [(0,)]
    code = WORKER.format(root=str(ROOT), kb=str(built_kb / "kb.yml"), db=db_url, complaint=COMPLAINT)
    # The workers load the app (encoder, jieba) first and say so; the rounds start once both are ready.
    rounds = [[(0.7 * i, cat, OUTAGE[5 + w]) for i, cat in enumerate(categories)] for w in (0, 1)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", code, json.dumps(r)], env=env, cwd=str(ROOT), text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for r in rounds]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.communicate(timeout=60)[1][-2000:]
    begin = time.time() + 0.5
    for p in procs:
        p.stdin.write(f"{begin}\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
    rows = query_db(db_url, "SELECT category, complaint_ids FROM alerts WHERE kind = 'emergency' ORDER BY category")
    assert sorted(r[0] for r in rows) == sorted(categories), rows
    # Both workers' complaints are in their category's one alert (it lists the newest similar ones).
    ids = {r[0]: set(r[1]) for r in rows}
    workers = query_db(db_url, "SELECT category, id FROM complaints WHERE description IN (:a, :b)",
                       a=OUTAGE[5], b=OUTAGE[6])
    assert len(workers) == 2 * len(categories)
    assert all(cid in ids[cat] for cat, cid in workers), (rows, workers)


def test_a_bad_examples_file_names_its_line(kb_tree):
    from kb_builder.config import load_config
    from kb_builder.errors import ContentError
    from kb_builder.recognise import load_rules
    path = kb_tree / "content" / "recognise.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    team: hazards\n", "    team: hazards\n    loud: yes\n", 1), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_rules(path)
    assert "recognise.yml:" in str(err.value) and "kinds.danger.loud" in str(err.value)
    path.write_text(text.replace("    team: hazards\n", "    team: fire-brigade\n", 1), encoding="utf-8")
    from kb_builder.errors import ConfigError
    from intake_api.sensitive import check_rules
    with pytest.raises(ConfigError) as err:
        check_rules(load_config(kb_tree / "kb.yml"), load_rules(path), path)
    assert "unknown team 'fire-brigade'" in str(err.value) and "kinds.danger.team" in str(err.value)
