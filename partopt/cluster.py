"""Running partopt's parallel jobs on a Dask cluster (``pip install 'partopt[dask]'``).

    with partopt.cluster.connect("tcp://scheduler:8786") as executor:   # or "local:2"
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
from concurrent.futures import Executor
from typing import Iterator

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
        cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0")
        client = Client(cluster)
    elif "://" in scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as error:
            raise ValueError(f"--scheduler: cannot reach the Dask scheduler at {scheduler} "
                             f"within {CONNECT_TIMEOUT_S} s ({type(error).__name__})") from None
    else:
        raise ValueError(f"--scheduler: give 'local:N' or a scheduler address like tcp://HOST:8786, got {scheduler!r}")
    try:
        # A lambda travels by value (cloudpickle), so a worker without partopt can still answer.
        probe = lambda: __import__("importlib.util").util.find_spec("partopt") is not None  # noqa: E731
        missing = [worker for worker, ok in client.run(probe).items() if not ok]
        if missing:
            raise ValueError(f"--scheduler: workers without partopt installed: {', '.join(missing)}; "
                             "install it where the workers run")
        yield client.get_executor()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def scheduler_executor(address: str | None) -> contextlib.AbstractContextManager[Executor | None]:
    """What ``--scheduler ADDRESS`` means: :func:`connect` to it, or None (work stays local)
    when no address is given; a context either way."""
    return connect(address) if address else contextlib.nullcontext(None)
