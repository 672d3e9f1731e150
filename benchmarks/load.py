"""Load benchmark: concurrent submitters and suggest queries against `kb serve` on 127.0.0.1.

Bounded in requests and time; stops by itself. Prints throughput and p50/p99
latency per kind, then checks that every acknowledged complaint is in the
database exactly once.

    python benchmarks/load.py                      # SQLite and PostgreSQL, sample knowledge base
    python benchmarks/load.py --db postgresql --seconds 20 --suggest-clients 6 --submit-clients 3
    python benchmarks/load.py --slow-clients 0     # without the slow-client phase
    python benchmarks/load.py --notifications on --repeat 3   # three runs, notifications on only

With --notifications both (the default) each database gets the same load
twice, on a fresh database each time: first with notifications off (a
kb.yml copy with `notifications.enabled: false`), then on (the copy with
`enabled: true`, and KB_SMTP_HOST, KB_SMTP_PORT and KB_SMTP_SECURITY pointing `kb serve`'s embedded worker at an
aiosmtpd server this process runs on loopback). Both runs have a staff
account with an e-mail in the team the complaints go to, and every
complaint leaves a notify_email, so with notifications on each submission
queues a receipt and the team's notice in its transaction while the worker
delivers meanwhile. Printed: submissions/s off and on and the ratio, then
what the SMTP server received by the end of the load and once the outbox
drained, against the outbox's rows, and the CPU the web server and the
notification worker used. The cost phase (--cost-seconds) follows the last
run of each setting; with notifications on it waits for the outbox to drain,
so a submission's CPU includes the delivery of its e-mails. benchmarks/
notify_drain.py times the worker alone.

The slow-client phase runs the same load again while --slow-clients idle
connections and as many sending one byte a second are open, and times
`GET /api/v1/health` meanwhile (intake_api/buffered_worker.py says why they
cost no worker thread).

Rate limits are switched off for the run (KB_RATELIMIT_ENABLED=0): one
loopback address would otherwise be throttled as a single client.

The `kb` processes started here import this checkout (its folder is put
first on their PYTHONPATH), whichever checkout the virtualenv was installed from.
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
KB = str(Path(sys.executable).with_name("kb"))
STAFF_PASSWORD = "load-bench-password"
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


def child_env(**changes: str) -> dict[str, str]:
    """The environment of a `kb` process started here: this checkout first on its path, plus changes."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, NO_MKDOCS_2_WARNING="1", **changes)


def new_database(kind: str, folder: Path) -> tuple[str, callable]:
    """A fresh database URL and a function that removes it."""
    if kind == "sqlite":
        return f"sqlite:///{folder / f'load-{uuid.uuid4().hex[:8]}.db'}", lambda: None
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
    subprocess.run([KB, "--config", str(folder / "kb.yml"), "build"], check=True, capture_output=True,
                   env=child_env())
    return folder / "kb.yml"


def notifications_config(kb_yml: Path, folder: Path, enabled: bool) -> Path:
    """A copy of kb.yml with notifications.enabled set (paths made absolute: same content, index and keys)."""
    import yaml

    from kb_builder.config import Paths, load_config
    data = yaml.safe_load(kb_yml.read_text(encoding="utf-8"))
    built = load_config(kb_yml, environ={})
    data["paths"] = {name: str(built.path(name)) for name in Paths.model_fields}
    data["notifications"] = {**(data.get("notifications") or {}), "enabled": enabled}
    path = folder / f"kb-notifications-{'on' if enabled else 'off'}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def load_teams(kb_yml: Path) -> list[str]:
    """The teams the load's complaints are dispatched to (category facilities, the texts of TEXTS)."""
    from intake_api.dispatch import dispatch
    from kb_builder.config import load_config
    process = load_config(kb_yml, environ={}).process
    return sorted({dispatch(process, "facilities", text).team for text in TEXTS})


def create_staff(kb_yml: Path, db_url: str, teams: list[str]) -> str:
    """`kb staff create` of one handler in these teams, with an e-mail address; returns the address."""
    address = "load-team@example.org"
    made = subprocess.run([KB, "staff", "create", "loadbench", *(f"--team={t}" for t in teams), "--email", address],
                          env=child_env(KB_CONFIG=str(kb_yml), KB_DATABASE_URL=db_url,
                                        KB_STAFF_PASSWORD=STAFF_PASSWORD),
                          capture_output=True, text=True)
    if made.returncode != 0:
        raise RuntimeError(f"kb staff create failed: {made.stderr or made.stdout}")
    return address


