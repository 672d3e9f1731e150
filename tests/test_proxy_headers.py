"""Forwarded headers, Host and the server log, against a real `kb serve` over raw sockets."""

from __future__ import annotations

import socket
import time

import pytest

from conftest import start_kb_serve, stop_kb_serve


def exchange(url: str, request: bytes) -> tuple[bytes, dict[str, str]]:
    """Send raw bytes, read to the close: (status line, headers by lower-case name)."""
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.partition(b"\r\n\r\n")[0].split(b"\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return head[0], headers


def get(path: str, *headers: str, host: str = "127.0.0.1") -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close", *headers, "", ""]
    return "\r\n".join(lines).encode()


@pytest.fixture(scope="module", params=[0, 1], ids=["no-proxy", "one-proxy"])
def server(request, built_kb, tmp_path_factory):
    """`kb serve` with server.trusted_proxies = 0 or 1, its log in a file: (url, hops, log path); one per setting."""
    tmp_path = tmp_path_factory.mktemp("proxy")
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc, url = start_kb_serve(built_kb / "kb.yml", f"sqlite:///{tmp_path / 'kb.db'}", output=log,
                                   KB_TRUSTED_PROXIES=str(request.param))
        try:
            yield url, request.param, log_path
        finally:
            stop_kb_serve(proc)


def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(server):
    """Without a trusted proxy nobody can claim HTTPS (gunicorn believed it from 127.0.0.1: HSTS, Secure cookies)."""
    url, hops, _ = server
    status, headers = exchange(url, get("/api/v1/health", "X-Forwarded-Proto: https", "X-Forwarded-Ssl: on",
                                        "X-Forwarded-Protocol: ssl"))
    assert status.endswith(b"200 OK")
    assert ("strict-transport-security" in headers) == bool(hops), headers
    _, plain = exchange(url, get("/api/v1/health"))
    assert "strict-transport-security" not in plain


@pytest.mark.parametrize("path", ["/staff", "/api/doc/redoc"])
def test_trailing_slash_redirects_never_name_a_foreign_host(server, path):
    url, hops, _ = server
    for request in (get(path, host="evil.example"),
                    get(path, "X-Forwarded-Host: evil.example", "X-Forwarded-Proto: https")):
        status, headers = exchange(url, request)
        assert status.split()[1] in (b"301", b"308"), status
        assert headers["location"] == path + "/", headers


def test_no_client_address_in_the_server_log(server):
    """gunicorn's own lines too: "Invalid request from ip=..." is written without the address."""
    url, _, log_path = server
    seen = len(log_path.read_text().splitlines())  # the module's server: only this test's lines count
    for bad in (b"NOT A REQUEST\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"):
        status, _ = exchange(url, bad)
        assert status.split()[1] in (b"400", b"414"), status
    exchange(url, get("/api/v1/health", "X-Forwarded-For: 198.51.100.23"))
    time.sleep(0.3)
    lines = log_path.read_text().splitlines()[seen:]
    assert sum("Invalid request from ip=[address]" in line for line in lines) == 3, lines
    own = ("Listening at: http://127.0.0.1:", "Serving ")  # the server's own address, before any client
    leaked = [line for line in lines if ("127.0.0.1" in line or "198.51.100.23" in line)
              and not any(mark in line for mark in own)]
    assert leaked == []


def test_scrub_hides_ipv4_and_ipv6_addresses_and_keeps_times_and_versions():
    from intake_api.server_log import scrub
    assert scrub("Invalid request from ip=192.0.2.7: Invalid HTTP method") == \
        "Invalid request from ip=[address]: Invalid HTTP method"
    assert scrub("ip=::1: bad; [2001:db8::7]:5000 fe80::1%eth0 ::ffff:10.0.0.1") == \
        "ip=[address]: bad; [[address]]:5000 [address] [address]"
    assert scrub("at 12:30:45, gunicorn 25.1.0, ab:cd:ef") == "at 12:30:45, gunicorn 25.1.0, ab:cd:ef"
