"""Slow and idle clients cannot stop `kb serve` (the default set-up: 2 workers, as `make run`)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
import urllib.request

import pytest

# Throughput and latency floors: run after the parallel part of the suite, with the machine to themselves.
# One database: the subject is how gunicorn's workers collect requests, not what the desk stores.
pytestmark = [pytest.mark.alone, pytest.mark.backend("postgresql")]

SLOW = 50


def timed_get(url: str) -> tuple[float, int, dict]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as res:
        body = json.loads(res.read())
        return time.perf_counter() - start, res.status, body


def read_some(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise AssertionError("the server closed the connection before the whole response")
    return chunk


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


class Trickle:
    """Connections that send the rest of their request one byte a second, from one thread.

    requests: (sent at once, then trickled) per connection.
    """

    def __init__(self, port: int, requests: list[tuple[bytes, bytes]]):
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in requests]
        for sock, (first, _) in zip(self.socks, requests):
            sock.sendall(first)
        self.requests = [rest for _, rest in requests]
        self.sent = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.wait(1.0 if self.sent else 0):
            for sock, request in zip(self.socks, self.requests):
                if self.sent < len(request) - 1:  # never the last byte: the request never completes
                    try:
                        sock.send(request[self.sent:self.sent + 1])
                    except OSError:
                        pass
            self.sent += 1

    def close(self):
        self.stopped.set()
        self.thread.join()
        for sock in self.socks:
            sock.close()


def test_health_and_suggestions_answer_within_a_second_with_50_idle_and_50_slow_connections(live_server):
    port = port_of(live_server)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(SLOW)]
    body = json.dumps({"category": "canteen", "description": "午饭没有菜了"}).encode()
    heads = [(b"", b"GET /api/v1/health HTTP/1.1\r\nHost: kb\r\n\r\n")] * (SLOW // 2)
    bodies = [(b"POST /api/v1/complaints HTTP/1.1\r\nHost: kb\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body), body)] * (SLOW - SLOW // 2)
    trickle = Trickle(port, heads + bodies)
    try:
        time.sleep(1.5)  # every slow connection has sent something and is being read
        suggest = live_server + "/api/v1/suggest?q=" + urllib.parse.quote("饮水机坏了")
        took = []
        for _ in range(4):
            t_health, status, health = timed_get(live_server + "/api/v1/health")
            assert status == 200 and health["ok"] is True, health
            t_suggest, status, answer = timed_get(suggest)
            assert status == 200 and answer["results"][0]["id"] == "water-dispenser-not-working"
            took += [t_health, t_suggest]
            time.sleep(0.5)
        assert max(took) < 1.0, took
        # Still open: none of them was answered or dropped meanwhile.
        for sock in idle + trickle.socks:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
        assert trickle.sent >= 3
    finally:
        trickle.close()
        for sock in idle:
            sock.close()


def test_a_request_that_does_not_arrive_in_time_gets_408_and_its_connection_closed(live_server):
    """server.request_timeout (10 s by default): slow and idle clients are let go, not kept forever."""
    port = port_of(live_server)
    idle = socket.create_connection(("127.0.0.1", port))
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /api/v1/health HTTP/1.1\r\nHo")
    start = time.monotonic()
    for sock in (idle, slow):
        sock.settimeout(20)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data
    assert 9 <= time.monotonic() - start < 13


def test_requests_that_arrive_in_pieces_are_answered_whole(live_server, live_db_url):
    """The worker collects a request's bytes before a thread parses it: head and body may come in any pieces."""
    from conftest import query_db
    port = port_of(live_server)
    body = json.dumps({"category": "canteen", "description": "午饭十二点半就没有菜了", "request": "多准备一些",
                       "occurred_at": "2026-11-24", "location": "二号食堂"}, ensure_ascii=False).encode()
    request = (b"POST /api/v1/complaints HTTP/1.1\r\nHost: kb\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for i in range(0, len(request), 17):
            sock.sendall(request[i:i + 17])
            time.sleep(0.02)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, answer = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201"), data
    number = json.loads(answer)["number"]
    assert query_db(live_db_url, "SELECT number FROM complaints") == [(number,)]
    # Kept alive, two requests in pieces on one connection.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(2):
            for part in (b"GET /api/v1/hea", b"lth HTTP/1.1\r\nHost: kb\r", b"\n\r\n"):
                sock.sendall(part)
                time.sleep(0.05)
            data = b""
            while b"\r\n\r\n" not in data:
                data += read_some(sock)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            while len(rest) < length:
                rest += read_some(sock)
            assert head.startswith(b"HTTP/1.1 200") and json.loads(rest)["ok"] is True


def test_request_complete_waits_for_the_head_and_the_announced_body():
    from intake_api.buffered_worker import MAX_BUFFERED, request_complete
    assert not request_complete(b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert request_complete(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
    assert not request_complete(head + b"abcd") and request_complete(head + b"abcde")
    chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    assert not request_complete(chunked) and request_complete(chunked + b"0\r\n\r\n")
    # curl waits for "100 Continue" before it sends a body: the thread's parser answers that.
    assert request_complete(b"POST / HTTP/1.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
    # Past the cap the parser decides (413/431) instead of the worker waiting for more.
    assert request_complete(b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_BUFFERED)
    assert request_complete(b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n" + b"a" * MAX_BUFFERED)


def test_the_searcher_answers_the_same_from_many_threads_at_once(app):
    """Threads of a worker share one Searcher: concurrent suggestions give what one at a time gives."""
    from concurrent.futures import ThreadPoolExecutor
    searcher = app.extensions["kb_searcher"]
    queries = ["饮水机坏了", "VPN 连不上", "报销单被退回", "班车晚点", "password reset", "宿舍没有热水"] * 8
    alone = {q: searcher.suggest(q) for q in set(queries)}
    searcher.close()  # the threads race to reopen it too
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(searcher.suggest, queries))
    assert together == [alone[q] for q in queries]


def test_request_complete_collects_uploads_up_to_their_own_limit():
    from intake_api.buffered_worker import MAX_BUFFERED, is_upload, request_complete
    assert is_upload(b"POST /api/v1/complaints/ABCD-EFGH-JKLM-NPQR/attachments HTTP/1.1\r\nHost: x\r\n")
    assert is_upload(b"POST /staff/complaints/TS-2026-000001/attachments HTTP/1.1\r\n")
    assert not is_upload(b"POST /api/v1/complaints HTTP/1.1\r\n")
    assert not is_upload(b"GET /api/v1/complaints/X/attachments/1 HTTP/1.1\r\n")
    head = b"POST /x/attachments HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (3 * MAX_BUFFERED)
    assert request_complete(head + b"a" * MAX_BUFFERED)  # an ordinary request: the parser decides past the cap
    assert not request_complete(head + b"a" * MAX_BUFFERED, limit=4 * MAX_BUFFERED)
    assert request_complete(head + b"a" * 3 * MAX_BUFFERED, limit=4 * MAX_BUFFERED)
    # Content-Length anywhere in the head (browsers send it before other headers), not only last.
    early = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nOrigin: http://kb\r\n\r\n"
    assert not request_complete(early + b"abcd") and request_complete(early + b"abcde")
    expect = b"POST /x/attachments HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    assert request_complete(expect) and not request_complete(expect, expect=False)


def test_large_and_slow_uploads_hold_no_thread(live_server, live_db_url):
    """Photos of several MB are collected by the worker's loop like any request (issue 20): four slow ones,
    more than the two workers' threads, leave the health check answering; a whole one is stored."""
    port = port_of(live_server)
    mb = 1024 * 1024
    head = (b"POST /api/v1/complaints/AAAA-BBBB-CCCC-DDDD/attachments HTTP/1.1\r\nHost: kb\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n" % (5 * mb) +
            b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n\r\n%PDF-1.4\n")
    slow = []
    try:
        for _ in range(4):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(head + b"a" * (2 * mb))  # past the 1 MiB of an ordinary request, and never finished
            slow.append(sock)
        time.sleep(1)
        took, status, body = timed_get(live_server + "/api/v1/health")
        assert status == 200 and body["ok"] and took < 2, took
    finally:
        for sock in slow:
            sock.close()

    # A whole 3 MB PDF, sent the way curl sends large bodies (Expect: 100-continue), arrives and is kept.
    complaint = json.dumps({"category": "payroll", "description": "工资条上的加班费少算了", "request": "补发",
                            "occurred_at": "2026-11-24", "location": "财务部"}, ensure_ascii=False).encode()
    req = urllib.request.Request(live_server + "/api/v1/complaints", data=complaint,
                                 headers={"Content-Type": "application/json"})
    code = json.loads(urllib.request.urlopen(req, timeout=10).read())["tracking_code"]
    pdf = b"%PDF-1.4\n" + b"0" * (3 * mb) + b"\n%%EOF\n"
    body = (b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"payslip.pdf\"\r\n"
            b"Content-Type: application/pdf\r\n\r\n" + pdf + b"\r\n--x--\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"POST /api/v1/complaints/%s/attachments HTTP/1.1\r\nHost: kb\r\nConnection: close\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % (code.encode(), len(body)))
        assert read_some(sock).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    final = data[data.find(b"HTTP/1.1 2"):]
    assert final.startswith(b"HTTP/1.1 201"), data[:300]
    from conftest import query_db
    assert query_db(live_db_url, "SELECT name, size FROM attachments") == [("payslip.pdf", len(pdf))]
