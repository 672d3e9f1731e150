"""A gunicorn worker that hands a request to a thread only once all of it has arrived.

gunicorn's sync workers read a request in the process that answers it: two
idle connections to `kb serve` (2 workers) made every other request wait.
Its `gthread` worker still lends a thread to each new connection while the
request is read (it waits up to 5 s for a first byte, then reads headers
and body with no time limit), so 50 clients sending one byte a second hold
50 threads. Here the worker's event loop (gunicorn's own poller) collects
the bytes of each request without a thread, as a buffering front server
would: the head, then a body of the announced Content-Length (or chunks up
to the last one), at most MAX_BUFFERED bytes. Only then does a thread parse
and answer it. A request that has not arrived within `request_timeout`
seconds gets 408 and the connection is closed, so slow and idle clients
cost a file descriptor and a few bytes for a bounded time, never a thread.
Kept-alive connections go through the same collection for their next
request.

Uploads (a POST to a path ending in /attachments) are collected the same
way up to the upload limit (attachments.max_bytes and the framing), with
`upload_timeout` seconds to arrive instead of `request_timeout`: a slow
upload never holds a thread either. At most `max_uploads` are collected at
once per worker, which bounds the memory they take; one more gets 503 with
Retry-After. An upload that asks for "100 Continue" gets it from the worker.

A worker whose threads are all answering stops accepting new connections
until one is free, as a sync worker does: gthread accepts whatever
arrives, and a busy worker would queue requests behind its own work while
the other one idles.
"""

from __future__ import annotations

import errno
import re
import selectors
import socket
import time
from collections import deque
from functools import partial

from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

# The app refuses bodies over 64 KiB (MAX_CONTENT_LENGTH) and gunicorn heads
# over about 800 KiB (100 fields of 8 KiB); past this the parser in the
# thread answers (413/431) without waiting for more.
MAX_BUFFERED = 1024 * 1024
# Lines end in CRLF: the header is found wherever it stands, not only as the last one.
_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?$", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*$", re.I | re.M)
# The client sends its body only after "100 Continue", which gunicorn writes when the thread reads it.
_EXPECT = re.compile(rb"^expect[ \t]*:[ \t]*100-continue", re.I | re.M)
_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\n"
                  b"Content-Length: 0\r\n\r\n")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# The request line of an upload (intake_api/web.py's accepts_files views all end in /attachments).
_UPLOAD = re.compile(rb"POST [^ ]*/attachments(?:\?[^ ]*)? HTTP/1\.[01]\r\n")


def is_upload(data: bytes) -> bool:
    """Whether the request that starts with data is an upload (known once its first line is in)."""
    return bool(_UPLOAD.match(data))


def request_complete(data: bytes, limit: int = MAX_BUFFERED, expect: bool = True) -> bool:
    """Whether data holds a whole request (head and body), or enough (`limit` bytes) that the parser must
    decide. `expect`: a head asking for "100 Continue" is complete (the thread's parser answers it)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) >= MAX_BUFFERED
    head, body = data[:end], data[end + 4:]
    if expect and _EXPECT.search(head):
        return True
    if _CHUNKED.search(head):
        return body.endswith(b"0\r\n\r\n") or len(data) >= limit
    lengths = _LENGTH.findall(head)
    if not lengths:
        return True  # no body, or a malformed header the parser rejects
    return len(body) >= min(int(lengths[0]), limit)


class BufferedThreadWorker(ThreadWorker):
    """gthread whose threads only ever see requests that have fully arrived (module docstring)."""

    # Seconds a request may take to arrive in full (server.request_timeout; set by serve.run before the fork).
    request_timeout: float = 10.0
    # Uploads: the largest collected, the seconds one may take, and how many are collected at once (serve.run).
    upload_buffered: int = MAX_BUFFERED
    upload_timeout: float = 120.0
    max_uploads: int = 8

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.arriving: deque = deque()  # connections whose request is still coming, oldest first
        self.answering = 0  # requests handed to the thread pool and not finished yet
        self.uploading = 0  # uploads among the arriving

    def enqueue_req(self, conn):
        self.answering += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.answering -= 1
        super().finish_request(conn, fs)

    def wait_for_and_dispatch_events(self, timeout):
        """Accept only while a thread is free (module docstring); gunicorn's loop checks only connections."""
        if self.alive:
            self.set_accept_enabled(self.nr_conns < self.worker_connections and self.answering < self.cfg.threads)
        super().wait_for_and_dispatch_events(timeout)

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.collect(TConn(self.cfg, client_sock, client_addr, listener.getsockname()))

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection starts its next request: collect it like a new one."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self.collect(conn)

    def collect(self, conn) -> None:
        conn.sock.setblocking(False)
        conn.early = b""
        conn.started = time.monotonic()
        conn.deadline = conn.started + self.request_timeout
        conn.limit = MAX_BUFFERED
        conn.upload = None  # not known until the request line is in
        self.arriving.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, conn))

    def on_request_bytes(self, conn, sock):
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before sending a whole request
            self.drop(conn)
            return
        conn.early += data
        if conn.upload is None and b"\r\n" in conn.early:
            conn.upload = is_upload(conn.early)
            if conn.upload:
                if self.uploading >= self.max_uploads:
                    conn.upload = False
                    self.drop(conn, _BUSY_RESPONSE)
                    return
                self.uploading += 1
                conn.limit = self.upload_buffered
                conn.deadline = conn.started + self.upload_timeout
        if conn.upload and not getattr(conn, "continued", False) and b"\r\n\r\n" in conn.early:
            conn.continued = True
            if _EXPECT.search(conn.early[:conn.early.find(b"\r\n\r\n")]):
                try:
                    sock.send(_CONTINUE)
                except OSError:
                    pass
        if request_complete(conn.early, conn.limit, expect=not conn.upload):
            self._collected(conn)
            self.poller.unregister(sock)
            self.arriving.remove(conn)
            conn.data_ready = True
            self.enqueue_req(conn)

    def _collected(self, conn) -> None:
        """The connection leaves the arriving: it no longer counts as an upload being collected."""
        if getattr(conn, "upload", False):
            conn.upload = False
            self.uploading -= 1

    def drop(self, conn, answer: bytes = b"") -> None:
        self._collected(conn)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        try:
            self.arriving.remove(conn)
        except ValueError:
            pass
        if answer:
            try:
                conn.sock.send(answer)
            except OSError:
                pass
        self.nr_conns -= 1
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def murder_pending(self):
        """Also close connections whose request did not arrive in time (408)."""
        super().murder_pending()
        now = time.monotonic()
        if not self.alive:  # stopping: a request on its way gets as long as gunicorn gives kept-alive ones
            for conn in self.arriving:
                conn.deadline = min(conn.deadline, now + STOP_KEEPALIVE_LINGER)
        # Uploads get longer than other requests, so the oldest is not always the first due: look at all.
        for conn in [c for c in self.arriving if c.deadline <= now]:
            self.drop(conn, _TIMEOUT_RESPONSE)

    def handle(self, conn):
        """Feed the collected bytes to the connection's parser, then let gunicorn answer."""
        early = getattr(conn, "early", b"")
        if early:
            conn.early = b""
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(early)
        return super().handle(conn)
