"""intake_api/pace.py: when the worker may spend CPU on messages that can wait.

The web server's CPU readings are given (as /proc would give them), with a
clock and the worker's own CPU time the test moves by hand, so each verdict
is checked against the numbers that produced it.
"""

from __future__ import annotations

import pytest

import os
import subprocess
import sys
import time

from intake_api.pace import MAX_CREDIT, Pace, server_cpu


class Machine:
    """Two CPUs: `work(web, own)` advances the clock a second with that much CPU used by the web server and by us."""

    def __init__(self) -> None:
        self.now, self.working, self.mine = 100.0, 0.0, 0.0

    def work(self, others: float, own: float = 0.0, seconds: float = 1.0) -> None:
        self.now += seconds
        self.working += others
        self.mine += own

    def pace(self, busy_above: float = 0.5, share: float = 0.05) -> Pace:
        return Pace(busy_above, share, reader=lambda: (self.working, 2), clock=lambda: self.now,
                    own=lambda: self.mine)


def test_a_quiet_machine_is_never_busy_and_never_limits():
    m = Machine()
    pace = m.pace()
    for _ in range(5):
        m.work(others=0.9, own=1.0)  # the worker itself uses a whole CPU: that is not the web server's load
        assert not pace.busy() and pace.allows()
        pace.spent()


def test_a_busy_machine_limits_deferred_work_to_the_share_of_one_cpu():
    m = Machine()
    pace = m.pace(share=0.05)
    pace.busy()
    m.work(others=1.9)
    assert pace.busy() and pace.allows()  # a little saved up for such a moment
    m.work(others=1.7, own=MAX_CREDIT + 0.1)
    pace.spent()
    assert not pace.allows()
    runs = 0
    for _ in range(20):  # twenty busy seconds: about 0.05 CPU seconds each may go on deferred work
        m.work(others=1.9)
        if pace.allows():
            runs += 1
            m.work(others=0, own=0.05, seconds=0)
            pace.spent()
    assert 16 <= runs <= 19
    m.work(others=0.2)
    assert not pace.busy() and pace.allows()  # the burst is over: the backlog drains at full speed


def test_a_verdict_holds_for_a_second():
    m = Machine()
    pace = m.pace()
    pace.busy()
    m.work(others=0.95, seconds=0.5)
    assert not pace.busy()  # not yet a second of history: the previous verdict (not busy)
    m.work(others=0.95, seconds=0.5)
    assert pace.busy()


@pytest.mark.parametrize(("others", "busy"), [(0.9, False), (1.1, True)])
def test_the_threshold_is_a_share_of_all_cpus(others, busy):
    m = Machine()
    pace = m.pace(busy_above=0.5)
    pace.busy()
    m.work(others=others)
    assert pace.busy() is busy


def test_without_readings_the_machine_is_quiet():
    pace = Pace(0.8, 0.05, reader=lambda: None)
    assert not pace.busy() and pace.allows()


def test_the_web_servers_cpu_is_its_own_and_its_childrens():
    """This test process stands for `kb serve`: a child that spins counts, the process asking does not."""
    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        pytest.skip("no /proc children list here")
    read = server_cpu(os.getpid())
    before, cpus = read()
    child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"])
    try:
        time.sleep(1.2)
        during, _ = read()
    finally:
        child.wait()
    assert cpus >= 1 and during - before >= 0.2  # the child's spinning (on a busy machine, a part of it)
    assert server_cpu(2 ** 22 + 7)() is None  # no such process: nothing to yield to