class Server:
    """`kb serve` in its own process group (so a crash test can kill -9 all of it)."""

    def __init__(self, kb_yml: Path, db_url: str, workers: int = 2, rate_limits: bool = False,
                 env: dict[str, str] | None = None):
        self.port = free_port()
        env = child_env(KB_CONFIG=str(kb_yml), KB_DATABASE_URL=db_url,
                        KB_RATELIMIT_ENABLED="1" if rate_limits else "0", **(env or {}))
        self.log = tempfile.TemporaryFile()
        # With its embedded notification worker (`kb worker`, a child in the same process group).
        self.proc = subprocess.Popen([KB, "serve", "--port", str(self.port), "--workers", str(workers)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 240  # a 2-core machine shared with other work took over 60 s to start it
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

    def log_text(self) -> str:
        """What the server (and its notification worker) logged so far; pread leaves the writers' offset alone."""
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def wait_for_worker(self, timeout: float = 60) -> float:
        """Seconds until the embedded `kb worker` said it is delivering (it starts after the web workers)."""
        start = time.perf_counter()
        while "delivering over" not in self.log_text():
            if self.proc.poll() is not None or time.perf_counter() - start > timeout:
                raise RuntimeError("the notification worker did not start:\n" + self.log_text()[-3000:])
            time.sleep(0.2)
        return time.perf_counter() - start

    def worker_pid(self) -> int | None:
        """The embedded notification worker's process (`... kb_builder.cli ... worker`, child of kb serve)."""
        for pid in os.listdir("/proc") if Path("/proc/self/stat").exists() else []:
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                parent = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == self.proc.pid and b"worker" in args:
                return int(pid)
        return None

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of (the web server: master and its workers, the notification worker)."""
        if not Path("/proc/self/stat").exists():
            return float("nan"), float("nan")
        group, worker = self.proc.pid, self.worker_pid()
        web = _cpu_seconds(lambda pid, comm, pgrp: pgrp == group and pid != worker)
        return web, _cpu_seconds(lambda pid, comm, pgrp: pid == worker)

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
    """A named complaint (no identity fields) that asks for progress by e-mail: with notifications on, a receipt."""
    return json.dumps({"category": "facilities", "description": f"{random.choice(TEXTS)}（第 {i} 号）",
                       "request": "请尽快处理", "occurred_at": "2026-11-20", "location": "A 栋",
                       "disclosure": "named", "notify_email": f"load-{i}@example.org"}, ensure_ascii=False).encode()


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


def slow_phase(server: Server, args, db_url: str, label: str) -> None:
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


def query(db_url: str, sql: str) -> list[tuple]:
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def backend_pids(db_url: str) -> set[int]:
    """The PostgreSQL server processes serving this database (the load's, not other databases' on the machine)."""
    if not db_url.startswith("postgresql"):
        return set()
    return {pid for pid, in query(db_url, "SELECT pid FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")}


def outbox_counts(db_url: str) -> dict[str, int]:
    """Outbox rows per status (pending, sent, dead), and "unplanned": changes the worker has still to plan."""
    counts = dict(query(db_url, "SELECT status, count(*) FROM outbox GROUP BY status"))
    unplanned = query(db_url, "SELECT count(*) FROM notify_pending")[0][0]
    return {**counts, "unplanned": unplanned} if unplanned else counts


def notifications_tally(sink, db_url: str) -> str:
    """What the SMTP server received against the outbox: rows per status and per kind, Message-IDs."""
    counts = outbox_counts(db_url)
    kinds = dict(query(db_url, "SELECT kind, count(*) FROM outbox GROUP BY kind"))
    ids = sink.message_ids() if sink is not None else []
    return (f"SMTP received {len(ids)} ({len(set(ids))} distinct Message-IDs) | outbox {sum(counts.values())} rows "
            f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none'}; "
            f"{', '.join(f'{k} {v}' for k, v in sorted(kinds.items())) or 'no kinds'})")


def wait_for_drain(sink, db_url: str, timeout: float) -> float | None:
    """Seconds until every change is planned, every outbox row sent and the SMTP server holds as many; None on timeout."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        counts = outbox_counts(db_url)
        total = sum(counts.values())  # unplanned rows count: they are not drained
        if counts.get("sent", 0) == total and sink.count() >= total:
            return time.perf_counter() - start
        time.sleep(0.25)
    return None


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


def request_costs(server: Server, seconds: float, suggest_clients: int, submit_clients: int,
                  settle=None, db_url: str = "") -> dict:
    """CPU per request of each kind alone: the web server's (master and workers), the notification worker's
    and PostgreSQL's.

    Throughput depends on the day's machine speed; these costs say why a
    mixed run reaches what it reaches: at c_s ms per suggestion and c_b per
    submission, N suggestions and M submissions a second need N*c_s + M*c_b
    ms of CPU per second, and the machine has 2,000 (less the load generator).
    `settle`, when given, is called after each kind's load and before the
    CPU is read: with notifications on it waits until the outbox is drained,
    so a submission's cost includes the delivery of its messages. PostgreSQL's
    CPU is that of the processes serving db_url (the server's and the
    worker's pooled connections; other databases on the machine left out),
    0 on SQLite or when db_url is not given.
    """
    def postgres() -> float:
        pids = backend_pids(db_url) if db_url else set()
        return _cpu_seconds(lambda pid, comm, pgrp: pid in pids)
    costs: dict = {"acknowledged": []}
    for kind, clients in (("suggest", (suggest_clients, 0)), ("submit", (0, submit_clients))):
        (web0, worker0), pg0 = server.cpu(), postgres()
        stats, _ = run_load(server.port, seconds, *clients, 10**6, 10**6)
        if settle is not None:
            settle()
        costs["acknowledged"] += stats.acknowledged
        done = len(stats.latencies[kind])
        if done:
            web, worker = server.cpu()
            costs[kind] = {"server_ms": (web - web0) / done * 1000, "worker_ms": (worker - worker0) / done * 1000,
                           "postgres_ms": (postgres() - pg0) / done * 1000}
    return costs


def report_costs(costs: dict) -> None:
    if "suggest" not in costs or "submit" not in costs:
        return
    s, b = costs["suggest"], costs["submit"]
    need = sum(n * (c["server_ms"] + c["worker_ms"] + c["postgres_ms"]) for n, c in ((300, s), (100, b)))
    print(f"{'':<28} CPU per request alone: suggest {s['server_ms']:.2f} ms server"
          f" + {s['postgres_ms']:.2f} ms PostgreSQL | submit {b['server_ms']:.2f} ms server"
          f" + {b['worker_ms']:.2f} ms notification worker + {b['postgres_ms']:.2f} ms PostgreSQL", flush=True)
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


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def one_run(kind: str, notify: str, kb_yml: Path, tmp: Path, args, teams: list[str], slow: bool,
            costs: bool) -> dict:
    """A fresh database, `kb serve` with notifications on or off, the load; then the slow-client and cost phases
    when asked."""
    from smtp_sink import SmtpSink
    db_url, drop = new_database(kind, tmp)
    config = notifications_config(kb_yml, tmp, enabled=notify == "on")
    sink = SmtpSink().start() if notify == "on" else None
    server = None
    reference = machine_reference()  # before each run: the machine is often shared
    try:
        create_staff(config, db_url, teams)  # both runs: the same accounts, the same database size
        server = Server(config, db_url, args.workers, env=sink.env() if sink else None)
        server.wait_for_worker()  # both runs: the load starts once the worker's start-up is over
        cpu0 = server.cpu()
        stats, wall = run_load(server.port, args.seconds, args.suggest_clients, args.submit_clients,
                               args.max_requests, args.max_requests)
        cpu = [(after - before) / wall for after, before in zip(server.cpu(), cpu0)]
        label = f"{kind}, notifications {notify}"
        row = report(label, stats, wall, db_url)
        row["web_cpu"], row["worker_cpu"], row["reference"] = *cpu, reference
        print(f"{'':<28} reference {reference:.2f} s; CPU during the load: web server {cpu[0]:.2f} s a second, "
              f"notification worker {cpu[1]:.2f} s a second (2 cores: 2.00)", flush=True)
        if sink is not None:
            print(f"{'':<28} at the end of the load: {notifications_tally(sink, db_url)}", flush=True)
            took = wait_for_drain(sink, db_url, args.drain_seconds)
            row["drained_after"] = took
            print(f"{'':<28} " + (f"outbox drained {took:.1f} s after the load" if took is not None else
                                   f"outbox NOT drained within {args.drain_seconds:.0f} s after the load") +
                  f": {notifications_tally(sink, db_url)}", flush=True)
            ids = sink.message_ids()
            row["smtp_received"], row["smtp_distinct"] = len(ids), len(set(ids))
            row["outbox_rows"] = sum(outbox_counts(db_url).values())
        else:
            print(f"{'':<28} outbox rows: {sum(outbox_counts(db_url).values())}", flush=True)
        if slow and args.slow_clients > 0:
            slow_phase(server, args, db_url, label)
            if sink is not None:
                wait_for_drain(sink, db_url, args.drain_seconds)  # the cost phase starts with an empty outbox
        if costs and args.cost_seconds > 0 and Path("/proc/self/stat").exists():
            settle = (lambda: wait_for_drain(sink, db_url, args.drain_seconds)) if sink is not None else None
            spent = request_costs(server, args.cost_seconds, args.suggest_clients, args.submit_clients, settle,
                                  db_url=db_url)
            report_costs(spent)
            row["costs"] = spent
            lost, dup = check_exactly_once(stats.acknowledged + spent["acknowledged"], stored_numbers(db_url))
            print(f"{'':<28} all {len(stats.acknowledged) + len(spent['acknowledged'])} acknowledged "
                  f"in the run: lost {lost} duplicated {dup}", flush=True)
            if sink is not None:
                print(f"{'':<28} at the end: {notifications_tally(sink, db_url)}", flush=True)
        return row
    finally:
        if server is not None:
            server.stop()
        if sink is not None:
            sink.stop()
        drop()


def summary(kind: str, rows: dict[str, list[dict]]) -> None:
    """Submissions/s (and suggestions/s) off and on, medians of the runs, and the ratio on/off."""
    med = {mode: {k: median([r[k]["rps"] for r in runs]) for k in ("submit", "suggest")}
           for mode, runs in rows.items() if runs}
    for mode, runs in rows.items():
        if runs:
            subs = ", ".join(str(r["submit"]["rps"]) for r in runs)
            sugg = ", ".join(str(r["suggest"]["rps"]) for r in runs)
            worker = ", ".join(f"{r['worker_cpu']:.2f}" for r in runs)
            print(f"{kind}: notifications {mode}: submissions/s {subs} (median {med[mode]['submit']:.1f}); "
                  f"suggest/s {sugg} (median {med[mode]['suggest']:.1f}); notification worker CPU s/s {worker}",
                  flush=True)
    if "on" in med and "off" in med:
        print(f"{kind}: ratio on/off of the medians: submissions {med['on']['submit'] / med['off']['submit']:.2f}, "
              f"suggest {med['on']['suggest'] / med['off']['suggest']:.2f}", flush=True)
    for mode, runs in rows.items():
        for r in runs:
            if "submit" in r.get("costs", {}):
                c = r["costs"]["submit"]
                print(f"{kind}: notifications {mode}: CPU per submission alone {c['server_ms']:.1f} ms web server "
                      f"+ {c['worker_ms']:.1f} ms notification worker + {c['postgres_ms']:.1f} ms PostgreSQL",
                      flush=True)
    for r in rows.get("on", []):
        print(f"{kind}: notifications on: SMTP received {r['smtp_received']} messages "
              f"({r['smtp_distinct']} distinct Message-IDs) of {r['outbox_rows']} outbox rows "
              f"for {r['acknowledged']} submissions", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--kb", type=Path, help="kb.yml of an already built knowledge base (default: build the sample)")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--suggest-clients", type=int, default=8)
    ap.add_argument("--submit-clients", type=int, default=3)
    ap.add_argument("--max-requests", type=int, default=20000, help="per kind")
    ap.add_argument("--notifications", choices=["on", "off", "both"], default="both",
                    help="off: notifications.enabled false; on: enabled, e-mailed to a local SMTP server; "
                         "both: off then on, each on a fresh database")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each setting per database (interleaved)")
    ap.add_argument("--drain-seconds", type=float, default=120,
                    help="with notifications on: how long to wait after the load for the outbox to drain")
    ap.add_argument("--slow-clients", type=int, default=50,
                    help="then the load again with this many idle and as many 1-byte-a-second connections (0: skip)")
    ap.add_argument("--cost-seconds", type=float, default=5,
                    help="then each kind alone for this long, to measure CPU per request (0: skip)")
    args = ap.parse_args()
    print(f"machine reference: sum(range(10**8)) took {machine_reference():.2f} s", flush=True)
    modes = ["off", "on"] if args.notifications == "both" else [args.notifications]
    with tempfile.TemporaryDirectory(prefix="kb-load-") as tmp:
        tmp = Path(tmp)
        kb_yml = args.kb or build_sample(tmp)
        label_kb = args.kb.parent.name if args.kb else "sample"
        teams = load_teams(kb_yml)
        print(f"{label_kb} knowledge base, {args.workers} workers; the load's complaints go to "
              f"{', '.join(teams)}: one staff account there with an e-mail", flush=True)
        runs = [mode for _ in range(args.repeat) for mode in modes]
        for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
            rows: dict[str, list[dict]] = {mode: [] for mode in modes}
            for i, mode in enumerate(runs):
                # The cost phase follows the last run of each setting; the slow-client phase the last run only.
                rows[mode].append(one_run(kind, mode, kb_yml, tmp, args, teams, slow=i == len(runs) - 1,
                                          costs=i >= len(runs) - len(modes)))
            summary(kind, rows)


if __name__ == "__main__":
    main()
