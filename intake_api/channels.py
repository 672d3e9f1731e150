"""Delivery of one rendered message over one channel: e-mail (SMTP) or a webhook (chat robots, JSON).

The worker (worker.py) calls these outside any database transaction and
records the outcome; a DeliveryError says whether trying again may help.
Its message goes to logs and to the admins' outbox page, so it never holds a
secret: neither the SMTP password, nor a signing secret, nor a robot's key
(wecom and dingtalk keep it in the URL's query, feishu at the end of its path).
"""

from __future__ import annotations

import base64
import email.policy
import functools
import hashlib
import hmac
import http.client
import json
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from kb_builder.notify_config import SmtpSettings, WebhookChannel


@dataclass(frozen=True)
class Outgoing:
    """A rendered message (notices.py renders it from an HR template)."""

    subject: str
    text: str
    html: str | None
    # Stable across retries (the outbox row): the e-mail's Message-ID and the webhooks' X-KB-Delivery,
    # so that a receiver can drop the copy a crash between its acceptance and our commit would resend.
    delivery_id: str
    # The kind and its template variables (never a confidential complainant's identity or text): the json
    # webhook carries them for receivers that act on the message rather than show it.
    kind: str = ""
    data: Mapping[str, Any] | None = None


class DeliveryError(Exception):
    """The receiver did not take the message; `permanent`: retrying cannot help (bad address, bad key)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


# --- e-mail -------------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _system_tls() -> ssl.SSLContext:
    """The system's CAs, loaded once per process: loading them was most of a delivery's CPU (benchmarks/RESULTS.md,
    notifications), and they do not change while a worker runs."""
    return ssl.create_default_context()


def send_email(smtp: SmtpSettings, to: str, msg: Outgoing, *, context: ssl.SSLContext | None = None) -> None:
    """Hand `msg` to the SMTP server for `to` over a connection of its own; returns once the server accepted it."""
    with Mailer(smtp, context=context) as mailer:
        mailer.send(to, msg)


class Mailer:
    """One SMTP connection for a run of messages (a worker's batch), each accepted or refused on its own.

    Connecting, STARTTLS and AUTH cost more than a message: the worker sends
    a batch over one session and records each message's outcome as it goes.
    A failure other than a refused recipient closes the connection, and the
    next message opens a new one. With security=starttls a server that does
    not offer STARTTLS is refused rather than spoken to in clear: the password
    and the complaint would cross the network readable, and no retry changes
    what the server offers. `context` verifies the server's certificate
    (default: the system's CAs; tests pass one that trusts their own).
    """

    def __init__(self, smtp: SmtpSettings, context: ssl.SSLContext | None = None):
        self.smtp = smtp
        self.context = context
        self.client: smtplib.SMTP | None = None
        self.where = f"SMTP {smtp.host}:{smtp.port}"

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            _quit(self.client)
            self.client = None

    def send(self, to: str, msg: Outgoing) -> None:
        """Hand `msg` to the server for `to`; returns once the server has accepted it, else DeliveryError."""
        smtp, where = self.smtp, self.where
        if not smtp.host:
            raise DeliveryError("no SMTP host is set (notifications.smtp.host)")
        try:
            sender, recipient = _address(smtp.sender), _address(to)
            if sender.isascii() and recipient.isascii():
                mail, options = _mime(smtp, to, msg), []
            else:  # an address in Unicode: the server must speak SMTPUTF8, headers go out in UTF-8
                mail, options = _email(smtp, to, msg).as_bytes(policy=email.policy.SMTPUTF8), ["SMTPUTF8",
                                                                                              "BODY=8BITMIME"]
        except ValueError as exc:  # a line break or other garbage in an address: the same on every attempt
            raise DeliveryError(f"cannot address an e-mail to {to!r}: {exc}", permanent=True) from exc
        keep = False
        try:
            client = self.client = self.client or self._connect()
            if options and not client.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("the server does not support SMTPUTF8 (a Unicode address)")
            client.sendmail(sender, [recipient], mail, mail_options=options)
            keep = True
        except smtplib.SMTPRecipientsRefused as exc:
            keep = True  # smtplib reset the transaction: the session goes on with the next message
            code, answer = next(iter(exc.recipients.values()))
            raise DeliveryError(f"{where} refused {to}: {code} {_text(answer)}", permanent=code >= 500) from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, bad login, data refused: 5xx is final
            raise DeliveryError(f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}",
                                permanent=exc.smtp_code >= 500) from exc
        except UnicodeError:  # smtplib writes AUTH in ASCII; not chained: the error holds the password
            raise DeliveryError(f"{where}: cannot encode the login or the host name (AUTH is ASCII only)",
                                permanent=True) from None
        except smtplib.SMTPNotSupportedError as exc:  # no AUTH, no SMTPUTF8: the server's configuration, not luck
            raise DeliveryError(f"{where}: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, dropped, TLS failed
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from exc
        finally:
            if not keep:
                self.close()

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        tls = self.context or (_system_tls() if smtp.security != "none" else None)
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=tls)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        self.client = client  # closed by send's failure path from here on
        client.ehlo()
        if smtp.security == "starttls":
            if not client.has_extn("starttls"):
                raise DeliveryError(f"{self.where} does not offer STARTTLS: not sending in clear", permanent=True)
            client.starttls(context=tls)
            client.ehlo()
        if smtp.username:
            client.login(smtp.username, smtp.password.get_secret_value() if smtp.password else "")
        return client


_WIRE = email.policy.compat32.clone(linesep="\r\n")


def _mime(smtp: SmtpSettings, to: str, msg: Outgoing) -> bytes:
    """The message as sent, built with the email package's older API: a tenth of `_email`'s CPU for the same mail.

    policy.default parses and refolds every header it is given, which was
    most of a delivery's CPU; here only what needs it is encoded (RFC 2047
    UTF-8 for a Chinese subject or display name, base64 UTF-8 bodies).
    Addresses must be ASCII (`_email` handles the others).
    """
    text = MIMEText(msg.text, "plain", "utf-8")
    mail: Message = text
    if msg.html:
        mail = MIMEMultipart("alternative")
        mail.attach(text)
        mail.attach(MIMEText(msg.html, "html", "utf-8"))
    mail["Subject"] = _encoded(" ".join(msg.subject.splitlines()))
    mail["From"] = _named(smtp.sender)
    mail["To"] = _named(to)
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = f"<{msg.delivery_id}@{_address(smtp.sender).rpartition('@')[2] or 'localhost'}>"
    mail["X-KB-Delivery"] = msg.delivery_id
    return mail.as_bytes(policy=_WIRE)  # smtplib sends bytes as they are: the lines must end in CRLF already


def _encoded(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _named(value: str) -> str:
    """An address header (a display name in any language), refusing line breaks as policy.default does."""
    if "\r" in value or "\n" in value:
        raise ValueError("a line break in an address")
    name, address = parseaddr(value)
    if not address:
        raise ValueError("not an e-mail address")
    return formataddr((name, address), charset="utf-8") if name else address


def _email(smtp: SmtpSettings, to: str, msg: Outgoing) -> EmailMessage:
    mail = EmailMessage()  # policy.default: a Chinese subject goes out as RFC 2047 UTF-8, bodies as MIME needs
    mail["Subject"] = msg.subject
    mail["From"] = smtp.sender
    mail["To"] = to
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = f"<{msg.delivery_id}@{_address(smtp.sender).rpartition('@')[2] or 'localhost'}>"
    mail["X-KB-Delivery"] = msg.delivery_id
    mail.set_content(msg.text)
    if msg.html:
        mail.add_alternative(msg.html, subtype="html")
    return mail


def _address(sender: str) -> str:
    """The bare address of a From or To value that may carry a display name ("投诉受理 <hr@example.com>")."""
    return parseaddr(sender)[1] or sender


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer


def _quit(client: smtplib.SMTP) -> None:
    """Say goodbye; once the message is accepted a failing QUIT must not turn success into a retry (a duplicate)."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


# --- webhooks -----------------------------------------------------------------------------------------------------

WECOM_LIMIT = 4096
"""Bytes of UTF-8 in a wecom markdown.content; the robot refuses a longer one (errcode 40058)."""

# Robot answers that no retry cures: the key or the signature is wrong, this IP or the text's keywords are not
# allowed, the request is malformed. Anything else (rate limits, "system busy") may pass later.
PERMANENT_CODES: dict[str, frozenset[int]] = {
    "wecom": frozenset({93000, 40058}),  # invalid webhook url (the key); invalid parameter (e.g. too long)
    "dingtalk": frozenset({300001, 300005, 310000}),  # token is not exist (x2); sign, keywords or IP whitelist
    "feishu": frozenset({9499, 19001, 19021, 19022, 19024}),  # bad request; token invalid; sign; IP; keywords
}

_MAX_ANSWER = 64 * 1024  # a robot answers in a few dozen bytes; a huge answer is not worth reading


def post_webhook(hook: WebhookChannel, msg: Outgoing, now: float | None = None) -> None:
    """POST `msg` to `hook` in its vendor's format; returns once the receiver said it took it.

    `now` (seconds since the epoch) dates the signatures, the clock's time when not given. A robot answers
    HTTP 200 with an error code in its JSON, so for them 200 is not yet success; our json receivers answer 2xx.
    """
    now = time.time() if now is None else now
    secret = hook.secret.get_secret_value() if hook.secret else ""
    headers = {"Content-Type": "application/json; charset=utf-8", "X-KB-Delivery": msg.delivery_id}
    if hook.type == "json":
        url = hook.url
        body = _json({"delivery_id": msg.delivery_id, "kind": msg.kind, "subject": msg.subject, "text": msg.text,
                      "html": msg.html, "data": dict(msg.data or {})})
        stamp = str(int(now))
        headers["X-KB-Timestamp"] = stamp
        if secret:  # over the timestamp too, so that a captured request cannot be replayed later
            headers["X-KB-Signature"] = "sha256=" + _hmac(secret, f"{stamp}.".encode() + body).hexdigest()
    else:
        url, payload = _ROBOTS[hook.type](hook.url, secret, msg, now)
        body = _json(payload)
    hidden = _hidden(hook, url)
    where = f"webhook {hook.id} ({_scrub(_without_query(hook.url), hidden)})"
    status, answer = _post(url, body, headers, hook.timeout, where, hidden)
    if 300 <= status < 400:  # 301 and 308 say the address moved for good: only a new URL in kb.yml helps
        raise DeliveryError(f"{where}: HTTP {status}, a redirect (not followed)", permanent=status in (301, 308))
    if not 200 <= status < 300:  # 408 and 429: the receiver was busy; 5xx: broken for now
        raise DeliveryError(f"{where}: HTTP {status}", permanent=400 <= status < 500 and status not in (408, 429))
    if hook.type != "json":
        _check_robot(hook.type, answer, where, hidden)


def _markdown(msg: Outgoing) -> str:
    # The title of a dingtalk markdown message only shows in the chat list: the text repeats it (as vendors' examples
    # do), and wecom's markdown has no title at all.
    return f"#### {msg.subject}\n\n{msg.text}"


def _wecom(url: str, secret: str, msg: Outgoing, now: float) -> tuple[str, dict[str, Any]]:
    """企业微信群机器人: the key is in the URL; no signing exists."""
    return url, {"msgtype": "markdown", "markdown": {"content": _fit(_markdown(msg), WECOM_LIMIT)}}


def _dingtalk(url: str, secret: str, msg: Outgoing, now: float) -> tuple[str, dict[str, Any]]:
    """钉钉自定义机器人: "加签" puts a millisecond timestamp and HmacSHA256(secret, f"{timestamp}\\n{secret}") in the query."""
    if secret:
        stamp = str(round(now * 1000))
        sign = base64.b64encode(_hmac(secret, f"{stamp}\n{secret}".encode()).digest()).decode()
        url += ("&" if urllib.parse.urlsplit(url).query else "?") + urllib.parse.urlencode(
            {"timestamp": stamp, "sign": sign})  # urlencode quotes like the documented quote_plus
    return url, {"msgtype": "markdown", "markdown": {"title": msg.subject, "text": _markdown(msg)}}


def _feishu(url: str, secret: str, msg: Outgoing, now: float) -> tuple[str, dict[str, Any]]:
    """飞书自定义机器人: "签名校验" keys HmacSHA256 with f"{timestamp}\\n{secret}" over nothing (seconds, in the body)."""
    payload: dict[str, Any] = {"msg_type": "text", "content": {"text": f"{msg.subject}\n\n{msg.text}"}}
    if secret:
        stamp = str(int(now))
        payload |= {"timestamp": stamp, "sign": base64.b64encode(_hmac(f"{stamp}\n{secret}", b"").digest()).decode()}
    return url, payload


_ROBOTS: dict[str, Callable[[str, str, Outgoing, float], tuple[str, dict[str, Any]]]] = {
    "wecom": _wecom, "dingtalk": _dingtalk, "feishu": _feishu}


def _hmac(key: str, data: bytes) -> hmac.HMAC:
    """HMAC-SHA256, the one algorithm every receiver here signs with (they differ in key, data and encoding)."""
    return hmac.new(key.encode(), data, hashlib.sha256)


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _fit(text: str, limit: int) -> str:
    """`text` cut to `limit` bytes of UTF-8 between characters, keeping a last line with a link (the way to the rest)."""
    if len(text.encode()) <= limit:
        return text
    tail = ""
    head, _, last = text.rstrip().rpartition("\n")
    if head and re.search(r"https?://", last) and len(last.encode()) <= limit // 2:
        text, tail = head, "\n" + last
    room = limit - len(("\n…" + tail).encode())
    return text.encode()[:room].decode("utf-8", "ignore") + "\n…" + tail  # "ignore" drops only a cut character


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect means a wrong address: following it would carry the key elsewhere (and turn the POST into a GET)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float, where: str,
          hidden: list[str]) -> tuple[int, bytes]:
    """The HTTP status and (for 2xx) the answer; a failure to get any answer is temporary."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read(_MAX_ANSWER)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, b""
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # The reason may quote the URL (a bad port, an unknown scheme): scrubbed, and not chained for the same cause.
        raise DeliveryError(_scrub(f"{where}: {type(exc).__name__}: {exc}", hidden)) from None


def _check_robot(kind: str, answer: bytes, where: str, hidden: list[str]) -> None:
    try:
        reply = json.loads(answer)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise DeliveryError(f"{where}: HTTP 200 without the robot's JSON answer (a proxy's page?)")
    # feishu: `code`; its older answers only `StatusCode`. wecom and dingtalk: `errcode`.
    code = reply.get("code", reply.get("StatusCode")) if kind == "feishu" else reply.get("errcode")
    if code == 0:
        return
    text = str(reply.get("errmsg") or reply.get("msg") or reply.get("StatusMessage") or "")[:300]
    raise DeliveryError(_scrub(f"{where}: the robot answered {code} {text}", hidden),
                        permanent=isinstance(code, int) and code in PERMANENT_CODES[kind])


def _without_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _hidden(hook: WebhookChannel, url: str) -> list[str]:
    """What a log must never show: the secret, the queries (keys, signatures) and feishu's key (its path's end)."""
    pieces = [hook.secret.get_secret_value() if hook.secret else ""]
    for query in (urllib.parse.urlsplit(hook.url).query, urllib.parse.urlsplit(url).query):
        values = [pair.partition("=")[2] for pair in query.split("&")]
        pieces += [query, *values, *(urllib.parse.unquote_plus(value) for value in values)]  # as sent, as read
    if hook.type == "feishu":
        pieces.append(urllib.parse.urlsplit(hook.url).path.rstrip("/").rpartition("/")[2])
    return sorted({p for p in pieces if p}, key=len, reverse=True)


def _scrub(text: str, hidden: list[str]) -> str:
    for piece in hidden:
        text = text.replace(piece, "***")
    return text
