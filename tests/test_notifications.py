"""Notifications end to end: the outbox, the worker, a real SMTP server (aiosmtpd) and a real webhook receiver.

Nothing is mocked: complaints go in through the API, the worker delivers over
SMTP on loopback, and what the server received is what is checked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import COMPLAINT, PASSWORD, api_login, free_port, plan_notifications, query_db, start_kb_serve, stop_kb_serve


class Mailbox:
    """An SMTP server that keeps what it accepted; it can be slow, refuse addresses, or be stopped and restarted.

    A message counts as received only once the server answered 250: a client
    that vanished before that (killed mid-delivery) delivered nothing, as
    with a real mail server.
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.delay = 0.0
        self.holding = False  # while True, every DATA command waits (a test is about to kill its sender)
        self.controller: Controller | None = None
        self.in_data: set[int] = set()  # client ports of the DATA commands under way

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "bounce" in address:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay or self.holding:
            self.in_data.add(session.peer[1])
            try:
                await asyncio.sleep(self.delay)  # a killed client cancels this (aiosmtpd's connection_lost)
                while self.holding:
                    await asyncio.sleep(0.02)
            finally:
                self.in_data.discard(session.peer[1])
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg["X-Test-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 Message accepted"

    def start(self) -> Mailbox:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in m["X-Test-Rcpt"]]

    @staticmethod
    def text(msg) -> str:
        return msg.get_body(("plain",)).get_content()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while len(self.messages) < count and time.time() < deadline:
            time.sleep(0.05)


@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


def notification_settings(mailbox: Mailbox, **more) -> dict:
    return {"smtp": {"host": "127.0.0.1", "port": mailbox.port, "security": "none", "sender": "kb@example.org"},
            "base_url": "https://kb.example.org", "backoff_seconds": 1, "poll_seconds": 0.2, "lease_seconds": 5,
            # Tests share busy machines: a worker here delivers at full speed whatever the load (pace.py has its
            # own tests, and test_a_busy_machine_sends_safety_notices_at_once_and_the_rest_later paces one).
            "busy_share": 1, **more}


@pytest.fixture
def notifying_app(built_kb, db_url, mailbox):
    from intake_api import create_app
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True, "KB_OVERRIDES": {
        "database_url": db_url, "notifications": notification_settings(mailbox)}})
    yield app
    app.extensions["db_engine"].dispose()


def worker_for(app):
    from intake_api.worker import Worker
    return Worker(app.config["KB"], app.extensions["db_engine"], app.extensions["kb_clock"], name="test-worker")


def deliver(app) -> int:
    """What the worker plans and delivers of what is queued now (its clock's own messages, such as digests, aside)."""
    worker, total = worker_for(app), 0
    while worker.plan_pending() > 0:
        pass
    while (n := worker.deliver_batch()) > 0:
        total += n
    return total


def add_staff(app, username: str, role: str = "handler", teams: tuple[str, ...] = (), email_address: str | None = None):
    from intake_api.auth import create_staff
    from intake_api.db import get_session
    with app.app_context():
        session = get_session()
        create_staff(session, username, PASSWORD, role, list(teams), email=email_address)
        session.commit()


def submit(client, **fields) -> dict:
    res = client.post("/api/v1/complaints", json=dict(COMPLAINT, **fields))
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def outbox_rows(db_url: str) -> list[tuple]:
    return query_db(db_url, "SELECT kind, audience, channel, status FROM outbox ORDER BY id")


# -- What is sent, and to whom ------------------------------------------------------------------------------

