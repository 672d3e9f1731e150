"""Load benchmark: concurrent submitters and suggest queries against `kb serve` on 127.0.0.1.

Bounded in requests and time; stops by itself. Prints throughput and p50/p99
latency per kind, then checks that every acknowledged complaint is in the
database exactly once.

    python benchmarks/load.py                      # SQLite and PostgreSQL, sample knowledge base
    python benchmarks/load.py --db postgresql --seconds 20 --suggest-clients 6 --submit-clients 3
    python benchmarks/load.py --slow-clients 0     # without the slow-client phase

The slow-client phase runs the same load again while --slow-clients idle
connections and as many sending one byte a second are open, and times
`GET /api/v1/health` meanwhile (intake_api/buffered_worker.py says why they
cost no worker thread).

Rate limits are switched off for the run (KB_RATELIMIT_ENABLED=0): one
loopback address would otherwise be throttled as a single client.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("KB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

QUERIES = ["饮水机坏了", "VPN 连不上", "报销单被退回", "班车晚点", "加班费没发", "宿舍没有热水", "食堂饭菜太咸",
           "打印机没墨", "password reset", "payslip is wrong", "annual leave balance", "空调太冷了",
           "请假流程", "门禁卡失效", "shuttle bus late"]
TEXTS = ["三楼茶水间的饮水机坏了", "宿舍热水器不出热水", "打卡机坏了，考勤显示缺卡", "食堂十二点半就没菜了",
         "报销单提交三周还没审批", "VPN 在家连不上公司网络"]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"suggest": [], "submit": []})
    errors: dict[str, int] = field(default_factory=lambda: {"suggest": 0, "submit": 0})
    acknowledged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_database(kind: str, folder: Path) -> tuple[str, callable]:
    """A fresh database URL and a function that removes it."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'load.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    name = f"kbload_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), drop


def build_sample(folder: Path) -> Path:
    """Copy the project's config, docs and sample content, and build it."""
    for name in ("kb.yml", "mkdocs.yml"):
        shutil.copy(ROOT / name, folder / name)
    for name in ("docs", "overrides", "content"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("faq", "sop"))
    subprocess.run([str(Path(sys.executable).with_name("kb")), "--config", str(folder / "kb.yml"), "build"],
                   check=True, capture_output=True)
    return folder / "kb.yml"


