"""When the worker may spend CPU on messages that can wait: at once on a quiet machine, sparingly on a busy one.

`kb serve` runs its worker beside the web workers, on the same CPUs. While
a burst of submissions keeps them busy, every millisecond the worker spends
planning and sending a receipt or a team's notice is taken from the next
submission (a niced worker still took a tenth of the machine:
benchmarks/RESULTS.md, load). Those messages can wait a minute; a safety
notice or an emergency alert cannot, and the worker sends those at once
whatever this says. The machine counts as busy while other processes used
more than `busy_above` of its CPU time over the last second; then the
worker spends at most `busy_share` of one CPU on the rest (a budget of
CPU seconds that refills with time), so they still trickle out during a
long burst and drain once it ends.

Linux reads the machine's CPU time from /proc/stat; where there is none
the machine never counts as busy (the worker behaves as it did before).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

WINDOW = 1.0  # seconds of CPU history a verdict looks at
MAX_CREDIT = 0.2  # CPU seconds a quiet spell may save up for a busy one: bounds a burst of deferred work


def machine_cpu() -> tuple[float, int] | None:
    """(CPU seconds all CPUs spent working since boot, number of CPUs), or None where /proc/stat is missing."""
    try:
        line = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return None
    ticks = [int(v) for v in line.split()[1:]]
    working = sum(ticks[:8]) - ticks[3] - ticks[4]  # all but idle and iowait (guest time is counted in user)
    return working / os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1


class Pace:
    """Whether deferrable work may run now; `spent()` after each piece charges it against the budget."""

    def __init__(self, busy_above: float, busy_share: float,
                 reader: Callable[[], tuple[float, int] | None] = machine_cpu,
                 clock: Callable[[], float] = time.monotonic, own: Callable[[], float] = time.process_time):
        self.busy_above, self.share = busy_above, busy_share
        self.reader, self.clock, self.own = reader, clock, own
        self._sample: tuple[float, float, float] | None = None  # (when, machine CPU, own CPU)
        self._busy = False
        self._credit = MAX_CREDIT
        self._at = clock()
        self._mark = own()

    def busy(self) -> bool:
        """Other processes used more than busy_above of the machine over the last WINDOW seconds."""
        now = self.clock()
        if self._sample is not None and now - self._sample[0] < WINDOW:
            return self._busy
        reading = self.reader()
        if reading is None:
            return False
        working, cpus = reading
        own = self.own()
        if self._sample is not None:
            when, working0, own0 = self._sample
            others = (working - working0) - (own - own0)  # this worker's own CPU does not make the machine busy
            self._busy = others >= self.busy_above * cpus * (now - when)
        self._sample = (now, working, own)
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
