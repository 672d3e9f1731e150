"""The staff queue never hides a complaint: ordered and paged in the database, the total shown."""

import datetime as dt
import re

import pytest

from conftest import COMPLAINT, PASSWORD, api_login

N = 260  # more open complaints than a page holds (100)


@pytest.fixture(scope="module")
def full_queue(built_kb, live_db_url):
    """One filled database per backend for the module (the tests only read it), an admin logged in."""
    from intake_api import create_app
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    from intake_api.models import Complaint
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {"database_url": live_db_url},
                      "TESTING": True, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    for i in range(N):
        assert client.post("/api/v1/complaints", json=dict(COMPLAINT, description=f"饮水机第 {i} 次坏了，没有热水")).status_code == 201
    with app.app_context():
        s = get_session()
        base = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
        for c in s.query(Complaint).order_by(Complaint.id):
            # Levels and deadlines spread so that newest-first (the old cut-off order) is not the queue order.
            c.level = 1 + (c.id * 7) % 3
            c.assessment_due_at = base + dt.timedelta(hours=(c.id * 37) % 500)
            if c.id % 5 == 0:
                c.assessed_at = c.assessment_due_at
            if c.id % 11 == 0:
                c.status = "closed"
                c.closed_at = base
        create_staff(s, "boss", PASSWORD, "admin", [])
        s.commit()
    api_login(client, "boss")
    yield app, client
    app.extensions["db_engine"].dispose()


def _reference(app, user_name, now, **filters):
    """The queue computed the slow, obvious way: every visible complaint loaded and sorted in Python."""
    from intake_api.db import get_session
    from intake_api.models import Complaint, StaffUser
    from intake_api.queue import FAR, is_overdue, next_deadline
    from intake_api.workflow import OPEN_STATUSES
    with app.app_context():
        s = get_session()
        items = [c for c in s.query(Complaint) if c.status in OPEN_STATUSES]
        if filters.get("due") == "overdue":
            items = [c for c in items if is_overdue(c, now)]
        if filters.get("level"):
            items = [c for c in items if c.level == filters["level"]]
        key = lambda c: (c.level, next_deadline(c).due_at if next_deadline(c) else FAR, -c.id)  # noqa: E731
        return [c.number for c in sorted(items, key=key)]


def _all_pages(client, **params):
    numbers, page = [], 1
    while True:
        body = client.get("/api/v1/staff/complaints", query_string=dict(params, page=page)).get_json()
        numbers += [c["number"] for c in body["complaints"]]
        if page >= body["pages"]:
            return numbers, body
        page += 1


def test_every_open_complaint_is_in_its_queue_in_urgency_order(full_queue):
    app, client = full_queue
    now = dt.datetime.now(dt.timezone.utc)
    numbers, last = _all_pages(client, status="open")
    expected = _reference(app, "boss", now)
    assert len(expected) > 200 and last["total"] == len(expected) and last["pages"] == 3
    assert numbers == expected  # none left out, none twice, the same order
    first = client.get("/api/v1/staff/complaints", query_string={"status": "open"}).get_json()
    assert len(first["complaints"]) == 100 and first["total"] == len(expected)
    assert all(c["level"] == 1 for c in first["complaints"][:50])
    overdue, body = _all_pages(client, status="open", due="overdue")
    assert overdue == _reference(app, "boss", now, due="overdue") and body["total"] == len(overdue) > 100
    level2, _ = _all_pages(client, status="open", level=2)
    assert level2 == _reference(app, "boss", now, level=2)


def test_the_workspace_queue_shows_the_total_and_pages_through_it(full_queue):
    app, client = full_queue
    page = client.get("/staff/").get_data(as_text=True)
    open_total = len(_reference(app, "boss", dt.datetime.now(dt.timezone.utc)))
    assert f"1–100 / {open_total}" in page
    seen = re.findall(r'<tr data-number="([^"]+)"', page)
    nxt = re.search(r'<a rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    while nxt:
        page = client.get(nxt).get_data(as_text=True)
        seen += re.findall(r'<tr data-number="([^"]+)"', page)
        m = re.search(r'<a rel="next" href="([^"]+)"', page)
        nxt = m.group(1).replace("&amp;", "&") if m else None
    assert len(seen) == len(set(seen)) == open_total
    # The pager keeps the filters.
    middle = client.get("/staff/", query_string={"status": "all", "page": "2"}).get_data(as_text=True)
    links = re.findall(r'<a rel="(?:prev|next)" href="([^"]+)"', middle)
    assert len(links) == 2 and all("status=all" in link for link in links)
    assert f"101–200 / {N}" in middle


def test_bad_paging_parameters_are_field_errors(client, make_staff):
    make_staff("boss", "admin")
    api_login(client, "boss")
    for name, value in (("page", "0"), ("page", "-1"), ("page", "x"), ("per_page", "9" * 50), ("due", "later")):
        res = client.get("/api/v1/staff/complaints", query_string={name: value})
        assert res.status_code == 400 and res.get_json()["errors"][0]["field"] == name
