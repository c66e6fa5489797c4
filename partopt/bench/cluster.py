"""Running partopt's parallel jobs on a Dask cluster (``pip install 'partopt[dask]'``).

    with partopt.bench.cluster.connect("tcp://scheduler:8786") as executor:   # or "local:2"
        partopt.benchmark("shared-k8-v1", ["shared-cpsat"], executor=executor)

A task is a whole unit of work (an instance with its solver runs, or one suite entry's
ground truth), sent as the instance's JSON dict; the workers import partopt and load
solvers on first use, as a local run does. Dask reschedules the tasks of a worker that
dies; :func:`partopt.execution.map_unordered` retries a task whose worker was lost
once more, then records it as failed. A real cluster: start a scheduler and workers
that have partopt installed (``dask scheduler``, ``dask worker tcp://HOST:8786``, or
dask-jobqueue on SLURM/PBS, see ``bench/results/dask.md``) and pass the scheduler's
address.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from concurrent.futures import Executor

__all__ = ["connect", "scheduler_executor"]

CONNECT_TIMEOUT_S = 10


@contextlib.contextmanager
def connect(scheduler: str) -> Iterator[Executor]:
    """A :class:`concurrent.futures.Executor` on a Dask cluster, closed on leaving the block.

    Parameters
    ----------
    scheduler : str
        ``"local:N"`` starts a cluster of N single-threaded worker processes on the
        loopback address (and stops it afterwards); ``"tcp://HOST:PORT"`` connects to a
        running scheduler, failing after 10 s when it cannot be reached.

    Raises
    ------
    ImportError
        dask.distributed is not installed (the ``dask`` extra).
    ValueError
        A malformed or unreachable address, or workers without partopt installed.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("--scheduler: a Dask cluster needs the dask extra: pip install 'partopt[dask]'") from None
    cluster = None
    if scheduler.startswith("local:"):
        count = scheduler.partition(":")[2]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--scheduler: 'local:N' needs a worker count N >= 1, got {scheduler!r}")
        cluster = LocalCluster(
            n_workers=int(count), threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
        client = Client(cluster)
    elif "://" in scheduler:
        client = _client_within(Client, scheduler, CONNECT_TIMEOUT_S)
    else:
        raise ValueError(f"--scheduler: give 'local:N' or a scheduler address like tcp://HOST:8786, got {scheduler!r}")
    try:
        # A lambda travels by value (cloudpickle), so a worker without partopt can still answer.
        probe = lambda: __import__("importlib.util").util.find_spec("partopt") is not None  # noqa: E731
        missing = [worker for worker, ok in client.run(probe).items() if not ok]
        if missing:
            raise ValueError(
                f"--scheduler: workers without partopt installed: {', '.join(missing)}; "
                "install it where the workers run"
            )
        yield client.get_executor()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _client_within(client_class, address: str, seconds: float):
    """A Dask client of ``address``, or a ValueError when none is had within ``seconds``: the
    client's own timeout does not cover a server that accepts the connection and never answers
    the handshake (an HTTP server there hung it for good), so the connection runs in a daemon
    thread, which cannot keep the process alive, under a deadline of its own."""
    import queue
    import threading

    answer: queue.Queue = queue.Queue(maxsize=1)

    def attempt():
        try:
            answer.put(("ok", client_class(address, timeout=seconds)))
        except Exception as error:  # noqa: BLE001 - handed to the caller as it is
            answer.put(("error", error))

    threading.Thread(target=attempt, name="partopt-dask-connect", daemon=True).start()
    try:
        kind, value = answer.get(timeout=seconds + 2.0)
    except queue.Empty:
        raise ValueError(
            f"--scheduler: {address} accepted the connection but did not answer as a Dask scheduler "
            f"within {seconds:g} s: not a Dask scheduler?"
        ) from None
    if kind == "error":
        raise ValueError(
            f"--scheduler: cannot reach the Dask scheduler at {address} within {seconds:g} s "
            f"({type(value).__name__}: {str(value)[:200]})"
        ) from None
    return value


def scheduler_executor(address: str | None) -> contextlib.AbstractContextManager[Executor | None]:
    """What ``--scheduler ADDRESS`` means: :func:`connect` to it, or None (work stays local)
    when no address is given; a context either way."""
    return connect(address) if address else contextlib.nullcontext(None)
