"""The cost of the front door: ``partopt.solve(inst, "dp")`` against the solver it wraps.

    python bench/front_door.py              # writes bench/results/front_door.md

For each shape, single calls on fresh copies of one instance (nothing cached between
calls), interleaved so that machine noise hits every variant alike; each variant's time
is the median over ``--calls`` calls. Variants:

- ``solve``: ``partopt.solve(inst, "dp")``: checks, the solver, pricing by ``evaluate``,
  the Result;
- ``solve_dp``: the DP solver function itself (cost tables and the shortest path), the
  kernel that ``solve`` wraps;
- ``recursion``: the shortest path alone on tables built beforehand (for reference).

Target (issue: a lean front door): ``solve`` within 2x of ``solve_dp`` at M = 6, N = 4.
"""

from __future__ import annotations

import argparse
import statistics
import time

import partopt
from partopt.solvers.dp import chain_dp, solve_dp

from _common import RESULTS, header

SHAPES = [(6, 4), (24, 4), (100, 9)]


def measure(m: int, n: int, calls: int) -> dict[str, float]:
    """Median single-call seconds of each variant on fresh copies of one (M, N) instance."""
    inst = partopt.generate("random", seed=m * 100 + n, num_blocks=m, num_servers=n, deadline_prob=0.5,
                            deadline_tightness=1.5)
    goal = partopt.Objective()
    step = goal.step_cost(inst.costs)
    variants = {
        "solve": lambda fresh: partopt.solve(fresh, "dp"),
        "solve_dp": lambda fresh: solve_dp(fresh, goal),
        "recursion": lambda fresh: chain_dp(step),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(calls):
        for name, fn in variants.items():
            fresh = inst.replace()
            start = time.perf_counter()
            fn(fresh)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="single calls per variant and shape")
    args = parser.parse_args()
    lines = [header("The front door: solve(inst, 'dp') against the DP solver it wraps"), "",
             "Median single-call time on fresh instances (µs), variants interleaved; "
             "`solve / solve_dp` is the front door's factor.", "",
             "| M | N | solve | solve_dp | recursion alone | solve / solve_dp |", "|---|---|---|---|---|---|"]
    ratios = {}
    for m, n in SHAPES:
        t = measure(m, n, args.calls)
        ratios[(m, n)] = t["solve"] / t["solve_dp"]
        print(f"M={m} N={n}: " + ", ".join(f"{k} {v * 1e6:.1f} us" for k, v in t.items()), flush=True)
        lines.append(f"| {m} | {n} | {t['solve'] * 1e6:.1f} | {t['solve_dp'] * 1e6:.1f} | "
                     f"{t['recursion'] * 1e6:.1f} | {ratios[(m, n)]:.2f} |")
    met = ratios[(6, 4)] <= 2.0
    lines += ["", f"Target at M = 6, N = 4: solve within 2x of solve_dp: x{ratios[(6, 4)]:.2f}, "
              + ("met." if met else "not met."), ""]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "front_door.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / 'front_door.md'}")


if __name__ == "__main__":
    main()
