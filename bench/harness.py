"""The benchmark harness on 2 cores: serial, a local pool fed one task at a time, and the default
(which times the first tasks, keeps small work in this process and sends larger work to a pool
in chunks).

    python bench/harness.py            # -> bench/results/harness.md

Workloads: DP alone over the 200 instances of ``paper-default-v1`` (a fraction of a
millisecond per task), every chain heuristic and DP over them (a few milliseconds per
task), and a MILP backend over 60 of them (tens of milliseconds each).
Each variant writes no rows file; times are wall-clock for the whole run.
"""

from __future__ import annotations

import time

from _common import RESULTS, bench_parser, header

import partopt
from partopt.bench.harness import CHUNK_S, POOL_MIN_S, PROBE_TASKS
from partopt.execution import process_pool

FAST = ["dp", "greedy", "apdi", "rpdi", "all-device", "all-edge", "single-split", "local-search"]
WORKLOADS = [
    ("DP alone, 200 instances", ["dp"], 200, {}),
    ("chain heuristics + DP, 200 instances", FAST, 200, {}),
    ("MILP (milp-pulp, CBC), 60 instances", ["milp-pulp"], 60, {}),
]


def timed(solvers, limit, **kwargs) -> float:
    start = time.perf_counter()
    partopt.benchmark("paper-default-v1", solvers, limit=limit, progress=False, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    lines = [
        header("The benchmark harness: serial, pool and the default"),
        "",
        "| workload | serial (s) | pool of 2, one task a submission (s) | default (s) | pool / serial | "
        "default / serial |",
        "|---|---|---|---|---|---|",
    ]
    for label, solvers, limit, _ in WORKLOADS:
        timed(solvers, min(limit, 20), jobs=1)  # warm-up: imports and first calls are not measured
        serial = timed(solvers, limit, jobs=1)
        with process_pool(2) as pool:
            pooled = timed(solvers, limit, executor=pool)
        default = timed(solvers, limit)
        lines.append(
            f"| {label} | {serial:.2f} | {pooled:.2f} | {default:.2f} | x{pooled / serial:.2f} | "
            f"x{default / serial:.2f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        f"The default times its first {PROBE_TASKS} tasks in this process; when the work left is "
        f"estimated under {POOL_MIN_S:g} s it stays here (a pool would spend more on starting workers and "
        "moving instances than it saves), otherwise it starts a pool of one worker per core, each with one "
        f"torch/BLAS thread, and sends it chunks of about {CHUNK_S * 1e3:g} ms of work (at least four per "
        "worker).",
        "",
    ]
    (RESULTS / "harness.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / 'harness.md'}")


if __name__ == "__main__":
    bench_parser(__doc__).parse_args()
    main()