def test_a_new_complaint_sends_the_receipt_and_the_teams_notice(notifying_app, mailbox, db_url):
    add_staff(notifying_app, "fac", teams=("facilities",), email_address="fac@example.org")
    add_staff(notifying_app, "it", teams=("it",), email_address="it@example.org")
    client = notifying_app.test_client()
    got = submit(client, disclosure="named", identity={"name": "李雷", "contact": "13800000000"},
                 notify_email="lilei@example.org")
    # The submission writes one row for the worker, with the code its receipt carries (which nothing else keeps)
    # unreadable without the key; the worker plans every message.
    assert outbox_rows(db_url) == []
    (row,) = query_db(db_url, "SELECT kind, secret, urgent FROM notify_pending")
    assert row[0] == "events" and row[1] and got["tracking_code"] not in row[1] and not row[2]
    from sqlalchemy.orm import Session

    from intake_api import outbox
    with Session(notifying_app.extensions["db_engine"]) as session:  # what `kb outbox status` and the workspace show
        assert outbox.counts(session) == {"unplanned": 1}
    assert plan_notifications(notifying_app) == 1
    assert sorted(k for k, *_ in outbox_rows(db_url)) == ["new_complaint", "receipt"]
    assert query_db(db_url, "SELECT count(*) FROM notify_pending") == [(0,)]
    assert mailbox.messages == []  # the submission did not wait for any delivery

    deliver(notifying_app)
    receipt, = mailbox.to("lilei@example.org")
    body = Mailbox.text(receipt)
    assert got["tracking_code"] in body and got["number"] in body
    assert "投诉" in receipt["Subject"]  # they wrote in Chinese
    notice, = mailbox.to("fac@example.org")
    assert got["number"] in Mailbox.text(notice) and "https://kb.example.org/staff/complaints/" in Mailbox.text(notice)
    assert mailbox.to("it@example.org") == []  # another team's complaint
    assert [s for *_, s in outbox_rows(db_url)] == ["sent", "sent"]
    # Once sent, a complainant's message keeps neither its text nor the tracking code.
    assert query_db(db_url, "SELECT count(*) FROM outbox_attempts WHERE ok")[0][0] == 2
    deliver(notifying_app)
    assert len(mailbox.messages) == 2  # nothing twice


def test_staff_messages_of_a_confidential_complaint_carry_no_identity_or_text(notifying_app, mailbox, db_url):
    add_staff(notifying_app, "fac", teams=("facilities",), email_address="fac@example.org")
    add_staff(notifying_app, "boss", role="admin", email_address="boss@example.org")
    client = notifying_app.test_client()
    secret_text = "三楼茶水间的咖啡机坏了三天，我跟后勤的刘师傅说了三次都没人理"
    got = submit(client, description=secret_text, disclosure="confidential",
                 identity={"name": "韩梅梅", "department": "财务部", "contact": "hanmeimei@example.org"},
                 notify_email="hmm@example.org")
    token = api_login(client, "boss")
    res = client.post(f"/api/v1/staff/complaints/{got['number']}/assign", json={"handler": "fac"},
                      headers={"X-CSRFToken": token})
    assert res.status_code == 200, res.get_json()
    deliver(notifying_app)
    staff = [m for m in mailbox.messages if "hmm@example.org" not in m["X-Test-Rcpt"]]
    assert len(mailbox.to("fac@example.org")) == 2  # new for the team, then assigned to them
    assert any(got["number"] in Mailbox.text(m) for m in staff)
    for m in staff:
        whole = m.as_string() + Mailbox.text(m)
        for private in ("韩梅梅", "财务部", "hanmeimei", "hmm@example.org", "咖啡机", "刘师傅", secret_text[:8]):
            assert private not in whole, (m["Subject"], private)


