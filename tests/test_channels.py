"""intake_api/channels.py against real receivers: an aiosmtpd SMTP server and HTTP servers answering like the robots.

No smtplib or urllib is mocked: each test runs a server on 127.0.0.1 that records what arrived, and checks it the
way the vendor would, recomputing every signature from the vendor's documented formula (not from our code).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from conftest import free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from intake_api.channels import WECOM_LIMIT, DeliveryError, Mailer, Outgoing, post_webhook, send_email
from kb_builder.notify_config import SmtpSettings, WebhookChannel

NOW = 1_700_000_000.123
SUBJECT = "【投诉】食堂饭菜变质 #C-0042"
TEXT = "您好，编号 C-0042 的投诉已受理。\n查看: http://127.0.0.1:8000/desk/c/C-0042"
HTML = "<p>您好，编号 <b>C-0042</b> 的投诉已受理。</p>"
MSG = Outgoing(subject=SUBJECT, text=TEXT, html=HTML, delivery_id="d-7f3a9c")
PASSWORD = "pa55-w0rd"
SECRET = "SECf00dfeedc0ffee0123456789abcdef"
KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def assert_log_safe(exc: DeliveryError, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in str(exc), f"{secret!r} leaked into {exc}"


# --- SMTP ---------------------------------------------------------------------------------------------------------

@dataclass
class Inbox:
    """An aiosmtpd handler: keeps each accepted message with how its session went."""

    refuse: dict[str, str] = field(default_factory=dict)  # address -> the RCPT answer
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "peer": session.peer, "tls": server.transport.get_extra_info("ssl_object") is not None,
                              "login": session.auth_data.login if session.authenticated else None,
                              "mail": message_from_bytes(envelope.original_content, policy=policy.default)})
        return "250 Message accepted for delivery"


def lines(content: str) -> str:
    """A part's text as written: SMTP carries CRLF line ends."""
    return content.replace("\r\n", "\n").rstrip("\n")


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"hr" and auth_data.password == PASSWORD.encode()
    # handled=False: aiosmtpd answers the failure itself (535)
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: (the server's context, a client context that trusts it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return server, ssl.create_default_context(cadata=cert_pem.decode())


@pytest.fixture
def smtp_server() -> Iterator:
    """start(**aiosmtpd options) -> (Inbox, port); every server started is stopped after the test."""
    controllers = []

    def start(inbox: Inbox | None = None, **options) -> tuple[Inbox, int]:
        inbox = inbox or Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return inbox, controller.port

    yield start
    for controller in controllers:
        controller.stop()


def settings(port: int, **changes) -> SmtpSettings:
    return SmtpSettings(**{"host": "127.0.0.1", "port": port, "security": "none", "sender": "投诉受理 <hr@example.com>",
                           "timeout": 5, **changes})


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_has_utf8_subject_text_and_html_message_id_and_logs_in(smtp_server):
    inbox, port = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    send_email(settings(port, username="hr", password=PASSWORD), "张三 <zhangsan@example.com>", MSG)

    [got] = inbox.received
    assert got["login"] == b"hr" and got["from"] == "hr@example.com" and got["to"] == ["zhangsan@example.com"]
    mail: EmailMessage = got["mail"]
    assert mail["Subject"] == SUBJECT
    assert mail["Message-ID"] == "<d-7f3a9c@example.com>" and mail["X-KB-Delivery"] == "d-7f3a9c"
    assert mail["From"] == "投诉受理 <hr@example.com>" and mail["To"] == "张三 <zhangsan@example.com>" and mail["Date"]
    assert mail.get_content_type() == "multipart/alternative"
    assert lines(mail.get_body(("plain",)).get_content()) == TEXT
    assert lines(mail.get_body(("html",)).get_content()) == HTML


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_batch_goes_over_one_connection_and_each_message_has_its_own_outcome(smtp_server):
    inbox, port = smtp_server(Inbox(refuse={"nobody@example.com": "550 5.1.1 No such user here"}),
                              authenticator=authenticator, auth_required=True, auth_require_tls=False)
    outcomes = []
    with Mailer(settings(port, username="hr", password=PASSWORD)) as mailer:
        for i, to in enumerate(["a@example.com", "nobody@example.com", "张三 <b@example.com>"]):
            try:
                mailer.send(to, Outgoing(f"{SUBJECT} {i}", TEXT, HTML, f"d-{i}"))
                outcomes.append("sent")
            except DeliveryError as exc:
                outcomes.append(f"refused, permanent={exc.permanent}")
    assert outcomes == ["sent", "refused, permanent=True", "sent"]
    assert [m["to"] for m in inbox.received] == [["a@example.com"], ["b@example.com"]]
    assert len({m["peer"] for m in inbox.received}) == 1 and all(m["login"] == b"hr" for m in inbox.received)
    assert [m["mail"]["Subject"] for m in inbox.received] == [f"{SUBJECT} 0", f"{SUBJECT} 2"]
    assert inbox.received[1]["mail"]["To"] == "张三 <b@example.com>"


def test_a_dropped_connection_fails_one_message_and_the_next_reconnects(smtp_server):
    inbox, port = smtp_server()
    with Mailer(settings(port)) as mailer:
        mailer.send("a@example.com", MSG)
        mailer.client.sock.shutdown(socket.SHUT_RDWR)  # the server or the network dropped it between two messages
        with pytest.raises(DeliveryError) as caught:
            mailer.send("b@example.com", MSG)
        assert not caught.value.permanent  # retried later, as any lost connection
        mailer.send("c@example.com", MSG)
    assert [m["to"] for m in inbox.received] == [["a@example.com"], ["c@example.com"]]
    assert inbox.received[0]["peer"] != inbox.received[1]["peer"]


def test_email_without_html_is_plain_text(smtp_server):
    inbox, port = smtp_server()
    send_email(settings(port), "zhangsan@example.com", Outgoing(SUBJECT, TEXT, None, "d-1"))
    mail = inbox.received[0]["mail"]
    assert mail.get_content_type() == "text/plain" and lines(mail.get_content()) == TEXT


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_wrong_password_is_permanent(smtp_server):
    inbox, port = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    with pytest.raises(DeliveryError) as caught:
        send_email(settings(port, username="hr", password="wrong-pa55"), "zhangsan@example.com", MSG)
    assert caught.value.permanent and "535" in str(caught.value)
    assert_log_safe(caught.value, "wrong-pa55")
    assert not inbox.received


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_non_ascii_password_is_permanent(smtp_server):
    inbox, port = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    with pytest.raises(DeliveryError) as caught:  # smtplib sends AUTH in ASCII only
        send_email(settings(port, username="hr", password="不要泄露"), "zhangsan@example.com", MSG)
    assert caught.value.permanent and caught.value.__cause__ is None
    assert_log_safe(caught.value, "不要泄露")


@pytest.mark.parametrize(("answer", "permanent"), [("550 5.1.1 No such user here", True),
                                                   ("450 4.2.1 Mailbox busy, try later", False)])
def test_refused_recipient(smtp_server, answer, permanent):
    inbox, port = smtp_server(Inbox(refuse={"nobody@example.com": answer}))
    with pytest.raises(DeliveryError) as caught:
        send_email(settings(port), "nobody@example.com", MSG)
    assert caught.value.permanent is permanent and answer[:3] in str(caught.value)
    assert not inbox.received


def test_no_server_is_temporary():
    with pytest.raises(DeliveryError) as caught:
        send_email(settings(free_port()), "zhangsan@example.com", MSG)
    assert not caught.value.permanent


def test_address_with_a_line_break_is_permanent(smtp_server):
    inbox, port = smtp_server()
    with pytest.raises(DeliveryError) as caught:
        send_email(settings(port), "zhangsan@example.com\r\nBcc: all@example.com", MSG)
    assert caught.value.permanent and not inbox.received


def test_starttls_upgrades_then_logs_in(smtp_server, certificate):
    server_tls, client_tls = certificate
    inbox, port = smtp_server(tls_context=server_tls, require_starttls=True, authenticator=authenticator,
                              auth_required=True)  # AUTH only over TLS (aiosmtpd's default)
    send_email(settings(port, security="starttls", username="hr", password=PASSWORD), "zhangsan@example.com", MSG,
               context=client_tls)
    [got] = inbox.received
    assert got["tls"] and got["login"] == b"hr" and got["mail"]["Subject"] == SUBJECT


def test_starttls_with_an_untrusted_certificate_sends_nothing(smtp_server, certificate):
    server_tls, _ = certificate
    inbox, port = smtp_server(tls_context=server_tls, require_starttls=True)
    with pytest.raises(DeliveryError) as caught:  # the system's CAs do not know the self-signed certificate
        send_email(settings(port, security="starttls"), "zhangsan@example.com", MSG)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert not inbox.received


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_starttls_refuses_a_server_without_it(smtp_server):
    inbox, port = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    with pytest.raises(DeliveryError) as caught:
        send_email(settings(port, security="starttls", username="hr", password=PASSWORD), "zhangsan@example.com", MSG)
    assert caught.value.permanent and "STARTTLS" in str(caught.value)
    assert not inbox.received


def test_ssl_from_the_start(smtp_server, certificate):
    server_tls, client_tls = certificate
    inbox, port = smtp_server(ssl_context=server_tls)
    send_email(settings(port, security="ssl"), "zhangsan@example.com", MSG, context=client_tls)
    assert inbox.received[0]["tls"]


# --- webhooks -----------------------------------------------------------------------------------------------------

@dataclass
class Hit:
    path: str
    query: str
    headers: Any
    body: bytes

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers `status` with `answer` (JSON) after `delay`."""

    base: str = ""
    hits: list[Hit] = field(default_factory=list)
    status: int = 200
    answer: Any = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0

    def reply(self, status: int = 200, answer: Any = None, **headers: str) -> None:
        self.status, self.answer, self.headers = status, answer, headers


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            path, _, query = self.path.partition("?")
            rec.hits.append(Hit(path, query, self.headers, body))
            time.sleep(rec.delay)
            data = b"" if rec.answer is None else json.dumps(rec.answer, ensure_ascii=False).encode()
            try:
                self.send_response(rec.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in rec.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except ConnectionError:  # the client gave up waiting (the timeout test)
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    rec.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield rec
    server.shutdown()
    server.server_close()


def hook(kind: str, url: str, secret: str | None = None, timeout: float = 5) -> WebhookChannel:
    return WebhookChannel.model_validate({"id": f"{kind}-team", "type": kind, "url": url, "secret": secret,
                                          "timeout": timeout})


def b64_hmac_sha256(key: str, data: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), data.encode(), hashlib.sha256).digest()).decode()


def test_wecom_posts_markdown_to_the_keyed_url(receiver):
    post_webhook(hook("wecom", f"{receiver.base}/cgi-bin/webhook/send?key={KEY}"), MSG, now=NOW)
    [hit] = receiver.hits
    assert (hit.path, hit.query) == ("/cgi-bin/webhook/send", f"key={KEY}")
    assert hit.headers["Content-Type"] == "application/json; charset=utf-8"
    assert hit.headers["X-KB-Delivery"] == "d-7f3a9c"
    assert hit.json() == {"msgtype": "markdown", "markdown": {"content": f"#### {SUBJECT}\n\n{TEXT}"}}


@pytest.mark.parametrize("shift", [0, 1, 2])  # moves the cut through the three bytes of a Chinese character
def test_wecom_cuts_long_text_between_characters_and_keeps_the_link(receiver, shift):
    link = "查看全文: http://127.0.0.1:8000/desk/c/C-0042"
    post_webhook(hook("wecom", f"{receiver.base}/send?key={KEY}"),
                 Outgoing(SUBJECT, "x" * shift + "长" * 3000 + "\n" + link, None, "d-2"), now=NOW)
    content = receiver.hits[0].json()["markdown"]["content"]
    assert WECOM_LIMIT - 3 < len(content.encode()) <= WECOM_LIMIT
    assert content.startswith(f"#### {SUBJECT}") and content.endswith("长\n…\n" + link)
    assert "\ufffd" not in content


def test_dingtalk_signs_the_query_as_documented(receiver):
    post_webhook(hook("dingtalk", f"{receiver.base}/robot/send?access_token=tok123", SECRET), MSG, now=NOW)
    [hit] = receiver.hits
    params = urllib.parse.parse_qs(hit.query)
    stamp = "1700000000123"  # milliseconds
    expected = b64_hmac_sha256(SECRET, f"{stamp}\n{SECRET}")
    assert params == {"access_token": ["tok123"], "timestamp": [stamp], "sign": [expected]}
    assert hit.query.endswith(f"&timestamp={stamp}&sign={urllib.parse.quote_plus(expected)}")
    assert hit.json() == {"msgtype": "markdown", "markdown": {"title": SUBJECT, "text": f"#### {SUBJECT}\n\n{TEXT}"}}


def test_dingtalk_sign_matches_a_published_example(receiver):
    # timestamp 1700000000000 and secret "secret" sign to this in the dingding crate's tests (docs.rs)
    post_webhook(hook("dingtalk", f"{receiver.base}/robot/send?access_token=tok123", "secret"), MSG, now=1.7e9)
    assert receiver.hits[0].query.endswith("&sign=OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D")


def test_dingtalk_without_secret_adds_nothing(receiver):
    post_webhook(hook("dingtalk", f"{receiver.base}/robot/send?access_token=tok123"), MSG, now=NOW)
    assert receiver.hits[0].query == "access_token=tok123"


def test_dingtalk_sign_not_match_is_permanent_and_log_safe(receiver):
    receiver.reply(200, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc]"})
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("dingtalk", f"{receiver.base}/robot/send?access_token=tok123", SECRET), MSG, now=NOW)
    assert caught.value.permanent and "310000" in str(caught.value) and "/robot/send" in str(caught.value)
    sign = urllib.parse.parse_qs(receiver.hits[0].query)["sign"][0]
    assert_log_safe(caught.value, SECRET, "tok123", "access_token=", sign, urllib.parse.quote_plus(sign))


def test_dingtalk_rate_limit_is_temporary(receiver):
    receiver.reply(200, {"errcode": 410100, "errmsg": "send too fast, exceed 20 times per minute"})
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("dingtalk", f"{receiver.base}/robot/send?access_token=tok123"), MSG, now=NOW)
    assert not caught.value.permanent


def test_feishu_signs_the_body_as_documented(receiver):
    receiver.reply(200, {"code": 0, "data": {}, "msg": "success"})
    post_webhook(hook("feishu", f"{receiver.base}/open-apis/bot/v2/hook/{KEY}", SECRET), MSG, now=NOW)
    [hit] = receiver.hits
    assert hit.path == f"/open-apis/bot/v2/hook/{KEY}"
    stamp = "1700000000"  # seconds; the key of the HMAC is "timestamp\nsecret", the signed data is empty
    assert hit.json() == {"msg_type": "text", "content": {"text": f"{SUBJECT}\n\n{TEXT}"}, "timestamp": stamp,
                          "sign": b64_hmac_sha256(f"{stamp}\n{SECRET}", "")}


def test_feishu_older_answer_and_the_clock(receiver):
    receiver.reply(200, {"StatusCode": 0, "StatusMessage": "success"})
    before = time.time()
    post_webhook(hook("feishu", f"{receiver.base}/open-apis/bot/v2/hook/{KEY}", SECRET), MSG)
    assert int(before) <= int(receiver.hits[0].json()["timestamp"]) <= time.time()


@pytest.mark.parametrize(("answer", "permanent"), [
    ({"code": 19021, "data": {}, "msg": "sign match fail or timestamp is not within one hour from current time"}, True),
    ({"code": 11232, "data": {}, "msg": "frequency limited"}, False),
])
def test_feishu_errors_hide_the_key_in_the_path(receiver, answer, permanent):
    receiver.reply(200, answer)
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("feishu", f"{receiver.base}/open-apis/bot/v2/hook/{KEY}", SECRET), MSG, now=NOW)
    assert caught.value.permanent is permanent and str(answer["code"]) in str(caught.value)
    assert_log_safe(caught.value, SECRET, KEY)


def test_json_receiver_gets_our_payload_signed_over_timestamp_and_body(receiver):
    receiver.reply(204)
    post_webhook(hook("json", f"{receiver.base}/hooks/kb?token=t0ken", SECRET), MSG, now=NOW)
    [hit] = receiver.hits
    assert hit.json() == {"delivery_id": "d-7f3a9c", "kind": "", "subject": SUBJECT, "text": TEXT, "html": HTML,
                          "data": {}}
    assert hit.headers["Content-Type"] == "application/json; charset=utf-8"
    assert hit.headers["X-KB-Delivery"] == "d-7f3a9c" and hit.headers["X-KB-Timestamp"] == "1700000000"
    expected = hmac.new(SECRET.encode(), b"1700000000." + hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["X-KB-Signature"] == f"sha256={expected}"


def test_json_receiver_without_secret_is_unsigned(receiver):
    receiver.reply(200, {"anything": "goes"})
    post_webhook(hook("json", f"{receiver.base}/hooks/kb"), MSG, now=NOW)
    assert "X-KB-Signature" not in receiver.hits[0].headers


@pytest.mark.parametrize(("kind", "status", "permanent"), [
    ("json", 500, False), ("json", 503, False), ("json", 429, False), ("json", 408, False),
    ("json", 404, True), ("json", 401, True), ("wecom", 500, False), ("wecom", 429, False),
])
def test_http_status(receiver, kind, status, permanent):
    receiver.reply(status, {"error": "no"})
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook(kind, f"{receiver.base}/send?key={KEY}", SECRET), MSG, now=NOW)
    assert caught.value.permanent is permanent and f"HTTP {status}" in str(caught.value)
    assert_log_safe(caught.value, SECRET, KEY, "key=")


def test_wecom_bad_key_is_permanent(receiver):
    receiver.reply(200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1755605200056773468916791]"})
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("wecom", f"{receiver.base}/cgi-bin/webhook/send?key={KEY}"), MSG, now=NOW)
    assert caught.value.permanent and "93000" in str(caught.value)
    assert_log_safe(caught.value, KEY)


def test_robot_answer_that_is_not_json_is_temporary(receiver):
    receiver.reply(200, None)
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("wecom", f"{receiver.base}/send?key={KEY}"), MSG, now=NOW)
    assert not caught.value.permanent


@pytest.mark.parametrize(("status", "permanent"), [(301, True), (308, True), (302, False), (307, False)])
def test_redirect_is_not_followed(receiver, status, permanent):
    receiver.reply(status, None, Location=f"{receiver.base}/elsewhere")
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("wecom", f"{receiver.base}/send?key={KEY}"), MSG, now=NOW)
    assert caught.value.permanent is permanent and len(receiver.hits) == 1


def test_no_receiver_is_temporary_and_log_safe():
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("dingtalk", f"http://127.0.0.1:{free_port()}/robot/send?access_token=tok123", SECRET),
                     MSG, now=NOW)
    assert not caught.value.permanent and "127.0.0.1" in str(caught.value)
    assert_log_safe(caught.value, SECRET, "tok123", "sign=")


def test_slow_receiver_times_out_temporarily(receiver):
    receiver.delay = 1
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("feishu", f"{receiver.base}/open-apis/bot/v2/hook/{KEY}", timeout=0.2), MSG, now=NOW)
    assert not caught.value.permanent and time.monotonic() - started < 0.9
    assert_log_safe(caught.value, KEY)


def test_a_bad_port_in_the_url_does_not_leak_it():
    url = f"http://127.0.0.1:99999/send?key={KEY}"
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook("wecom", url), MSG, now=NOW)
    assert_log_safe(caught.value, KEY, url)
