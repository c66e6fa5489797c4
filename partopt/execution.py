"""Where work runs: in this process, in local worker processes, or on any
:class:`concurrent.futures.Executor` (a Dask cluster's, see :mod:`partopt.bench.cluster`).

:func:`map_unordered` is the one loop every parallel job uses (the benchmark harness and
the suite builder): it keeps a bounded number of tasks in flight, yields each result as
it is ready, and retries a task once when its worker was lost; a task lost twice comes
back as a :class:`TaskFailure` with the reason. An exception raised by the task itself
(a bad option, a solver error) is not retried: it propagates, as in a serial run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

__all__ = [
    "LOST_WORKER_ERRORS",
    "SerialExecutor",
    "TaskFailure",
    "default_start_method",
    "end_with_parent",
    "map_unordered",
    "process_pool",
    "usable_cores",
]

#: Exceptions (by class name) that mean the worker, not the task, failed: the task is retried once.
LOST_WORKER_ERRORS = frozenset(
    {"KilledWorker", "BrokenProcessPool", "CommClosedError", "CancelledError", "FutureCancelledError", "WorkerLost"}
)


def usable_cores() -> int:
    """Cores this process may use (its CPU affinity where the platform tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class SerialExecutor(Executor):
    """Runs each task when it is submitted, in this process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(error)
        return future


def default_start_method() -> str:
    """fork where available and safe (torch not loaded in this process), else spawn."""
    if "fork" in multiprocessing.get_all_start_methods() and "torch" not in sys.modules:
        return "fork"
    return "spawn"


def end_with_parent() -> None:
    """In a worker process: one thread for torch and BLAS (the workers already share the cores),
    and ask Linux to end it when its parent dies (no orphans after a kill)."""
    os.environ["OMP_NUM_THREADS"] = "1"  # read by torch when it is first imported here
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def process_pool(jobs: int, method: str | None = None) -> ProcessPoolExecutor:
    """``jobs`` local worker processes that end with this process (fork where safe, else spawn)."""
    context = multiprocessing.get_context(method or default_start_method())
    return ProcessPoolExecutor(max(1, int(jobs)), mp_context=context, initializer=end_with_parent)


@dataclass(frozen=True)
class TaskFailure:
    """A task whose worker was lost twice: ``reason`` says how."""

    reason: str


def _lost(error: BaseException) -> bool:
    return (
        type(error).__name__ in LOST_WORKER_ERRORS
        or isinstance(error, (ConnectionError, TimeoutError))
        or _result_lost_in_relay(error)
    )


def _result_lost_in_relay(error: BaseException) -> bool:
    """Whether Dask's executor failed while relaying a lost result, not the task: when a finished
    result dies with its worker before it is gathered, ``distributed.cfexecutor`` gets an error
    record where it expects an exception and raises AttributeError ("... 'with_traceback'") from
    its own frame."""
    tb = error.__traceback__
    if not isinstance(error, AttributeError) or "with_traceback" not in str(error) or tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename.replace("\\", "/").endswith("distributed/cfexecutor.py")


def map_unordered(
    executor: Executor, fn: Callable, tasks: Iterable, *, in_flight: int = 64, retries: int = 1
) -> Iterator[tuple[Any, Any]]:
    """(task, result) for every task as soon as it is done, in any order; ``result`` is a
    :class:`TaskFailure` when the task's worker was lost ``retries`` + 1 times."""
    pending: dict[Future, tuple[Any, int]] = {}
    source = iter(tasks)
    exhausted = False
    while True:
        while not exhausted and len(pending) < max(1, in_flight):
            task = next(source, None)
            if task is None:
                exhausted = True
                break
            pending[executor.submit(fn, task)] = (task, 0)
        if not pending:
            return
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            task, attempt = pending.pop(future)
            error = future.exception()
            if error is None:
                yield task, future.result()
            elif not _lost(error):
                raise error
            elif attempt < retries:
                pending[executor.submit(fn, task)] = (task, attempt + 1)
            else:
                yield task, TaskFailure(f"worker lost {attempt + 1} times: {type(error).__name__}: {error}")