def test_the_complainant_hears_each_step_in_the_language_they_wrote(notifying_app, mailbox, db_url):
    add_staff(notifying_app, "boss", role="admin", email_address="boss@example.org")
    client = notifying_app.test_client()
    got = submit(client, description="The water dispenser on floor 3 has had no hot water for two days",
                 request="Please fix it", notify_email="tom@example.org")
    number, code = got["number"], got["tracking_code"]
    token = api_login(client, "boss")

    def act(action, **body):
        res = client.post(f"/api/v1/staff/complaints/{number}/{action}", json=body, headers={"X-CSRFToken": token})
        assert res.status_code == 200, res.get_json()

    act("messages", text="Which pantry exactly?")
    act("status", status="assessed")
    act("status", status="investigating")
    act("response", text="We replaced the heating element.")
    act("status", status="resolved")
    deliver(notifying_app)
    mine = mailbox.to("tom@example.org")
    texts = [Mailbox.text(m) for m in mine]
    assert len(mine) == 4  # receipt, question, response, result
    assert any("Which pantry exactly?" in t for t in texts)
    assert sum("We replaced the heating element." in t for t in texts) == 2  # the response, and the result
    assert all(re.search(r"[A-Za-z]", m["Subject"]) and not re.search(r"[\u4e00-\u9fff]", m["Subject"])
               for m in mine)

    # A low rating reopens: the complainant is told, and so is the handler (here nobody: the team).
    client.post(f"/api/v1/complaints/{code}/messages", json={"text": "The second floor pantry."})
    res = client.post(f"/api/v1/complaints/{code}/rating", json={"score": 1})
    assert res.status_code == 200, res.get_json()
    deliver(notifying_app)
    assert len(mailbox.to("tom@example.org")) == 5  # the reopening
    told = [m for m in mailbox.to("boss@example.org")]
    assert told == []  # not the handler (there is none) nor in the team: the admin is not bothered


def saturated() -> tuple[float, int]:
    """A machine whose CPUs have all been working since boot: the reading of one saturated by the web server."""
    return time.monotonic() * 2, 2


def test_a_busy_machine_sends_safety_notices_at_once_and_the_rest_later(notifying_app, mailbox, db_url):
    from intake_api.pace import Pace
    add_staff(notifying_app, "boss", role="admin", email_address="boss@example.org")
    add_staff(notifying_app, "fac", teams=("facilities",), email_address="fac@example.org")
    client = notifying_app.test_client()
    ordinary = submit(client, disclosure="named", notify_email="lilei@example.org")
    danger = submit(client, category="safety", description="二号车间的货架倒了一半，随时会砸到人")
    rows = query_db(db_url, "SELECT urgent FROM notify_pending ORDER BY id")
    assert [bool(u) for u, in rows] == [False, True]

    worker = worker_for(notifying_app)
    worker.pace = Pace(0.8, 0.01, reader=saturated)
    worker.pace.busy()  # the first reading
    worker.pace._credit = -1.0  # the budget is spent: a minute and a half of a busy machine before anything else
    time.sleep(1.1)  # a verdict covers a second
    assert worker.run_once() >= 1 and worker.pace.busy()
    urgent, = mailbox.to("boss@example.org")
    assert danger["number"] in Mailbox.text(urgent)
    assert mailbox.to("lilei@example.org") == [] and mailbox.to("fac@example.org") == []  # these can wait
    assert query_db(db_url, "SELECT count(*) FROM notify_pending") == [(1,)]

    worker.pace = Pace(0.8, 0.01, reader=lambda: None)  # the machine is quiet again (or cannot tell)
    worker.run_once()
    assert ordinary["tracking_code"] in Mailbox.text(mailbox.to("lilei@example.org")[0])
    assert any(ordinary["number"] in Mailbox.text(m) for m in mailbox.to("fac@example.org"))
    ids = message_ids(mailbox)
    assert len(ids) == len(set(ids)) == len(outbox_rows(db_url))
    assert {s for *_, s in outbox_rows(db_url)} == {"sent"}


def test_a_refused_change_plans_nothing(notifying_app, mailbox, db_url):
    add_staff(notifying_app, "boss", role="admin", email_address="boss@example.org")
    client = notifying_app.test_client()
    got = submit(client, notify_email="x@example.org")
    plan_notifications(notifying_app)
    before = outbox_rows(db_url)
    token = api_login(client, "boss")
    res = client.post(f"/api/v1/staff/complaints/{got['number']}/status", json={"status": "closed"},
                      headers={"X-CSRFToken": token})
    assert res.status_code == 409
    assert query_db(db_url, "SELECT count(*) FROM notify_pending") == [(0,)]
    assert outbox_rows(db_url) == before


