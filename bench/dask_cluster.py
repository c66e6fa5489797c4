"""Ground truth on a Dask cluster: a shared-edge suite built locally and on a local 2-worker cluster.

    python bench/dask_cluster.py                   # -> bench/results/dask.md
    python bench/dask_cluster.py --suite shared-k8-v1 --scheduler tcp://HOST:8786

Builds the suite's ground truth into a scratch copy of the package data (the shipped
suite is not touched) once in this process and once on the cluster, checks that both
files are identical, and measures the overhead per task (a task that does nothing,
sent through the same loop).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from _common import RESULTS, bench_parser, header

import partopt
from partopt.bench.cluster import connect
from partopt.bench.suites import SUITES, build_suite
from partopt.execution import SerialExecutor, map_unordered
from partopt.profiles import data_dir


def _nothing(task: int) -> int:
    return task


def per_task_overhead(executor, count: int = 400) -> float:
    """Seconds per task of a no-op through :func:`map_unordered` on ``executor``."""
    start = time.perf_counter()
    for _ in map_unordered(executor, _nothing, range(count)):
        pass
    return (time.perf_counter() - start) / count


def warm_up() -> None:
    """Compile the exact solvers' kernels once (numba caches them on disk for the workers too)."""
    scenario = partopt.generate("shared", seed=0, num_tasks=2)
    for solver in ("shared-cpsat", "shared-bnb"):
        partopt.solve(scenario, solver, time_limit=10)


def build(name: str, executor) -> tuple[float, str]:
    """(seconds, file text) of building suite ``name`` into a scratch data folder."""
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copytree(data_dir(), Path(scratch) / "data")
        (Path(scratch) / "data" / "suites" / f"{name}.jsonl").unlink(missing_ok=True)
        os.environ["PARTOPT_DATA"] = str(Path(scratch) / "data")
        try:
            start = time.perf_counter()
            path = build_suite(name, executor=executor)
            return time.perf_counter() - start, path.read_text()
        finally:
            del os.environ["PARTOPT_DATA"]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--suite", default="shared-k2-v1", help="a suite to build (default shared-k2-v1)")
    parser.add_argument("--scheduler", default="local:2", help="Dask scheduler (default local:2)")
    args = parser.parse_args()
    spec = SUITES[args.suite]
    tasks = len(spec.points) * spec.count
    warm_up()
    local_s, local_text = build(args.suite, SerialExecutor())
    local_overhead = per_task_overhead(SerialExecutor())
    start = time.perf_counter()
    with connect(args.scheduler) as executor:
        startup = time.perf_counter() - start
        cluster_s, cluster_text = build(args.suite, executor)
        cluster_overhead = per_task_overhead(executor)
    same = local_text == cluster_text
    lines = [
        header(f"Ground truth on a Dask cluster: {args.suite}"),
        "",
        f"{tasks} entries, each one task (the scenario as its JSON dict; on the worker, the suite's reference: "
        "CP-SAT and, up to 16 tasks, the branch and bound with the suite's time limit, then the heuristics "
        "that compete for the best known). The solvers' compiled kernels are built before either timing.",
        "",
        "| where | build (s) | per entry (s) | overhead per task (ms) |",
        "|---|---|---|---|",
        f"| this process | {local_s:.1f} | {local_s / tasks:.3f} | {1e3 * local_overhead:.3f} |",
        f"| Dask `{args.scheduler}` | {cluster_s:.1f} | {cluster_s / tasks:.3f} | {1e3 * cluster_overhead:.2f} |",
        "",
        f"Cluster start-up (scheduler, workers, the check that they import partopt): {startup:.1f} s. "
        f"Speed-up {local_s / cluster_s:.2f}x. The two suite files are "
        + ("identical." if same else "DIFFERENT (see the rows)."),
        "",
        "## On a real cluster",
        "",
        "Start a scheduler and workers where partopt is installed, then pass the scheduler's address:",
        "",
        "```bash",
        "dask scheduler                                   # on one machine: prints tcp://HOST:8786",
        "dask worker tcp://HOST:8786 --nthreads 1 --nworkers 8   # on each machine, in the project's environment",
        "partopt suite build shared-k8-v1 --scheduler tcp://HOST:8786",
        "partopt bench shared-k8-v1 --solvers shared-cpsat earliest-finish --scheduler tcp://HOST:8786",
        "```",
        "",
        "On SLURM or PBS, dask-jobqueue starts the workers as jobs:",
        "",
        "```python",
        "from dask_jobqueue import SLURMCluster",
        "from distributed import Client",
        "import partopt",
        "",
        'cluster = SLURMCluster(cores=1, processes=1, memory="4GB", walltime="02:00:00")',
        "cluster.scale(jobs=32)",
        "with Client(cluster) as client:",
        "    partopt.benchmark(",
        '        "shared-k64-v1", ["shared-cpsat"], time_limit=60, executor=client.get_executor(), '
        'out="shared-k64.csv"',
        "    )",
        "```",
        "",
        "A task whose worker dies is rescheduled by Dask, then retried once more by partopt; a task lost twice "
        "is recorded as failed with the reason (its rows carry status `failed`), and a rerun of the same "
        "command keeps every finished row.",
        "",
    ]
    (RESULTS / "dask.md").write_text("\n".join(lines))
    print("\n".join(lines[5:12]))
    print(f"wrote {RESULTS / 'dask.md'}")


if __name__ == "__main__":
    main()
