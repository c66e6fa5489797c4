"""The order-changing search against the local search it starts from, on the shared suites.

Gap % is (objective - stored reference) / reference, the reference being each entry's proven
optimum or best known schedule (``hard`` objective). Beside them: shared-learned, and the order
search seeded with shared-learned's schedule as well (``shared-learned-search``). Run: ``python bench/order_search.py
[suite ...]`` (default shared-k8-v1 shared-k64-v1 shared-k256-v1); writes ``bench/results/order_search.md``.

``python bench/order_search.py --deadlines`` writes ``bench/results/order_search_deadlines.md``:
on mixed-generator scenarios (K = 12 and 16, seeds 5,400,000..11, deadlines and budgets that
bind), how many schedules keep every constraint and at what total delay, for the weights of
the deadlines' excess in the search's key while one is broken
(:data:`partopt.shared.solvers.orders.EXCESS_WEIGHT`; 0 is the objective alone), at 2,000
moves per task.
"""

from __future__ import annotations

import statistics
import time

from _common import RESULTS, bench_parser, header

import partopt
from partopt.bench.suites import load_suite
from partopt.objective import Objective
from partopt.shared.generators import SHARED_MIX
from partopt.shared.solvers import orders

SOLVERS = ("shared-local-search", "shared-learned", "shared-order-search", "shared-learned-search")
#: The --deadlines run: weights of the excess compared, task counts, seeds and moves per task.
WEIGHTS = (0.0, 3.0, 10.0, 30.0, 100.0)
DEADLINE_KS = (12, 16)
DEADLINE_SEEDS = range(5_400_000, 5_400_012)
DEADLINE_MOVES = 2_000


def run(solver: str, instance) -> partopt.Result:
    """One row's answer, seed 0."""
    return partopt.solve(instance, solver, seed=0)


def main(suites: list[str]) -> None:
    lines = [
        header("Order-changing search against the local search"),
        "",
        "Gap % against each entry's stored reference (`hard` objective; proven optima at K = 8,",
        "best known schedules beyond; a negative gap is a new best known). `shared-order-search` at",
        "its default effort, seed 0, from the local search's schedule; `shared-learned-search` adds",
        "shared-learned's schedule to its starts (its time includes shared-learned's).",
        "",
        "| suite | solver | entries | mean gap % | max gap % | entries below the reference | mean s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in suites:
        entries = load_suite(name).entries
        gaps: dict[str, list[float]] = {s: [] for s in SOLVERS}
        times: dict[str, list[float]] = {s: [] for s in SOLVERS}
        for entry in entries:
            reference = entry.reference["hard"]["objective"]
            for solver in SOLVERS:
                begin = time.perf_counter()
                result = run(solver, entry.instance)
                times[solver].append(time.perf_counter() - begin)
                gaps[solver].append(100 * (result.objective / reference - 1))
            print(name, entry.id, *(f"{gaps[s][-1]:.3f}" for s in SOLVERS), flush=True)
        for solver in SOLVERS:
            below = sum(g < -1e-9 for g in gaps[solver])
            lines.append(
                f"| {name} | {solver} | {len(entries)} | {statistics.mean(gaps[solver]):.3f} | "
                f"{max(gaps[solver]):.3f} | {below} | {statistics.mean(times[solver]):.2f} |"
            )
    out = RESULTS / "order_search.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


def deadlines() -> None:
    """The --deadlines table (the module docstring)."""
    found: dict[float, list[tuple[bool, float]]] = {w: [] for w in WEIGHTS}
    default = orders.EXCESS_WEIGHT
    try:
        for k in DEADLINE_KS:
            for seed in DEADLINE_SEEDS:
                sc = partopt.generate("shared", seed=seed, **{**SHARED_MIX, "num_tasks": k, "mix": True})
                for weight in WEIGHTS:
                    orders.EXCESS_WEIGHT = weight
                    out = orders.solve_shared_order_search(sc, Objective("hard"), seed=0, moves_per_task=DEADLINE_MOVES)
                    ev = partopt.evaluate(sc, out.placement, start_s=out.start_s)
                    found[weight].append((ev.feasible, ev.total_delay))
                print(k, seed, *(f"{int(found[w][-1][0])}:{found[w][-1][1]:.4f}" for w in WEIGHTS), flush=True)
    finally:
        orders.EXCESS_WEIGHT = default
    base = found[0.0]
    lines = [
        header("Order search where deadlines bind: the weight of their excess"),
        "",
        f"Mixed-generator scenarios, K = {' and '.join(map(str, DEADLINE_KS))}, seeds "
        f"{DEADLINE_SEEDS.start:,}..{DEADLINE_SEEDS.stop - 1:,} ({len(base)} in all), `hard` objective,",
        f"{DEADLINE_MOVES:,} moves per task, seed 0. *feasible*: schedules keeping every deadline and",
        "budget; *delay ratio*: geometric mean of the total delay over weight 0's, on the",
        f"scenarios both answer feasibly. The default weight is {default:g}.",
        "",
        "| weight of the excess | feasible | delay ratio to weight 0 | on |",
        "|---|---|---|---|",
    ]
    for weight in WEIGHTS:
        both = [v / b for (f, v), (fb, b) in zip(found[weight], base) if f and fb]
        ratio = statistics.geometric_mean(both) if both else float("nan")
        feasible = sum(f for f, _ in found[weight])
        lines.append(f"| {weight:g} | {feasible}/{len(base)} | {ratio:.4f} | {len(both)} |")
    out = RESULTS / "order_search_deadlines.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    ap = bench_parser(__doc__)
    ap.add_argument("suites", nargs="*", default=["shared-k8-v1", "shared-k64-v1", "shared-k256-v1"], help="suites")
    ap.add_argument("--deadlines", action="store_true", help="the excess weights' table on the mixed generator")
    args = ap.parse_args()
    if args.deadlines:
        deadlines()
    else:
        main(args.suites)