class Server:
    """`kb serve` in its own process group (so a crash test can kill -9 all of it)."""

    def __init__(self, kb_yml: Path, db_url: str, workers: int = 2, rate_limits: bool = False):
        self.port = free_port()
        env = dict(os.environ, KB_CONFIG=str(kb_yml), KB_DATABASE_URL=db_url, NO_MKDOCS_2_WARNING="1",
                   KB_RATELIMIT_ENABLED="1" if rate_limits else "0")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([str(Path(sys.executable).with_name("kb")), "serve", "--port", str(self.port),
                                      "--workers", str(workers)], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/meta")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                raise RuntimeError("kb serve did not start:\n" + self.log.read().decode(errors="replace"))
            time.sleep(0.2)

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()


def complaint_body(i: int) -> bytes:
    return json.dumps({"category": "facilities", "description": f"{random.choice(TEXTS)}（第 {i} 号）",
                       "request": "请尽快处理", "occurred_at": "2026-11-20", "location": "A 栋",
                       "disclosure": "anonymous"}, ensure_ascii=False).encode()


def exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request on a new connection and return (status, body).

    The target counts the load generator's CPU on the same two cores, and
    http.client spent 0.33 ms of it per request against 0.20 ms for this
    (measured 2026-11-30 with `kb serve` and PostgreSQL): about 50 ms a
    second at 400 requests a second. gunicorn's sync workers close every
    connection after one response anyway, so nothing is lost by not keeping
    it alive. Anything unexpected raises OSError, counted as an error.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the response headers")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            raise ConnectionError(f"not an HTTP status line: {lines[0][:80]!r}") from None
        length = next((int(value) for name, _, value in (line.partition(b":") for line in lines[1:])
                       if name.strip().lower() == b"content-length"), None)
        while length is None or len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                if length is None:  # no Content-Length: the body runs to the close
                    break
                raise ConnectionError("connection closed in the middle of the body")
            body += chunk
        return status, body


def request_bytes(kind: str, port: int, n: int) -> bytes:
    """One suggest query or one complaint (with its own idempotency key), ready to send."""
    head = f"Host: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if kind == "suggest":
        return (f"GET /api/v1/suggest?limit=5&q={quote(random.choice(QUERIES))} HTTP/1.1\r\n{head}\r\n").encode()
    body = complaint_body(n)
    return (f"POST /api/v1/complaints HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
            f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def client_loop(kind: str, port: int, stats: Stats, stop_at: float, budget: list[int]) -> None:
    expected = 200 if kind == "suggest" else 201
    while time.time() < stop_at:
        with stats.lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            n = budget[0]
        request = request_bytes(kind, port, n)
        start = time.perf_counter()
        try:
            status, body = exchange(port, request)
            ok = status == expected
            if ok and kind == "submit":
                number = json.loads(body)["number"]
                with stats.lock:
                    stats.acknowledged.append(number)
        except OSError:
            ok = False
        elapsed = time.perf_counter() - start
        with stats.lock:
            if ok:
                stats.latencies[kind].append(elapsed)
            else:
                stats.errors[kind] += 1


def run_load(port: int, seconds: float, suggest_clients: int, submit_clients: int,
             max_suggest: int, max_submit: int) -> tuple[Stats, float]:
    stats = Stats()
    stop_at = time.time() + seconds
    budgets = {"suggest": [max_suggest], "submit": [max_submit]}
    threads = [threading.Thread(target=client_loop, args=("suggest", port, stats, stop_at, budgets["suggest"]))
               for _ in range(suggest_clients)]
    threads += [threading.Thread(target=client_loop, args=("submit", port, stats, stop_at, budgets["submit"]))
                for _ in range(submit_clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats, time.perf_counter() - start


class SlowClients:
    """n idle connections and n sending a request one byte a second (never the last), from one thread."""

    REQUEST = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 64 + b"\r\n\r\n"

    def __init__(self, port: int, n: int):
        self.port, self.n = port, n
        self.socks: list[socket.socket] = []
        self.closed_by_server = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.setblocking(False)
        return sock

    def __enter__(self):
        self.idle = [self._connect() for _ in range(self.n)]
        self.slow = [[self._connect(), 0] for _ in range(self.n)]
        self.thread.start()
        return self

    def _run(self):
        while not self.stop.wait(1.0):
            for entry in self.slow:
                sock, sent = entry
                try:
                    sock.recv(4096)  # anything (a 408, or the close) means the server let it go
                    raise ConnectionError
                except BlockingIOError:
                    pass
                except OSError:  # answered 408 and closed (server.request_timeout): reconnect
                    self.closed_by_server += 1
                    sock.close()
                    entry[0], entry[1] = self._connect(), 0
                    continue
                if sent < len(self.REQUEST) - 1:
                    try:
                        sock.send(self.REQUEST[sent:sent + 1])
                        entry[1] += 1
                    except OSError:
                        pass
            for i, sock in enumerate(self.idle):
                try:
                    sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                self.closed_by_server += 1
                sock.close()
                self.idle[i] = self._connect()

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        for sock in self.idle + [entry[0] for entry in self.slow]:
            sock.close()


def health_latencies(port: int, stop_at: float) -> list[float]:
    """GET /api/v1/health twice a second until stop_at: what a load balancer would see."""
    took = []
    request = f"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    while time.time() < stop_at:
        start = time.perf_counter()
        try:
            status, _ = exchange(port, request)
            took.append(time.perf_counter() - start if status == 200 else float("inf"))
        except OSError:
            took.append(float("inf"))
        time.sleep(0.5)
    return took


def slow_phase(server: "Server", args, db_url: str, label: str) -> None:
    """The same load while 2 x --slow-clients slow and idle connections are open."""
    with SlowClients(server.port, args.slow_clients) as slow:
        time.sleep(2)  # every slow connection has been accepted and has sent something
        stop_at = time.time() + args.seconds
        health: list[float] = []
        probe = threading.Thread(target=lambda: health.extend(health_latencies(server.port, stop_at)))
        probe.start()
        stats, wall = run_load(server.port, args.seconds, args.suggest_clients, args.submit_clients,
                               args.max_requests, args.max_requests)
        probe.join()
    report(f"{label} + {args.slow_clients} idle + {args.slow_clients} slow", stats, wall, db_url)
    worst = max(health) * 1000 if health else float("nan")
    print(f"{'':<28} health during it: {len(health)} probes, worst {worst:.0f} ms; "
          f"slow connections closed by the server (408) and reopened: {slow.closed_by_server}", flush=True)


def stored_numbers(db_url: str) -> list[str]:
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(text("SELECT number FROM complaints"))]
    engine.dispose()
    return rows


def check_exactly_once(acknowledged: list[str], stored: list[str]) -> tuple[int, int]:
    """(lost, duplicated): acknowledged but missing, and numbers stored more than once."""
    lost = len(set(acknowledged) - set(stored))
    duplicated = len(stored) - len(set(stored))
    return lost, duplicated


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def report(label: str, stats: Stats, wall: float, db_url: str) -> dict:
    lost, dup = check_exactly_once(stats.acknowledged, stored_numbers(db_url))
    row = {"label": label}
    for kind in ("suggest", "submit"):
        lat = stats.latencies[kind]
        row[kind] = {"rps": round(len(lat) / wall, 1), "p50_ms": round(pct(lat, 50), 1),
                     "p99_ms": round(pct(lat, 99), 1), "ok": len(lat), "errors": stats.errors[kind]}
    row.update(acknowledged=len(stats.acknowledged), lost=lost, duplicated=dup)
    s, b = row["suggest"], row["submit"]
    print(f"{label:<28} suggest {s['rps']:>6}/s p50 {s['p50_ms']:>6} ms p99 {s['p99_ms']:>6} ms err {s['errors']} | "
          f"submit {b['rps']:>6}/s p50 {b['p50_ms']:>6} ms p99 {b['p99_ms']:>6} ms err {b['errors']} | "
          f"acknowledged {row['acknowledged']} lost {lost} duplicated {dup}", flush=True)
    return row


def _cpu_seconds(wanted) -> float:
    """CPU seconds (user + system) used so far by the processes for which wanted(pid, comm, pgrp) holds."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, _, tail = f.read().rpartition(")")
        except OSError:  # the process ended meanwhile
            continue
        fields = tail.split()
        if wanted(int(pid), head.partition("(")[2], int(fields[2])):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def request_costs(server: Server, seconds: float, suggest_clients: int, submit_clients: int) -> dict:
    """CPU per request of each kind alone: the server's (master and workers) and PostgreSQL's.

    Throughput depends on the day's machine speed; these costs say why a
    mixed run reaches what it reaches: at c_s ms per suggestion and c_b per
    submission, N suggestions and M submissions a second need N*c_s + M*c_b
    ms of CPU per second, and the machine has 2,000 (less the load generator).
    """
    group = server.proc.pid  # kb serve runs in its own process group (start_new_session)
    mine = lambda pid, comm, pgrp: pgrp == group  # noqa: E731
    postgres = lambda pid, comm, pgrp: comm == "postgres"  # noqa: E731
    costs: dict = {"acknowledged": []}
    for kind, clients in (("suggest", (suggest_clients, 0)), ("submit", (0, submit_clients))):
        server0, pg0 = _cpu_seconds(mine), _cpu_seconds(postgres)
        stats, _ = run_load(server.port, seconds, *clients, 10**6, 10**6)
        costs["acknowledged"] += stats.acknowledged
        done = len(stats.latencies[kind])
        if done:
            costs[kind] = {"server_ms": (_cpu_seconds(mine) - server0) / done * 1000,
                           "postgres_ms": (_cpu_seconds(postgres) - pg0) / done * 1000}
    return costs


def report_costs(costs: dict) -> None:
    if "suggest" not in costs or "submit" not in costs:
        return
    s, b = costs["suggest"], costs["submit"]
    need = 300 * (s["server_ms"] + s["postgres_ms"]) + 100 * (b["server_ms"] + b["postgres_ms"])
    print(f"{'':<28} CPU per request alone: suggest {s['server_ms']:.2f} ms server"
          f" + {s['postgres_ms']:.2f} ms PostgreSQL | submit {b['server_ms']:.2f} ms server"
          f" + {b['postgres_ms']:.2f} ms PostgreSQL", flush=True)
    print(f"{'':<28} 300 suggest/s + 100 submissions/s would need {need:,.0f} ms of CPU per second"
          f" (2 cores: 2,000, less the load generator)", flush=True)


def machine_reference() -> float:
    """Seconds for a plain Python loop: this machine's speed today (about 1 s on a normal day here).

    Load figures are only comparable between runs with a similar reference;
    benchmarks/RESULTS.md gives it beside every figure.
    """
    start = time.perf_counter()
    sum(range(10**8))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--kb", type=Path, help="kb.yml of an already built knowledge base (default: build the sample)")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--suggest-clients", type=int, default=8)
    ap.add_argument("--submit-clients", type=int, default=3)
    ap.add_argument("--max-requests", type=int, default=20000, help="per kind")
    ap.add_argument("--slow-clients", type=int, default=50,
                    help="then the load again with this many idle and as many 1-byte-a-second connections (0: skip)")
    ap.add_argument("--cost-seconds", type=float, default=5,
                    help="then each kind alone for this long, to measure CPU per request (0: skip)")
    args = ap.parse_args()
    print(f"machine reference: sum(range(10**8)) took {machine_reference():.2f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="kb-load-") as tmp:
        tmp = Path(tmp)
        kb_yml = args.kb or build_sample(tmp)
        label_kb = args.kb.parent.name if args.kb else "sample"
        for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
            db_url, drop = new_database(kind, tmp)
            server = Server(kb_yml, db_url, args.workers)
            try:
                stats, wall = run_load(server.port, args.seconds, args.suggest_clients, args.submit_clients,
                                       args.max_requests, args.max_requests)
                label = f"{kind}, {args.workers} workers, {label_kb}"
                report(label, stats, wall, db_url)
                if args.slow_clients > 0:
                    slow_phase(server, args, db_url, label)
                if args.cost_seconds > 0 and Path("/proc/self/stat").exists():
                    costs = request_costs(server, args.cost_seconds, args.suggest_clients, args.submit_clients)
                    report_costs(costs)
                    lost, dup = check_exactly_once(stats.acknowledged + costs["acknowledged"],
                                                   stored_numbers(db_url))
                    print(f"{'':<28} all {len(stats.acknowledged) + len(costs['acknowledged'])} acknowledged "
                          f"in the run: lost {lost} duplicated {dup}", flush=True)
            finally:
                server.stop()
                drop()


if __name__ == "__main__":
    main()
