"""Progress on stderr for long work: a counting line (suites, benchmarks, training) and the
live incumbent and bound of an exact search (:func:`watching`, :class:`SearchLine`)."""

from __future__ import annotations

import math
import sys
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, TextIO

__all__ = ["Progress", "SearchLine", "current_watcher", "is_watched", "report_search", "watching"]


class Progress:
    """Prints ``label: k/total ...`` on stderr at most every ``every`` seconds (and at the end).

    On a terminal the line redraws in place; elsewhere (logs, CI) each update is its own line.
    """

    def __init__(self, label: str, total: int, every: float = 1.0, enabled: bool = True):
        self.label, self.total, self.every, self.enabled = label, total, every, enabled
        self.start = time.perf_counter()
        self.last = -float("inf")
        self.tty = sys.stderr.isatty()
        if enabled and total > 0:  # a first line at once: long work shows it has started
            self._show(0, "", 0.0)

    def update(self, done: int, note: str = "") -> None:
        """Report ``done`` of ``total`` finished, with an optional note."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self.last < self.every:
            return
        self.last = now
        self._show(done, note, now - self.start)

    def _show(self, done: int, note: str, elapsed: float) -> None:
        eta = f"ETA {elapsed / done * (self.total - done):.0f} s" if done > 0 else "ETA unknown yet"
        line = f"{self.label}: {done}/{self.total} {note}".rstrip() + f" [{elapsed:.0f} s, {eta}]"
        end = "" if self.tty and done < self.total else "\n"
        print(("\r" if self.tty else "") + line, end=end, file=sys.stderr, flush=True)


#: Who watches a running exact search (the CLI's live line), if anyone: ``fn(solver, incumbent, bound)``.
_WATCHER: ContextVar[Callable[[str, float, float], None] | None] = ContextVar("partopt_watcher", default=None)


def report_search(solver: str, incumbent: float, bound: float) -> None:
    """Tell whoever watches (see :func:`watching`) an exact search's best objective so far and
    its proven lower bound (both in the objective's units, s; inf / -inf when there is none
    yet). Costs nothing when nobody watches."""
    watcher = _WATCHER.get()
    if watcher is not None:
        watcher(solver, float(incumbent), float(bound))


def current_watcher() -> Callable[[str, float, float], None] | None:
    """The watcher of the calling context, or None. A solver whose callbacks run on threads of
    its own (CP-SAT's search workers, which start with an empty context and so see no watcher)
    takes it here and calls it from them."""
    return _WATCHER.get()


def is_watched() -> bool:
    """Whether a watcher is set: a solver skips the work of reporting (e.g. a callback) otherwise."""
    return _WATCHER.get() is not None


@contextmanager
def watching(watcher: Callable[[str, float, float], None] | None) -> Iterator[None]:
    """Within the block, exact searches report their incumbent and bound to ``watcher`` (None:
    to nobody, e.g. around the sub-problems a solver solves for its own bounds)."""
    token = _WATCHER.set(watcher)
    try:
        yield
    finally:
        _WATCHER.reset(token)


class SearchLine:
    """A watcher that prints ``solver: incumbent X s, bound Y s, gap Z% [t s]`` on stderr at most
    every ``every`` seconds, the best incumbent and bound seen across the solvers of a run (which
    may report from several threads at once: the default shared-edge solver runs two)."""

    def __init__(self, every: float = 1.0, stream: TextIO | None = None):
        self.every, self.stream = every, stream
        self.lock = threading.Lock()
        self.start = time.perf_counter()
        self.last = -float("inf")
        self.incumbent, self.bound = math.inf, -math.inf

    def __call__(self, solver: str, incumbent: float, bound: float) -> None:
        with self.lock:
            self.incumbent, self.bound = min(self.incumbent, incumbent), max(self.bound, bound)
            now = time.perf_counter()
            if now - self.last < self.every:
                return
            self.last = now
            line = f"  {solver}: {self.describe()} [{now - self.start:.0f} s]"
        print(line, file=self.stream or sys.stderr, flush=True)

    def describe(self) -> str:
        """The incumbent, the bound and the gap between them, readable."""
        best = f"{self.incumbent:.6g} s" if math.isfinite(self.incumbent) else "none yet"
        low = f"{self.bound:.6g} s" if math.isfinite(self.bound) else "none yet"
        gap = (
            f", gap {100 * (self.incumbent - self.bound) / self.incumbent:.2f}%"
            if math.isfinite(self.incumbent) and math.isfinite(self.bound) and self.incumbent > 0
            else ""
        )
        return f"incumbent {best}, bound {low}{gap}"
