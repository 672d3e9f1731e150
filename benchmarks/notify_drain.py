"""Notification drain: how fast `kb worker` processes e-mail a full outbox to a local SMTP server.

    python benchmarks/notify_drain.py                       # 1,000 messages; 1 and 2 workers; SQLite and PostgreSQL
    python benchmarks/notify_drain.py --db sqlite --workers 2 --messages 300

Each run starts from a fresh, migrated database (SQLite in a temporary
folder, or a scratch PostgreSQL database created beside KB_TEST_PG_URL's and
dropped afterwards) and queues --messages e-mails directly with
`outbox.put`: Planned rows of kind new_complaint for staff, their context
from `notices.sample_context` with a number of their own, in one
transaction, as a burst of submissions would leave them. No complaint is
registered, so the time is the delivery's alone. Then --workers `kb worker`
processes (real subprocesses, the product's defaults: batches of 20 claimed
at a time, sent over one SMTP connection a batch) deliver them to an aiosmtpd
server this process runs on 127.0.0.1, and the clock runs from their start
until the last message is accepted.

Printed per run: total seconds and messages/s (start-up included), the
start-up (until the first message arrived) and the rate after it, how the
messages were shared between the workers, and the checks: exactly
--messages messages arrived, with as many distinct Message-IDs, which are
the outbox rows' own, and every row is sent, with no failed attempt.

The `kb` processes import this checkout (see benchmarks/load.py, child_env).
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from load import KB, PG_ADMIN, ROOT, _cpu_seconds, backend_pids, child_env, machine_reference, new_database, query
from smtp_sink import SmtpSink

SENDER = "kb-drain@example.org"


def drain_config(folder: Path) -> Path:
    """The project's kb.yml with its content read in place and the database (and identity keys) in folder."""
    import yaml

    from kb_builder.config import Paths, load_config
    data = yaml.safe_load((ROOT / "kb.yml").read_text(encoding="utf-8"))
    project = load_config(ROOT / "kb.yml", environ={})
    paths = {name: str(project.path(name)) for name in Paths.model_fields}
    paths.update(database=str(folder / "instance" / "complaints.db"), index=str(folder / "build" / "index"),
                 site=str(folder / "site"))
    data["paths"] = paths
    # busy_share 1: the workers deliver at full speed however busy the (shared) machine is; this times delivery,
    # and pace.py's budget for a machine the web server saturates is load.py's subject.
    data["notifications"] = {**(data.get("notifications") or {}), "enabled": True, "busy_share": 1}
    path = folder / "kb.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def queue(kb_yml: Path, db_url: str, n: int) -> None:
    """n staff e-mails of kind new_complaint in the outbox, written in one transaction."""
    from sqlalchemy.orm import Session

    from intake_api import notices, outbox
    from intake_api.db import prepare
    from kb_builder.config import load_config
    config = load_config(kb_yml, overrides={"database_url": db_url}, environ={})
    engine = prepare(config)  # migrated, identity keys made (recipients are stored encrypted)
    base = config.notifications.base_url.rstrip("/")
    planned = []
    for i in range(n):
        number = f"TS-2026-{i + 1:06d}"
        context = {**notices.sample_context("new_complaint", "zh-Hans"), "number": number,
                   "link": f"{base}/staff/complaints/{number}"}
        planned.append(outbox.Planned(f"drain:{i}:new_complaint:u{i % 10}", "new_complaint", "staff", "email",
                                      f"handler{i % 10}@example.org", "zh-Hans", context))
    try:
        with Session(engine) as session:
            outbox.put(session, planned)  # its count is -1 a row on PostgreSQL (psycopg's rowcount): counted below
            session.commit()
    finally:
        engine.dispose()
    added = query(db_url, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0]
    if added != n:
        raise RuntimeError(f"queued {added} messages, not {n}")


def expected_ids(db_url: str) -> set[str]:
    """The Message-ID each outbox row is sent with (outbox.delivery_id, @ the sender's domain)."""
    import hashlib
    domain = SENDER.rpartition("@")[2]
    return {f"<kb-{i}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}@{domain}>"
            for i, key in query(db_url, "SELECT id, dedupe_key FROM outbox")}


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu(db_url: str) -> float:
    """CPU seconds so far of the PostgreSQL processes serving this database (0 on SQLite or without /proc).

    The workers' connections are opened after they start, so their whole life
    counts; read before the workers stop (their processes end with them).
    """
    if not Path("/proc/self/stat").exists():
        return 0.0
    pids = backend_pids(db_url)
    return _cpu_seconds(lambda pid, comm, pgrp: pid in pids)


