"""A small progress line on stderr for long work (suites, benchmarks, training)."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Prints ``label: k/total ...`` on stderr at most every ``every`` seconds (and at the end).

    On a terminal the line redraws in place; elsewhere (logs, CI) each update is its own line.
    """

    def __init__(self, label: str, total: int, every: float = 1.0, enabled: bool = True):
        self.label, self.total, self.every, self.enabled = label, total, every, enabled
        self.start = time.perf_counter()
        self.last = -float("inf")
        self.tty = sys.stderr.isatty()

    def update(self, done: int, note: str = "") -> None:
        """Report ``done`` of ``total`` finished, with an optional note."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / done * (self.total - done) if done else float("nan")
        line = f"{self.label}: {done}/{self.total} {note} [{elapsed:.0f} s, ETA {eta:.0f} s]"
        end = "" if self.tty and done < self.total else "\n"
        print(("\r" if self.tty else "") + line, end=end, file=sys.stderr, flush=True)
