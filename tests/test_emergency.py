"""The emergency rule: more than 5 similar complaints within 24 hours raise an alert."""

import datetime as dt
import http.server
import json
import threading

import pytest

from conftest import COMPLAINT, query_db

OUTAGE = [
    "3号楼突然停电了，电脑全部关机",
    "三号楼停电，空调和电脑都不能用",
    "3号楼整层停电，没法工作",
    "3号楼又停电了，文件没保存",
    "停电了！3号楼二层三层都没电",
    "3号楼停电快一个小时了，电梯也停了",
    "3号楼停电，冰箱里的东西要坏了",
]
UNRELATED = [
    "饮水机不出热水",
    "会议室的投影仪连不上",
    "厕所的门锁坏了",
    "走廊的灯一闪一闪",
    "空调太冷，温度调不了",
    "办公椅的轮子掉了",
    "窗户关不严，漏风",
]


def submit(client, text):
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, description=text))
    assert res.status_code == 201
    return res.get_json()["number"]


def alerts(db_url):
    return query_db(db_url, "SELECT kind, complaint_ids FROM alerts WHERE kind = 'emergency'")


def test_fires_on_the_sixth_similar_complaint_and_lists_them(client, db_url, caplog):
    numbers = [submit(client, text) for text in OUTAGE[:5]]
    assert alerts(db_url) == []
    numbers.append(submit(client, OUTAGE[5]))
    rows = alerts(db_url)
    assert len(rows) == 1
    assert len(rows[0][1]) == 6
    assert "ALERT emergency category=facilities complaints=" + ",".join(numbers) in caplog.text
    # The seventh joins the same alert rather than raising another.
    submit(client, OUTAGE[6])
    rows = alerts(db_url)
    assert len(rows) == 1 and len(rows[0][1]) == 7


def test_dissimilar_complaints_do_not_fire(client, db_url):
    for text in UNRELATED:
        submit(client, text)
    assert alerts(db_url) == []


def test_five_similar_plus_unrelated_ones_do_not_fire(client, db_url):
    for text in OUTAGE[:5] + UNRELATED[:3]:
        submit(client, text)
    assert alerts(db_url) == []


def test_other_categories_do_not_count(client, db_url):
    for text in OUTAGE[:3]:
        submit(client, text)
    for text in OUTAGE[3:6]:
        client.post("/api/v1/complaints", json=dict(COMPLAINT, category="dormitory", description=text))
    assert alerts(db_url) == []


def test_complaints_older_than_the_window_do_not_count(app, db_url):
    from intake_api import alerts as alerts_mod
    from intake_api import process
    from intake_api.db import get_session
    from intake_api.schemas import ComplaintIn
    kb = app.config["KB"]
    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        session = get_session()
        clock = app.extensions["kb_clock"]
        for i, text in enumerate(OUTAGE[:6]):
            data = ComplaintIn.model_validate(dict(COMPLAINT, description=text), context={"categories": kb.category_ids})
            # The first two arrived 30 hours ago: only four fall inside the window.
            when = now - dt.timedelta(hours=30 if i < 2 else 1) + dt.timedelta(minutes=i)
            c, _ = process.register(session, kb, clock, data, now=when)
            session.flush()
            alerts_mod.check_new_complaint(session, kb, c, app.extensions["kb_term_weights"])
        session.commit()
    assert alerts(db_url) == []


@pytest.fixture
def webhook():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_the_alert_is_posted_to_the_configured_webhook(built_kb, db_url, webhook):
    """process.emergency.webhook_url gets the alert through the outbox: planned and sent by the worker."""
    from intake_api import create_app
    from intake_api.worker import Worker
    url, received = webhook
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"),
                      "KB_OVERRIDES": {"database_url": db_url, "process.emergency": {"webhook_url": url}}})
    client = app.test_client()
    for text in OUTAGE[:6]:
        submit(client, text)
    assert received == []  # a submission never waits for a delivery
    worker = Worker(app.config["KB"], app.extensions["db_engine"], app.extensions["kb_clock"])
    while worker.plan_pending() or worker.deliver_batch():
        pass
    app.extensions["db_engine"].dispose()
    assert len(received) == 1
    assert received[0]["kind"] == "emergency_alert"
    assert received[0]["data"]["count"] == 6 and len(received[0]["data"]["numbers"].split(", ")) == 6