def one_run(kind: str, workers: int, args, tmp: Path) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"{kind}-{workers}-", dir=tmp))
    kb_yml = drain_config(folder)
    db_url, drop = new_database(kind, folder)
    procs: list[subprocess.Popen] = []
    logs = []
    reference = machine_reference()  # before each run: the machine is often shared
    try:
        queue(kb_yml, db_url, args.messages)
        with SmtpSink() as sink:
            env = child_env(KB_CONFIG=str(kb_yml), KB_DATABASE_URL=db_url, **sink.env(SENDER))
            cpu0 = (_cpu(resource.RUSAGE_SELF), postgres_cpu(db_url))
            start = time.perf_counter()
            for i in range(workers):
                log = open(folder / f"worker-{i}.log", "wb")  # closed in the finally below
                logs.append(log)
                procs.append(subprocess.Popen([KB, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT))
            ready = None  # when every worker said it is delivering
            deadline = start + args.timeout
            while time.perf_counter() < deadline:
                if ready is None and all("delivering over" in (folder / f"worker-{i}.log").read_text(errors="replace")
                                         for i in range(workers)):
                    ready = time.perf_counter() - start
                if sink.count() >= args.messages:
                    break
                if any(p.poll() is not None for p in procs):
                    raise RuntimeError("a worker stopped:\n" + "\n".join(
                        (folder / f"worker-{i}.log").read_text(errors="replace")[-2000:] for i in range(workers)))
                time.sleep(0.02)
            times = sink.times()
            # Whatever a worker would send twice arrives now; the last commit of "sent" too.
            time.sleep(3)
            pids = {p.pid for p in procs}
            cpu = [_cpu_seconds(lambda pid, comm, pgrp: pid in pids) if Path("/proc/self/stat").exists() else 0.0]
            cpu += [after - before for after, before in zip((_cpu(resource.RUSAGE_SELF), postgres_cpu(db_url)), cpu0)]
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            ids = sink.message_ids()
        status = dict(query(db_url, "SELECT status, count(*) FROM outbox GROUP BY status"))
        failed = query(db_url, "SELECT count(*) FROM outbox_attempts WHERE NOT ok")[0][0]
        shares = sorted(n for _, n in query(db_url, "SELECT worker, count(*) FROM outbox_attempts WHERE ok "
                                                    "GROUP BY worker"))
        expected = expected_ids(db_url)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for log in logs:
            log.close()
        drop()
    done = len(times) >= args.messages
    total = times[args.messages - 1] - start if done else float("nan")
    first = times[0] - start if times else float("nan")
    after_first = (args.messages - 1) / (times[args.messages - 1] - times[0]) if done else float("nan")
    row = {"db": kind, "workers": workers, "reference": reference, "total_s": total, "rate": args.messages / total if done else 0.0,
           "ready_s": ready, "first_s": first, "rate_after_first": after_first, "received": len(ids),
           "distinct": len(set(ids)), "theirs": set(ids) == expected, "status": status, "failed": failed,
           "shares": shares, "worker_ms": cpu[0] / args.messages * 1000, "sink_ms": cpu[1] / args.messages * 1000,
           "postgres_ms": cpu[2] / args.messages * 1000}
    ok = (len(ids) == args.messages == len(set(ids)) and row["theirs"] and status == {"sent": args.messages}
          and failed == 0)
    row["ok"] = ok
    print(f"{kind:<10} {workers} worker{'s' if workers > 1 else ' '}: {args.messages} messages in {total:6.1f} s "
          f"= {row['rate']:5.1f} messages/s | workers ready after {ready if ready is not None else float('nan'):.1f} s, "
          f"first message at {first:.1f} s, then {after_first:5.1f} messages/s | per worker {shares} | "
          f"received {len(ids)}, distinct Message-IDs {len(set(ids))}"
          f"{', all the outbox rows' if row['theirs'] else ', NOT those of the outbox rows'}, outbox {status}, "
          f"failed attempts {failed} | {'OK' if ok else 'CHECK FAILED'}", flush=True)
    print(f"{'':<19} reference {reference:.2f} s; CPU per message: workers {row['worker_ms']:.1f} ms (start-up included), SMTP server and "
          f"this process {row['sink_ms']:.1f} ms" + (f", PostgreSQL {row['postgres_ms']:.1f} ms"
                                                     if kind != "sqlite"
                                                     else ""), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--workers", default="1,2", help="comma-separated numbers of `kb worker` processes")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each setting (interleaved)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds a run may take before it counts as failed")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    print(f"machine reference: sum(range(10**8)) took {machine_reference():.2f} s", flush=True)
    print(f"PostgreSQL: scratch databases beside {PG_ADMIN}" if args.db != "sqlite" else "SQLite only", flush=True)
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kb-drain-") as tmp:
        for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
            for _ in range(args.repeat):
                for workers in counts:
                    rows.append(one_run(kind, workers, args, Path(tmp)))
    print(f"\nsummary ({args.messages} messages each, {time.perf_counter() - started:.0f} s in all):")
    for kind in dict.fromkeys(r["db"] for r in rows):
        for workers in counts:
            mine = [r for r in rows if r["db"] == kind and r["workers"] == workers]
            print(f"  {kind:<10} {workers} worker{'s' if workers > 1 else ' '}: "
                  f"total s {', '.join(format(r['total_s'], '.1f') for r in mine)}; "
                  f"messages/s {', '.join(format(r['rate'], '.1f') for r in mine)} "
                  f"(median {statistics.median(r['rate'] for r in mine):.1f}); "
                  f"checks {'all OK' if all(r['ok'] for r in mine) else 'FAILED'}; "
                  f"reference {', '.join(format(r['reference'], '.2f') for r in mine)} s")
    if not all(r["ok"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    main()
