"""The tasks list never hides a task: ordered and paged in the database, the total shown (issue 25)."""

import datetime as dt
import re

from conftest import COMPLAINT, api_login

N = 230  # more tasks than a page holds (100); the list used to stop silently at 500


def test_every_task_is_on_a_page_soonest_due_first(app, client, make_staff):
    from intake_api.db import get_session
    from intake_api.models import Complaint, Task
    assert client.post("/api/v1/complaints", json=COMPLAINT).status_code == 201
    base = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    with app.app_context():
        s = get_session()
        c = s.query(Complaint).one()
        for i in range(N):  # due times out of id order, some equal (then by id)
            s.add(Task(complaint_id=c.id, team="it", text=f"任务 {i}", due_at=base + dt.timedelta(hours=(i * 37) % 101),
                       created_by="staff:test", created_at=base, done_at=base if i % 10 == 0 else None))
        s.commit()
        expected = [t.id for t in s.query(Task).filter(Task.done_at.is_(None)).order_by(Task.due_at, Task.id)]
    make_staff("boss", "admin")
    api_login(client, "boss")
    seen, page = [], 1
    while True:
        body = client.get("/api/v1/staff/tasks", query_string={"page": page}).get_json()
        seen += [t["id"] for t in body["tasks"]]
        if page >= body["pages"]:
            break
        page += 1
    assert len(expected) == N - N // 10 and body["total"] == len(expected) and body["pages"] == 3
    assert seen == expected  # none left out, none twice, soonest due first
    html = client.get("/staff/tasks", query_string={"page": 3}).get_data(as_text=True)
    assert f"201–{len(expected)} / {len(expected)}" in html and 'rel="prev"' in html and 'rel="next"' not in html
    ids = [int(i) for i in re.findall(r"<tr class=\"[^\"]*\"><td>(\d+)</td>", html)]
    assert ids == expected[200:]
    res = client.get("/api/v1/staff/tasks", query_string={"page": "0"})
    assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == "page"
