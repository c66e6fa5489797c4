"""The benchmark and the suite builder on a real local Dask cluster (scheduler and two workers on
the loopback address, started and stopped here): the same rows as a local run, also when a
worker is killed mid-run."""

import os
import signal
import threading
import time

import pytest

import partopt
from partopt.execution import SerialExecutor, TaskFailure, map_unordered

distributed = pytest.importorskip("distributed")

SOLVERS = ["dp", "greedy", "brute-force"]


def _comparable(rows):
    """Rows without their run times, in a fixed order."""
    keep = [{k: v for k, v in r.items() if k != "runtime"} for r in rows]
    return sorted(keep, key=lambda r: (r["instance"], r["solver"], r["seed"]))


@pytest.fixture(scope="module")
def local_rows():
    return _comparable(partopt.benchmark("paper-default-v1", SOLVERS, jobs=1, limit=200, progress=False).rows)


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        ) as cl,
        distributed.Client(cl) as client,
    ):
        yield cl, client


def test_same_rows_as_a_local_run(cluster, local_rows, tmp_path):
    _, client = cluster
    out = tmp_path / "rows.csv"
    run = partopt.benchmark(
        "paper-default-v1", SOLVERS, limit=200, progress=False, out=out, executor=client.get_executor()
    )
    assert _comparable(run.rows) == local_rows
    again = partopt.benchmark(
        "paper-default-v1", SOLVERS, limit=200, progress=False, out=out, executor=client.get_executor()
    )
    assert again.new_rows == 0 and _comparable(again.rows) == local_rows  # resumed, nothing twice


def test_same_rows_after_a_worker_is_killed(cluster, local_rows, tmp_path):
    _, client = cluster
    out = tmp_path / "rows.csv"
    victim = sorted(client.run(os.getpid).values())[0]  # one worker's process id
    killed = threading.Event()

    def kill_when_started():
        while not out.exists() or out.stat().st_size < 2000:  # some rows written: the run is under way
            time.sleep(0.01)
        os.kill(victim, signal.SIGKILL)
        killed.set()

    threading.Thread(target=kill_when_started, daemon=True).start()
    run = partopt.benchmark(
        "paper-default-v1", SOLVERS, limit=200, progress=False, out=out, executor=client.get_executor()
    )
    assert killed.wait(5)
    assert all(r["status"] != "failed" for r in run.rows)
    assert _comparable(run.rows) == local_rows
    assert _comparable(partopt.bench.harness.read_rows(out)) == local_rows  # the file: every row once
    client.wait_for_workers(2, timeout=30)  # the nanny restarts it


def test_connect_local_builds_the_same_suite(tmp_path, monkeypatch):
    """partopt.bench.cluster.connect("local:2") builds a suite's ground truth identical to the shipped one."""
    import shutil

    from partopt.bench.cluster import connect
    from partopt.bench.suites import build_suite
    from partopt.profiles import data_dir

    shipped = data_dir() / "suites" / "phone-blocks-v1.jsonl"
    shutil.copytree(data_dir(), tmp_path / "data")
    (tmp_path / "data" / "suites" / "phone-blocks-v1.jsonl").unlink()
    monkeypatch.setenv("PARTOPT_DATA", str(tmp_path / "data"))
    with connect("local:2") as executor:
        path = build_suite("phone-blocks-v1", executor=executor)
    assert path.read_text() == shipped.read_text()


def test_unreachable_scheduler_fails_fast_naming_it():
    from partopt.bench.cluster import connect

    start = time.perf_counter()
    with pytest.raises(ValueError, match="tcp://127.0.0.1:9"), connect("tcp://127.0.0.1:9"):
        pass
    assert time.perf_counter() - start < 30
    with pytest.raises(ValueError, match="local:N"), connect("local:zero"):
        pass


def test_lost_tasks_are_retried_once_then_failed():
    """map_unordered retries a task whose worker was lost, and reports a second loss as a failure;
    an error of the task itself propagates."""

    class KilledWorker(Exception):  # noqa: N818 - named as Dask's, which the harness recognizes
        pass

    calls: dict[int, int] = {}

    def flaky(n):
        calls[n] = calls.get(n, 0) + 1
        if (n == 1 and calls[n] == 1) or n == 2:
            raise KilledWorker(f"task {n}")
        if n == 3:
            raise ValueError("a bad option")
        return n * 10

    results = dict(map_unordered(SerialExecutor(), flaky, [0, 1, 2]))
    assert results[0] == 0 and results[1] == 10 and calls[1] == 2
    assert isinstance(results[2], TaskFailure) and "KilledWorker" in results[2].reason and calls[2] == 2
    with pytest.raises(ValueError, match="bad option"):
        list(map_unordered(SerialExecutor(), flaky, [3]))


def test_result_lost_while_dask_relays_it_is_retried():
    """Dask's executor, relaying a result lost with its worker, raises AttributeError from its own
    frame: that is a lost worker (retried); the same error raised by a task is the task's."""
    relay = compile(
        "raise AttributeError(\"'dict' object has no attribute 'with_traceback'\")",
        "/site-packages/distributed/cfexecutor.py",
        "exec",
    )
    calls: list[int] = []

    def lost_once(n):
        calls.append(n)
        if len(calls) == 1:
            exec(relay)
        if n == 1:
            raise AttributeError("'dict' object has no attribute 'with_traceback'")
        return n

    assert dict(map_unordered(SerialExecutor(), lost_once, [0])) == {0: 0} and calls == [0, 0]
    with pytest.raises(AttributeError):
        list(map_unordered(SerialExecutor(), lost_once, [1]))


def test_a_server_that_never_answers_the_handshake_is_not_taken_for_a_scheduler(monkeypatch):
    """A server at the address that accepts the connection but never speaks Dask (an HTTP server
    hung the client for good): refused within the timeout, naming it."""
    import socket
    import threading
    import time

    import partopt.bench.cluster as cluster

    pytest.importorskip("distributed")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    begin = time.perf_counter()
    with (
        pytest.raises(ValueError, match="not a Dask scheduler|cannot reach"),
        cluster.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}"),
    ):
        pass
    assert time.perf_counter() - begin < 30  # it returns instead of hanging (the bound is generous)
    listener.close()