def test_an_anonymous_complaint_cannot_leave_an_address(notifying_app):
    res = notifying_app.test_client().post("/api/v1/complaints", json=dict(
        COMPLAINT, disclosure="anonymous", notify_email="me@example.org"))
    assert res.status_code == 400
    assert any(e["field"] == "notify_email" for e in res.get_json()["errors"])
    bad = notifying_app.test_client().post("/api/v1/complaints", json=dict(COMPLAINT, notify_email="not an address"))
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "notify_email"


def test_the_address_is_unreadable_in_the_database_file(built_kb, tmp_path, mailbox):
    from intake_api import create_app
    db_file = tmp_path / "c.db"
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True, "KB_OVERRIDES": {
        "database_url": f"sqlite:///{db_file}", "notifications": notification_settings(mailbox)}})
    submit(app.test_client(), notify_email="findme.please@example.org")
    plan_notifications(app)  # the worker plans the receipt (its code waits encrypted in notify_pending)
    from sqlalchemy import select

    from intake_api.db import get_session
    from intake_api.models import Complaint, OutboxMessage
    with app.app_context():  # kept, and readable with the key
        assert get_session().scalar(select(Complaint.notify_email)) == "findme.please@example.org"
        assert get_session().scalar(select(OutboxMessage.recipient)) == "findme.please@example.org"
    app.extensions["db_engine"].dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("c.db*"))
    assert b"findme.please" not in raw
    assert b"example.org" not in raw


def test_dead_letters_are_kept_and_can_be_sent_again(notifying_app, mailbox, db_url, built_kb):
    add_staff(notifying_app, "fac", teams=("facilities",), email_address="bounce@example.org")
    submit(notifying_app.test_client())
    deliver(notifying_app)
    rows = query_db(db_url, "SELECT id, status, attempts, last_error FROM outbox")
    assert [(s, n) for _, s, n, _ in rows] == [("dead", 1)]  # 550: retrying cannot help
    assert "550" in rows[0][3]
    env = dict(os.environ, KB_CONFIG=str(built_kb / "kb.yml"), KB_DATABASE_URL=db_url)
    kb = Path(sys.executable).with_name("kb")
    status = subprocess.run([str(kb), "outbox", "status"], env=env, capture_output=True, text=True)
    assert f"dead #{rows[0][0]} new_complaint" in status.stdout, status.stdout + status.stderr
    resend = subprocess.run([str(kb), "outbox", "resend", str(rows[0][0])], env=env, capture_output=True, text=True)
    assert resend.returncode == 0, resend.stderr
    assert query_db(db_url, "SELECT status, attempts FROM outbox") == [("pending", 0)]


def test_a_refused_complainant_address_is_not_kept_in_errors_or_logs(notifying_app, mailbox, db_url, caplog):
    submit(notifying_app.test_client(), notify_email="bounce.me@example.org")
    deliver(notifying_app)
    (error,) = query_db(db_url, "SELECT last_error FROM outbox WHERE audience = 'complainant'")[0]
    assert "550" in error and "bounce.me" not in error
    assert "bounce.me" not in caplog.text


