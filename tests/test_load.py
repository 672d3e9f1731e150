"""Small, bounded versions of the load and crash checks of benchmarks/load.py, on both databases."""

import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import load  # noqa: E402

from conftest import query_db  # noqa: E402

# Throughput and latency floors: run after the parallel part of the suite, with the machine to themselves.
pytestmark = pytest.mark.alone


def test_concurrent_load_loses_and_duplicates_nothing(built_kb, db_url):
    server = load.Server(built_kb / "kb.yml", db_url, workers=2)
    try:
        stats, wall = load.run_load(server.port, seconds=3, suggest_clients=3, submit_clients=2,
                                    max_suggest=600, max_submit=200)
    finally:
        server.stop()
    assert stats.errors == {"suggest": 0, "submit": 0}
    assert len(stats.latencies["suggest"]) > 30 and len(stats.acknowledged) > 10
    lost, duplicated = load.check_exactly_once(stats.acknowledged, load.stored_numbers(db_url))
    assert (lost, duplicated) == (0, 0)


def test_kill_9_during_load_loses_no_acknowledged_complaint(built_kb, db_url):
    server = load.Server(built_kb / "kb.yml", db_url, workers=2)
    result = {}

    def submit():
        result["stats"], _ = load.run_load(server.port, seconds=6, suggest_clients=0, submit_clients=3,
                                           max_suggest=0, max_submit=5000)

    worker = threading.Thread(target=submit)
    worker.start()
    time.sleep(2.0)
    server.kill9()  # master and workers at once, mid-request
    worker.join()
    acknowledged = result["stats"].acknowledged
    assert len(acknowledged) > 5
    assert result["stats"].errors["submit"] > 0  # requests were cut off by the crash

    restarted = load.Server(built_kb / "kb.yml", db_url, workers=2)
    try:
        stored = load.stored_numbers(db_url)
        assert load.check_exactly_once(acknowledged, stored) == (0, 0)
        # Nothing half-written: every stored complaint is complete.
        incomplete = query_db(db_url, "SELECT count(*) FROM complaints WHERE number IS NULL OR tracking_hash IS NULL "
                                      "OR description IS NULL OR assessment_due_at IS NULL OR team IS NULL")
        assert incomplete == [(0,)]
        if db_url.startswith("sqlite"):
            assert query_db(db_url, "PRAGMA integrity_check") == [("ok",)]
        # And the restarted server takes new complaints.
        stats, _ = load.run_load(restarted.port, seconds=15, suggest_clients=0, submit_clients=1,
                                 max_suggest=0, max_submit=5)  # five, however slow its first requests are
        assert len(stats.acknowledged) == 5
    finally:
        restarted.stop()
