"""Every staff list is paged in the database with its total: alerts, dead letters, the account audit, phrasings and
corrective actions (issue 25: the alerts list showed the newest 200, dead letters 200, the audit 5,000, silently)."""

import datetime as dt
import re

from conftest import COMPLAINT, api_login

BASE = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def _every_page(client, path: str, key: str, **params) -> tuple[list, dict]:
    seen, page = [], 1
    while True:
        body = client.get(path, query_string=dict(params, page=page)).get_json()
        seen += body[key]
        if page >= body["pages"]:
            return seen, body
        page += 1


def _two_complaints(app, client):
    """One complaint of facilities and one moved to it; a facilities handler sees only the first."""
    from intake_api.db import get_session
    from intake_api.models import Complaint
    for _ in range(2):
        assert client.post("/api/v1/complaints", json=COMPLAINT).status_code == 201
    with app.app_context():
        s = get_session()
        mine, theirs = s.query(Complaint).order_by(Complaint.id).all()
        theirs.team = "it"
        s.commit()
        return (mine.team, mine.id, mine.number), (theirs.id, theirs.number)


def test_alerts_every_one_on_a_page_and_only_the_ones_i_may_see(app, client, make_staff):
    from intake_api.db import get_session
    from intake_api.models import Alert
    (team, mine, mine_no), (theirs, theirs_no) = _two_complaints(app, client)
    with app.app_context():
        s = get_session()
        for i in range(130):  # more than two pages of 50; a third of them about the other team's complaint only
            ids = [[mine], [theirs], [theirs, mine]][i % 3]
            s.add(Alert(kind="safety", category="facilities", message=f"警报 {i}", complaint_ids=ids,
                        created_at=BASE + dt.timedelta(minutes=i)))
        s.commit()
        everything = [a.id for a in s.query(Alert).order_by(Alert.id.desc())]
        about_mine = [a.id for a in s.query(Alert).order_by(Alert.id.desc()) if mine in a.complaint_ids]
    make_staff("boss", "admin")
    make_staff("fac", "handler", [team])
    api_login(client, "boss")
    seen, last = _every_page(client, "/api/v1/staff/alerts", "alerts")
    assert [a["id"] for a in seen] == everything and last["total"] == 130 and last["pages"] == 3
    assert {tuple(a["complaints"]) for a in seen} == {(mine_no,), (theirs_no,), (mine_no, theirs_no)}
    api_login(client, "fac")
    seen, last = _every_page(client, "/api/v1/staff/alerts", "alerts")
    # Filtered in SQL, not after the page was cut: every page full, the total theirs; the other team's complaint never named.
    assert [a["id"] for a in seen] == about_mine and last["total"] == len(about_mine) == 87
    assert all(a["complaints"] == [mine_no] for a in seen)
    html = client.get("/staff/alerts", query_string={"page": 2}).get_data(as_text=True)
    assert "51–87 / 87" in html and 'rel="prev"' in html and 'rel="next"' not in html
    assert html.count('class="card alert') == 37 and theirs_no not in html


def test_dead_letters_every_one_on_a_page(app, client, make_staff):
    from intake_api.db import get_session
    from intake_api.models import OutboxMessage
    with app.app_context():
        s = get_session()
        for i in range(120):
            s.add(OutboxMessage(dedupe_key=f"k{i}", kind="received", audience="staff", channel="email",
                                recipient=f"s{i}@example.com", language="zh", context={"number": f"TS-2026-{i:06d}"},
                                status="dead" if i % 4 else "pending", attempts=5, last_error=f"refused {i}"))
        s.commit()
        dead = [m.id for m in s.query(OutboxMessage).filter_by(status="dead").order_by(OutboxMessage.id.desc())]
    make_staff("boss", "admin")
    make_staff("fac", "handler", ["facilities"])
    api_login(client, "fac")
    assert client.get("/api/v1/staff/outbox").status_code == 403
    api_login(client, "boss")
    seen, last = _every_page(client, "/api/v1/staff/outbox", "dead", per_page=40)
    assert [m["id"] for m in seen] == dead and last["total"] == 90 and last["pages"] == 3
    assert last["counts"] == {"dead": 90, "pending": 30}
    html = client.get("/staff/outbox", query_string={"page": 2}).get_data(as_text=True)
    assert "51–90 / 90" in html and html.count("/resend") == 40


def test_account_audit_every_change_on_a_page(app, client, make_staff):
    from intake_api.db import get_session
    from intake_api.models import StaffAudit
    make_staff("boss", "admin")
    with app.app_context():
        s = get_session()
        for i in range(140):
            s.add(StaffAudit(at=BASE + dt.timedelta(minutes=i), actor="admin:cli", username="wang" if i % 2 else "li",
                             action="role", from_value="handler", to_value=f"r{i}"))
        s.commit()
        wang = [a.to_value for a in s.query(StaffAudit).filter_by(username="wang").order_by(StaffAudit.id.desc())]
        n = s.query(StaffAudit).count()
    make_staff("wang")
    make_staff("li")
    api_login(client, "boss")
    with app.app_context():
        n_all = get_session().query(StaffAudit).count()  # the accounts' own "created" entries too
    seen, last = _every_page(client, "/api/v1/staff/accounts/audit", "audit")
    assert last["total"] == n_all and len(seen) == n_all and len({(a["at"], a["to"], a["username"]) for a in seen}) == n_all
    seen, last = _every_page(client, "/api/v1/staff/accounts/audit", "audit", user="wang")
    assert [a["to"] for a in seen if a["action"] == "role"] == wang and len(wang) == 70 and n == 140
    html = client.get("/staff/accounts", query_string={"audit_page": 3}).get_data(as_text=True)
    assert f"101–{n_all} / {n_all}" in html and "audit_page=2" in html


def test_phrasings_and_corrective_actions_every_one_on_a_page(app, client, make_staff):
    from intake_api.db import get_session
    from intake_api.models import CapaAction, Phrasing
    with app.app_context():
        s = get_session()
        for i in range(75):
            s.add(Phrasing(article_id=f"a{i}", text=f"措辞 {i}", status="proposed", proposed_by="staff:x"))
            s.add(CapaAction(what=f"整改 {i}", owner_team="facilities" if i % 3 else "it", created_by="staff:x",
                             due_at=BASE + dt.timedelta(days=(i * 17) % 40)))
        s.commit()
        proposed = [p.id for p in s.query(Phrasing).order_by(Phrasing.id.desc())]
        theirs = [a.id for a in s.query(CapaAction).filter_by(owner_team="facilities")
                  .order_by(CapaAction.due_at, CapaAction.id)]
    make_staff("boss", "admin")
    make_staff("fac", "handler", ["facilities"])
    api_login(client, "boss")
    seen, last = _every_page(client, "/api/v1/staff/phrasings", "phrasings")
    assert [p["id"] for p in seen] == proposed and last["total"] == 75 and last["pages"] == 2
    html = client.get("/staff/phrasings", query_string={"page": 2}).get_data(as_text=True)
    assert "51–75 / 75" in html and len(re.findall(r'id="phrasing-\d+"', html)) == 25
    api_login(client, "fac")
    seen, last = _every_page(client, "/api/v1/staff/capa", "capa")
    assert [a["id"] for a in seen] == theirs and last["total"] == 50 and last["pages"] == 1
    seen, last = _every_page(client, "/api/v1/staff/capa", "capa", per_page=20)
    assert [a["id"] for a in seen] == theirs and last["pages"] == 3
    res = client.get("/api/v1/staff/capa", query_string={"per_page": "0"})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "per_page"