def test_sla_reminders_are_sent_once_however_often_workers_look(notifying_app, mailbox, db_url):
    add_staff(notifying_app, "fac", teams=("facilities",), email_address="fac@example.org")
    add_staff(notifying_app, "boss", role="admin", email_address="boss@example.org")
    got = submit(notifying_app.test_client())
    from sqlalchemy import select

    from intake_api.db import get_session
    from intake_api.models import Complaint
    with notifying_app.app_context():
        due = get_session().scalar(select(Complaint.assessment_due_at))
    one, two = worker_for(notifying_app), worker_for(notifying_app)
    for moment, worker in [(due - dt.timedelta(hours=7), one), (due - dt.timedelta(hours=6), two),
                           (due + dt.timedelta(minutes=5), one), (due + dt.timedelta(hours=1), two),
                           (due + dt.timedelta(hours=25), one), (due + dt.timedelta(hours=26), two)]:
        worker.schedule(now=moment)
    kinds = sorted(k for k, *_ in outbox_rows(db_url) if k != "new_complaint")
    # Assessment limit: due soon and overdue to the team (no handler yet), then the escalation to the admin.
    assert kinds.count("due_soon") >= 1 and kinds.count("overdue") >= 1 and kinds.count("escalation") >= 1
    keys = query_db(db_url, "SELECT dedupe_key FROM outbox")
    assert len(keys) == len({k for k, in keys})
    one.run_once()
    escalations = [m for m in mailbox.to("boss@example.org") if got["number"] in Mailbox.text(m)]
    assert escalations
    # Looking again later adds no reminder (a new day's digest may be due by then, depending on the hour the
    # test runs: digests are once a day, tested on their own).
    def reminders():
        return [r for r in outbox_rows(db_url) if r[0] != "digest"]
    before = reminders()
    two.schedule(now=due + dt.timedelta(hours=30))
    assert reminders() == before


def test_a_team_robot_gets_the_teams_messages(built_kb, db_url, mailbox):
    from intake_api import create_app
    received: list[dict] = []

    class Robot(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append({"path": self.path, "body": json.loads(self.rfile.read(int(self.headers["Content-Length"])))})
            body = b'{"errcode":0,"errmsg":"ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=abc"
    settings = notification_settings(mailbox, webhooks=[{"id": "fac-group", "type": "wecom", "url": url}],
                                     teams=[{"team": "facilities", "webhooks": ["fac-group"]}])
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "TESTING": True,
                      "KB_OVERRIDES": {"database_url": db_url, "notifications": settings}})
    try:
        got = submit(app.test_client(), disclosure="confidential", identity={"name": "王五"})
        deliver(app)
    finally:
        server.shutdown()
        app.extensions["db_engine"].dispose()
    assert len(received) == 1
    content = received[0]["body"]["markdown"]["content"]
    assert got["number"] in content and "王五" not in content and COMPLAINT["description"][:6] not in content


