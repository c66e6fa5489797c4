"""The order-changing search against the local search it starts from, on the shared suites.

Gap % is (objective - stored reference) / reference, the reference being each entry's proven
optimum or best known schedule (``hard`` objective). Beside them: shared-learned, and the order
search seeded with shared-learned's schedule as well (``shared-learned-search``). Run: ``python bench/order_search.py
[suite ...]`` (default shared-k8-v1 shared-k64-v1 shared-k256-v1); writes ``bench/results/order_search.md``.
"""

from __future__ import annotations

import statistics
import time

from _common import RESULTS, bench_parser, header

import partopt
from partopt.bench.suites import load_suite

SOLVERS = ("shared-local-search", "shared-learned", "shared-order-search", "shared-learned-search")


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


if __name__ == "__main__":
    ap = bench_parser(__doc__)
    ap.add_argument("suites", nargs="*", default=["shared-k8-v1", "shared-k64-v1", "shared-k256-v1"], help="suites")
    main(ap.parse_args().suites)
