"""Where the shared edge's lower bound stands at K = 6 and 8 (M = 6, N = 4), and what does not move it.

    pip install -e ".[bench]"                # scipy, for the LP over subset bounds
    python bench/shared_bounds.py            # about 30 minutes on 2 cores -> results/shared_bounds.md

On the speed bench's seed-0 scenarios (``shared_edge.py speed``: VGG16 in 6 blocks, 4
servers, 2 devices, 60 tasks/s) this records, beside the best schedule found:

1. the work relaxation's bound (the LP the exact solvers start from);
2. the chain-schedule LP's bound (:mod:`partopt.shared.solvers.columns`) on a 1 ms and a
   0.5 ms grid, run to convergence or :data:`CHAIN_LIMIT` seconds (the local search's
   schedule gives its horizon and first columns);
3. the bound of an LP over proven subset bounds: every run of 1..4 tasks consecutive in
   release order solved exactly as a scenario of its own (dropping tasks only frees the
   edge, so sum_{k in S} D_k >= OPT(S) in every schedule), then min sum_k D_k over those
   rows: how much of the gap the interactions of a few tasks explain;
4. CP-SAT's bound after 60 s under several search settings (the default portfolio, LP-heavy
   subsolvers with a lower-bound tree search, an objective lower-bound search, the
   symmetry rule). From K = 6 on, CP-SAT keeps a fifth of its limit for the chain-schedule
   LP and reports the better bound.

Rows are kept in ``results/shared_bounds.csv`` as they finish (``--fresh`` starts over).
"""

from __future__ import annotations

import numpy as np
from _common import RESULTS, CsvRows, bench_parser, header
from scipy.optimize import linprog

import partopt

BASE = {"networks": ("vgg16",), "num_servers": 4, "num_devices": 2, "release_rate": 60}
SEED = 2_000_000
LIMIT = 60.0
CHAIN_LIMIT = 300.0
CHAIN_GRIDS_S = (1e-3, 0.5e-3)
WINDOW = 4
SETTINGS = {
    "default": {},
    "max_lp + lb_tree_search": {"params": {"subsolvers": ["max_lp", "lb_tree_search"]}},
    "default_lp + objective_lb_search": {"params": {"subsolvers": ["default_lp", "objective_lb_search"]}},
    "symmetry=True": {"symmetry": True},
}
FIELDS = ["K", "what", "objective", "bound", "seconds"]


def _parse(r: dict) -> dict:
    r["K"] = int(r["K"])
    for key in ("objective", "bound", "seconds"):
        r[key] = float(r[key]) if r[key] not in ("", "None") else None
    return r


def subset_bound(sc: partopt.Scenario) -> tuple[float, float]:
    """(LP bound over the proven bounds of runs of 1..WINDOW consecutive tasks, seconds spent)."""
    import time

    begin = time.perf_counter()
    order = sorted(range(sc.num_tasks), key=lambda k: sc.tasks[k].release_s)
    rows, rhs = [], []
    for size in range(1, WINDOW + 1):
        for i in range(sc.num_tasks - size + 1):
            members = order[i : i + size]
            sub = sc.replace(tasks=tuple(sc.tasks[k] for k in members))
            res = partopt.solve(sub, "shared-cpsat", time_limit=20)
            row = np.zeros(sc.num_tasks)
            row[members] = -1.0
            rows.append(row)
            rhs.append(-res.lower_bound)
    lp = linprog(np.ones(sc.num_tasks), A_ub=np.array(rows), b_ub=np.array(rhs), bounds=[(0, None)] * sc.num_tasks)
    return float(lp.fun), time.perf_counter() - begin


def chain_row(sc: partopt.Scenario, grid_s: float) -> dict:
    """The chain-schedule LP's bound on ``grid_s`` (converged, or after CHAIN_LIMIT seconds)."""
    from partopt.shared.solvers.columns import chain_lp_bound
    from partopt.shared.solvers.start import exact_start

    start = exact_start(sc, partopt.Objective("hard"), work=False)
    best = partopt.solve(sc, "shared-local-search")
    found = chain_lp_bound(
        sc,
        best.objective,
        start.delay_low,
        grid_s=grid_s,
        time_limit=CHAIN_LIMIT,
        incumbent=(best.placement, best.evaluation.start_s),
    )
    assert found is not None, "the chain-schedule LP needs HiGHS (pip install -e .[milp])"
    return {"objective": "", "bound": found.bound_s, "seconds": found.seconds}


def main() -> None:
    ap = bench_parser(__doc__)
    ap.add_argument("--fresh", action="store_true", help="drop stored rows and rerun")
    args = ap.parse_args()
    from partopt.shared.solvers.start import exact_start

    rows = CsvRows(RESULTS / "shared_bounds.csv", FIELDS, args.fresh, _parse)
    done = {(r["K"], r["what"]) for r in rows.rows}
    for k in (6, 8):
        sc = partopt.generate("shared", seed=SEED, **{**BASE, "num_tasks": k})
        if (k, "work relaxation") not in done:
            start = exact_start(sc, partopt.Objective("hard"))
            rows.append({"K": k, "what": "work relaxation", "objective": "", "bound": start.work_bound, "seconds": ""})
        for grid in CHAIN_GRIDS_S:
            label = f"chain-schedule LP, {grid * 1e3:g} ms grid"
            if (k, label) not in done:
                rows.append({"K": k, "what": label, **chain_row(sc, grid)})
        if (k, f"subset LP (runs of 1..{WINDOW})") not in done:
            bound, seconds = subset_bound(sc)
            rows.append(
                {
                    "K": k,
                    "what": f"subset LP (runs of 1..{WINDOW})",
                    "objective": "",
                    "bound": bound,
                    "seconds": seconds,
                }
            )
        for label, options in SETTINGS.items():
            if (k, f"CP-SAT {label}") in done:
                continue
            res = partopt.solve(sc, "shared-cpsat", time_limit=LIMIT, **options)
            rows.append(
                {
                    "K": k,
                    "what": f"CP-SAT {label}",
                    "objective": res.objective,
                    "bound": res.lower_bound,
                    "seconds": res.runtime,
                }
            )
        print(f"K = {k} done", flush=True)
    stored = CsvRows(RESULTS / "shared_bounds.csv", FIELDS, False, _parse).rows
    lines = [
        header("Shared edge: where the lower bound stands at K = 6 and 8"),
        "",
        f"Seed {SEED} of the speed bench (VGG16 in 6 blocks, N = 4, 2 devices, 60 tasks/s), 2 cores. "
        f'"gap %" is (best schedule found here - bound) / best. CP-SAT runs {LIMIT:g} s each. '
        "Rows: `shared_bounds.csv`.",
        "",
    ]
    for k in (6, 8):
        sub = [r for r in stored if r["K"] == k]
        best = min(r["objective"] for r in sub if r["objective"] is not None)
        lines += [
            f"## K = {k} (best schedule found: {best:.4f} s)",
            "",
            "| bound from | bound s | gap % | objective s | seconds |",
            "|---|---|---|---|---|",
        ]
        for r in sub:
            objective = f"{r['objective']:.4f}" if r["objective"] is not None else "-"
            seconds = f"{r['seconds']:.1f}" if r["seconds"] is not None else "-"
            lines.append(
                f"| {r['what']} | {r['bound']:.4f} | {100 * (best - r['bound']) / best:.1f} | {objective} | {seconds} |"
            )
        lines.append("")
    (RESULTS / "shared_bounds.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / 'shared_bounds.md'}")


if __name__ == "__main__":
    main()
