"""When the worker may spend CPU on messages that can wait: at once while the web server is quiet, sparingly
while it is busy.

`kb serve` runs its worker beside the web workers, on the same CPUs. While
a burst of submissions keeps them busy, every millisecond the worker spends
planning and sending a receipt or a team's notice is taken from the next
submission (a niced worker still took a tenth of the machine:
benchmarks/RESULTS.md, load). Those messages can wait a minute; a safety
notice or an emergency alert cannot, and the worker sends those at once
whatever this says. The web server counts as busy while its processes
(`kb serve` and its gunicorn workers) used more than `busy_above` of the
machine's CPUs over the last second; then the worker spends at most
`busy_share` of one CPU on the rest (a budget of CPU seconds that refills
with time), so they still trickle out during a long burst and drain once it
ends. Other programs on the machine do not count: a worker that yielded to
them would let its backlog grow for as long as they run.

Only the worker `kb serve` starts knows its web server (`kb worker
--beside PID`); `kb worker` processes of their own, and machines without
/proc (Linux), never count as busy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

WINDOW = 1.0  # seconds of CPU history a verdict looks at
MAX_CREDIT = 0.2  # CPU seconds a quiet spell may save up for a busy one: bounds a burst of deferred work


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process pid has used, 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> Callable[[], tuple[float, int] | None]:
    """A reader of the web server's CPU: (seconds used by process pid and its children but this one, CPUs)."""
    def read() -> tuple[float, int] | None:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        me = os.getpid()
        used = _cpu_of(pid) + sum(_cpu_of(int(c)) for c in children if int(c) != me)
        return used, os.cpu_count() or 1
    return read


def nothing() -> None:
    """No web server to yield to: never busy."""
    return None


class Pace:
    """Whether deferrable work may run now; `spent()` after each piece charges it against the budget."""

    def __init__(self, busy_above: float, busy_share: float,
                 reader: Callable[[], tuple[float, int] | None] = nothing,
                 clock: Callable[[], float] = time.monotonic, own: Callable[[], float] = time.process_time):
        self.busy_above, self.share = busy_above, busy_share
        self.reader, self.clock, self.own = reader, clock, own
        self._sample: tuple[float, float] | None = None  # (when, the web server's CPU seconds)
        self._busy = False
        self._credit = MAX_CREDIT
        self._at = clock()
        self._mark = own()

    def busy(self) -> bool:
        """The web server used more than busy_above of the machine's CPUs over the last WINDOW seconds."""
        now = self.clock()
        if self._sample is not None and now - self._sample[0] < WINDOW:
            return self._busy
        reading = self.reader()
        if reading is None:
            self._busy = False
            return False
        used, cpus = reading
        if self._sample is not None:
            when, used0 = self._sample
            self._busy = used - used0 >= self.busy_above * cpus * (now - when)
        self._sample = (now, used)
        return self._busy

    def allows(self) -> bool:
        """Whether a piece of deferrable work may start now (always, on a quiet machine)."""
        self._refill()
        return self.share >= 1 or not self.busy() or self._credit > 0

    def spent(self) -> None:
        """Charge the CPU used since the last call against the budget (only while the machine is busy)."""
        self._refill()
        own = self.own()
        if self._busy:
            self._credit -= own - self._mark
        self._mark = own

    def _refill(self) -> None:
        now = self.clock()
        self._credit = min(MAX_CREDIT, self._credit + (now - self._at) * self.share)
        self._at = now