@pytest.mark.backend("sqlite")
def test_kb_serve_with_an_smtp_setting_sends_the_receipt_and_the_handlers_notice(built_kb, db_url, mailbox):
    """`make run` plus an SMTP setting: the worker runs inside `kb serve`, nothing else to start."""
    import urllib.request
    env = {"KB_SMTP_HOST": "127.0.0.1", "KB_SMTP_PORT": str(mailbox.port), "KB_SMTP_SECURITY": "none"}
    kb = Path(sys.executable).with_name("kb")
    made = subprocess.run([str(kb), "staff", "create", "fac", "--team", "facilities", "--email", "fac@example.org"],
                          env=dict(os.environ, KB_CONFIG=str(built_kb / "kb.yml"), KB_DATABASE_URL=db_url,
                                   KB_STAFF_PASSWORD=PASSWORD), capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    proc, url = start_kb_serve(built_kb / "kb.yml", db_url, notifications=True, **env)
    try:
        request = urllib.request.Request(url + "/api/v1/complaints", method="POST", headers={
            "Content-Type": "application/json"}, data=json.dumps(dict(COMPLAINT, notify_email="me@example.org")).encode())
        got = json.loads(urllib.request.urlopen(request, timeout=10).read())
        assert wait_until(lambda: mailbox.to("me@example.org") and any(
            got["number"] in Mailbox.text(m) for m in mailbox.to("fac@example.org")), 60)
    finally:
        stop_kb_serve(proc)
    assert got["tracking_code"] in Mailbox.text(mailbox.to("me@example.org")[0])


# -- Workers as real processes ------------------------------------------------------------------------------

def start_worker(kb_yml: Path, db_url: str, overrides: Path) -> subprocess.Popen:
    env = dict(os.environ, KB_CONFIG=str(overrides), KB_DATABASE_URL=db_url)
    kb = Path(sys.executable).with_name("kb")
    return subprocess.Popen([str(kb), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def worker_config(built_kb: Path, mailbox: Mailbox, tmp_path: Path, **more) -> Path:
    """A kb.yml beside the built one, with notifications pointed at the test's SMTP server."""
    import yaml

    from kb_builder.config import Paths, load_config
    data = yaml.safe_load((built_kb / "kb.yml").read_text(encoding="utf-8"))
    data["notifications"] = notification_settings(mailbox, **more)
    built = load_config(built_kb / "kb.yml")
    data["paths"] = {name: str(built.path(name)) for name in Paths.model_fields}
    path = tmp_path / "kb.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def queue_messages(notifying_app, n: int) -> None:
    add_staff(notifying_app, "fac", teams=("facilities",), email_address="fac@example.org")
    client = notifying_app.test_client()
    for i in range(n):
        submit(client, description=f"{COMPLAINT['description']} ({i})", notify_email=f"p{i}@example.org")
    plan_notifications(notifying_app)  # the outbox holds them all before any worker starts


def message_ids(mailbox: Mailbox) -> list[str]:
    return [m["Message-ID"] for m in mailbox.messages]


def owner_of_port(port: int) -> int | None:
    """The process whose socket has this local TCP port (loopback), from /proc."""
    inodes = {line.split()[9] for line in open("/proc/net/tcp").read().splitlines()[1:]
              if int(line.split()[1].split(":")[1], 16) == port}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return int(pid)
    return None


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_two_workers_and_a_kill_deliver_each_message_exactly_once(notifying_app, mailbox, db_url, built_kb,
                                                                     tmp_path):
    queue_messages(notifying_app, 15)  # 30 messages: a receipt and the team's notice each
    total = len(outbox_rows(db_url))
    mailbox.delay = 0.15  # slow enough that a worker is killed mid-delivery
    config = worker_config(built_kb, mailbox, tmp_path, lease_seconds=3)
    first, second = start_worker(built_kb, db_url, config), start_worker(built_kb, db_url, config)
    try:
        assert wait_until(lambda: len(mailbox.messages) >= 4, 60), first.stderr
        # Killed in the middle of sending: while the server holds one of its DATA commands, before any "250".
        # The server answers no DATA meanwhile: finding the port's owner in /proc takes a while on a busy machine.
        mailbox.holding = True
        assert wait_until(lambda: any(owner_of_port(p) == first.pid for p in list(mailbox.in_data)), 60)
        its_ports = {p for p in list(mailbox.in_data) if owner_of_port(p) == first.pid}
        first.send_signal(signal.SIGKILL)
        first.wait()
        # Released only once the server has seen those connections drop (its DATA handlers cancelled): released
        # earlier, a handler could finish and keep a message whose sender was already dead.
        assert wait_until(lambda: not its_ports & set(mailbox.in_data), 30)
        mailbox.holding = False
        held = query_db(db_url, "SELECT id FROM outbox WHERE status = 'pending' AND claimed_by LIKE :me",
                        me=f"%:{first.pid}")
        assert held, "the killed worker held no message: it was not killed mid-delivery"
        # The workers' own digests join the queue too: wait for whatever is queued by then.
        assert wait_until(lambda: len(mailbox.messages) >= len(outbox_rows(db_url)), 90)
        time.sleep(1)  # anything sent twice would arrive now
    finally:
        for p in (first, second):
            p.kill()
            p.wait()
    ids, rows = message_ids(mailbox), outbox_rows(db_url)
    assert len(rows) >= total
    assert len(ids) == len(rows) and len(set(ids)) == len(rows)
    assert {s for *_, s in rows} == {"sent"}
    # What the killed worker held went out once, sent by the other one after the lease ran out.
    survivors = query_db(db_url, "SELECT DISTINCT worker FROM outbox_attempts WHERE ok AND message_id IN "
                                 f"({','.join(str(i) for i, in held)})")
    assert survivors and all(not w.endswith(f":{first.pid}") for w, in survivors)


@pytest.mark.backend("postgresql")
def test_nothing_is_lost_or_doubled_while_the_mail_server_is_down(notifying_app, mailbox, db_url, built_kb, tmp_path):
    """The server is away for 12 backoff units (12 s at backoff_seconds=1: six minutes at the default 30 s)."""
    mailbox.stop()
    queue_messages(notifying_app, 5)
    total = len(outbox_rows(db_url))
    config = worker_config(built_kb, mailbox, tmp_path, max_attempts=8)
    proc = start_worker(built_kb, db_url, config)
    try:
        time.sleep(12)
        failed = query_db(db_url, "SELECT count(*) FROM outbox_attempts WHERE NOT ok")[0][0]
        assert failed >= total  # each was tried, and failed, at least once
        assert {s for *_, s in outbox_rows(db_url)} == {"pending"}  # none given up on
        mailbox.start()
        assert wait_until(lambda: len(mailbox.messages) >= len(outbox_rows(db_url)), 60)
        time.sleep(1)
    finally:
        proc.kill()
        proc.wait()
    ids, rows = message_ids(mailbox), outbox_rows(db_url)
    assert len(rows) >= total
    assert len(ids) == len(rows) and len(set(ids)) == len(rows)


# -- The workspace: switches and dead letters ---------------------------------------------------------------

def workspace_login(client, username: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/login").get_data(as_text=True))
    res = client.post("/staff/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert res.status_code == 302
    return re.search(r'name="csrf_token" value="([^"]+)"',
                     client.get("/staff/notifications").get_data(as_text=True)).group(1)


def test_a_kind_switched_off_in_the_workspace_is_not_sent(built_kb, db_url, mailbox):
    from intake_api import create_app
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {
        "database_url": db_url, "notifications": notification_settings(
            mailbox, teams=[{"team": "facilities", "email": ["fac-team@example.org"]}])}})
    add_staff(app, "fac", teams=("facilities",))
    add_staff(app, "boss", role="admin")
    staff, admin = app.test_client(), app.test_client()
    token = workspace_login(staff, "fac")
    # Everything but new complaints, at an address given on the page, in English.
    kinds = ["assigned", "urgent", "emergency_alert", "complainant_replied", "low_rating", "due_soon", "overdue"]
    res = staff.post("/staff/notifications", data={"csrf_token": token, "email": "fac@example.org", "language": "en",
                                                   **{f"kind_{k}": "on" for k in kinds}})
    assert res.status_code == 302
    page = staff.get("/staff/notifications").get_data(as_text=True)
    assert 'value="fac@example.org"' in page and 'name="kind_new_complaint" >' in page.replace("  ", " ")
    bad = staff.post("/staff/notifications", data={"csrf_token": token, "email": "not-an-address"})
    assert bad.status_code == 302 and "邮箱格式不对" in staff.get("/staff/notifications").get_data(as_text=True)
    # A handler cannot change a team's switches; an admin can.
    assert staff.post("/staff/notifications", data={"csrf_token": token, "team": "facilities"}).status_code == 302
    admin_token = workspace_login(admin, "boss")
    admin.post("/staff/notifications", data={"csrf_token": admin_token, "team": "facilities",
                                             "kind_assigned": "on"})
    got = submit(app.test_client())
    admin.post(f"/staff/complaints/{got['number']}/assign", data={"csrf_token": admin_token, "handler": "fac"})
    deliver(app)
    app.extensions["db_engine"].dispose()
    assert [m["Subject"] for m in mailbox.to("fac-team@example.org")] == []  # the team's new_complaint: off
    fac = mailbox.to("fac@example.org")
    assert len(fac) == 1 and "assigned" in Mailbox.text(fac[0]).lower()  # assigned on, new complaint off, English


def test_admins_see_dead_letters_and_send_them_again(built_kb, db_url, mailbox):
    from intake_api import create_app
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {
        "database_url": db_url, "notifications": notification_settings(mailbox)}})
    add_staff(app, "fac", teams=("facilities",), email_address="bounce@example.org")
    add_staff(app, "boss", role="admin")
    submit(app.test_client())
    deliver(app)
    staff, admin = app.test_client(), app.test_client()
    workspace_login(staff, "fac")
    assert staff.get("/staff/outbox").status_code == 403
    token = workspace_login(admin, "boss")
    page = admin.get("/staff/outbox").get_data(as_text=True)
    assert "550" in page and "bounce@example.org" in page
    message_id = re.search(r'/staff/outbox/(\d+)/resend', page).group(1)
    assert admin.post(f"/staff/outbox/{message_id}/resend", data={"csrf_token": token}).status_code == 302
    app.extensions["db_engine"].dispose()
    assert query_db(db_url, "SELECT status FROM outbox") == [("pending",)]


def test_the_quarterly_review_goes_to_management_once_after_the_quarter(built_kb, db_url, mailbox):
    from intake_api import create_app
    app = create_app({"KB_CONFIG": str(built_kb / "kb.yml"), "KB_OVERRIDES": {
        "database_url": db_url, "notifications": notification_settings(
            mailbox, review={"to": ["board@example.org", "hr-head@example.org"], "day": 2})}})
    worker = worker_for(app)
    worker.schedule(now=dt.datetime(2026, 10, 1, 4, tzinfo=dt.UTC))  # 12:00 in Shanghai, the day before
    assert query_db(db_url, "SELECT count(*) FROM outbox WHERE kind = 'review'") == [(0,)]
    for hour in (4, 5):  # 2 October, twice: planned once
        worker.schedule(now=dt.datetime(2026, 10, 2, hour, tzinfo=dt.UTC))
    deliver(app)
    app.extensions["db_engine"].dispose()
    for address in ("board@example.org", "hr-head@example.org"):
        (review,) = mailbox.to(address)
        assert "2026Q3" in review["Subject"] + Mailbox.text(review)
        assert "https://kb.example.org/staff/report?quarter=2026Q3" in Mailbox.text(review)


def test_the_daily_digest_lists_my_open_work_once_a_day(notifying_app, mailbox, db_url):
    add_staff(notifying_app, "fac", teams=("facilities",), email_address="fac@example.org")
    add_staff(notifying_app, "it", teams=("it",), email_address="it@example.org")
    numbers = [submit(notifying_app.test_client(), description=f"{COMPLAINT['description']} {i}")["number"]
               for i in range(3)]
    worker = worker_for(notifying_app)
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    worker.schedule(now=dt.datetime(day.year, day.month, day.day, 0, tzinfo=dt.UTC))  # 08:00 in Shanghai
    worker.schedule(now=dt.datetime(day.year, day.month, day.day, 5, tzinfo=dt.UTC))  # the same day again
    assert query_db(db_url, "SELECT count(*) FROM outbox WHERE kind = 'digest'") == [(1,)]  # nobody in IT has work
    deliver(notifying_app)
    (digest,) = [m for m in mailbox.to("fac@example.org") if "每日" in m["Subject"]]
    assert all(n in Mailbox.text(digest) for n in numbers)
    worker.schedule(now=dt.datetime(day.year, day.month, day.day, 23, tzinfo=dt.UTC))  # the next day, 07:00
    assert query_db(db_url, "SELECT count(*) FROM outbox WHERE kind = 'digest'") == [(1,)]  # before digest_hour
    worker.schedule(now=dt.datetime(day.year, day.month, day.day, 23, 30, tzinfo=dt.UTC) + dt.timedelta(hours=1))
    assert query_db(db_url, "SELECT count(*) FROM outbox WHERE kind = 'digest'") == [(2,)]
