"""Shared edge: the exact solvers against K on the mixed generator, with where their time goes.

    python bench/shared_speed_mixed.py                 # about 40 minutes on 2 cores -> results/shared_speed_mixed.md
    python bench/shared_speed_mixed.py --report-only   # rewrite the report from the stored rows

The companion of ``shared_edge.py speed`` (the project's own draw: VGG16 in 6 blocks, N = 4,
2 devices, 60 tasks/s, in ``results/shared_speed.md``) on scenarios drawn by the mixed
generator (``mix=True``: 1..6 devices with their own CPUs and uplinks, busy servers, outputs
sent back, task and block deadlines and budgets that bind, four networks, N = 2..9), under the
hard objective. Every solve gets 60 s on 2 cores: the default front door (``shared-exact``),
the branch and bound alone up to 16 tasks and CP-SAT alone. For each it records, besides the
proof and the gap, the seconds spent in the heuristics that seed it (the order search), in the
LPs (the chain-schedule LP behind the priced bound and the bound CP-SAT reports) and in the
search itself (the branch and bound's tree, CP-SAT's solve). Rows are kept in
``results/shared_speed_mixed.csv`` as they finish (``--fresh`` starts over).
"""

from __future__ import annotations

import statistics

from _common import RESULTS, CsvRows, bench_parser, header, resumable_bench

import partopt
from partopt.shared.generators import SHARED_MIX

KS = (4, 6, 8, 12, 16, 32)
SEEDS = range(7_000_000, 7_000_003)
LIMIT = 60.0
SOLVERS = ("shared-exact", "shared-bnb", "shared-cpsat")
BNB_MAX_K = 16
FIELDS = [
    "tasks",
    "seed",
    "solver",
    "status",
    "objective",
    "bound",
    "seconds",
    "heuristic_s",
    "lp_s",
    "search_s",
    "proven_by",
]


def _parse(row: dict) -> dict:
    out = dict(row, tasks=int(row["tasks"]), seed=int(row["seed"]))
    for key in ("objective", "bound", "seconds", "heuristic_s", "lp_s", "search_s"):
        out[key] = float(row[key]) if row[key] not in ("", "None") else None
    return out


def shares(info: dict) -> tuple[float, float, float]:
    """(heuristic, LP, search) seconds of one solve from its ``info``: a branch and bound's order
    search, its root LP and its tree; CP-SAT's solve and the chain-schedule LP after it; the front
    door's members summed."""
    heuristic = info.get("heuristic_s", 0.0)
    lp = info.get("priced_s", 0.0) + (info.get("chain_lp") or {}).get("seconds", 0.0)
    search = info.get("tree_s", 0.0) + info.get("solve_s", 0.0)
    for member in ("first", "then"):
        if isinstance(info.get(member), dict):
            h, lp_m, s = shares(info[member])
            heuristic, lp, search = heuristic + h, lp + lp_m, search + s
    return heuristic, lp, search


def run(fresh: bool) -> CsvRows:
    rows = CsvRows(RESULTS / "shared_speed_mixed.csv", FIELDS, fresh, _parse)
    done = {(r["tasks"], r["seed"], r["solver"]) for r in rows.rows}
    warm = partopt.generate("shared", seed=1, num_tasks=3, mix=True, **SHARED_MIX)
    partopt.solve(warm, "shared-bnb")  # its compiled search loads here, not in the first timed run
    for k in KS:
        for seed in SEEDS:
            scenario = partopt.generate("shared", seed=seed, num_tasks=k, mix=True, **SHARED_MIX)
            for solver in SOLVERS:
                if (k, seed, solver) in done or (solver == "shared-bnb" and k > BNB_MAX_K):
                    continue
                res = partopt.solve(scenario, solver, time_limit=LIMIT, seed=0)
                heuristic, lp, search = shares(res.info)
                rows.append(
                    {
                        "tasks": k,
                        "seed": seed,
                        "solver": solver,
                        "status": res.status.value,
                        "objective": res.objective if res.feasible else None,
                        "bound": res.lower_bound,
                        "seconds": round(res.runtime, 2),
                        "heuristic_s": round(heuristic, 2),
                        "lp_s": round(lp, 2),
                        "search_s": round(search, 2),
                        "proven_by": res.info.get("proven_by") or "",
                    }
                )
                print(k, seed, solver, res.status.value, round(res.runtime, 1), flush=True)
    return rows


def report(rows: CsvRows) -> str:
    lines = [
        header("Shared edge: exact solvers against K on the mixed generator"),
        f"""
Scenarios of the mixed generator (`partopt.generate("shared", mix=True, ...)`, seeds
{SEEDS[0]:,} + 0..{len(SEEDS) - 1}, hard objective); every solve with a {LIMIT:g} s limit on 2 cores.
*proven*: optimal or infeasible proven within the limit; *gap %*: (objective - bound) / objective
at the end, over the unproven ones with a schedule; *heuristic / LP / search s*: the mean seconds
in the order search that seeds the branch and bound, in the LPs (the chain-schedule LP of the
priced bound and of CP-SAT's reported bound) and in the search (the branch and bound's tree,
CP-SAT's solve); the rest is setup (bounds per task, the work relaxation, model building).
The project's own draw: `shared_speed.md`. Rows: `shared_speed_mixed.csv`.

| solver | K | proven | median s to proof | max s | mean gap % | heuristic s | LP s | search s |
|---|---|---|---|---|---|---|---|---|""",
    ]
    for solver in SOLVERS:
        for k in KS:
            rs = [r for r in rows.rows if r["solver"] == solver and r["tasks"] == k]
            if not rs:
                continue
            proven = [r for r in rs if r["status"] in ("optimal", "infeasible")]
            gaps = [
                100 * (r["objective"] - r["bound"]) / r["objective"]
                for r in rs
                if r not in proven and r["objective"] and r["bound"] is not None
            ]

            def mean(key, rs=rs):
                return statistics.mean(r[key] or 0.0 for r in rs)

            lines.append(
                f"| {solver} | {k} | {len(proven)}/{len(rs)} | "
                f"{statistics.median(r['seconds'] for r in proven) if proven else float('nan'):.1f} | "
                f"{max(r['seconds'] for r in rs):.1f} | {statistics.mean(gaps) if gaps else 0.0:.2f} | "
                f"{mean('heuristic_s'):.1f} | {mean('lp_s'):.1f} | {mean('search_s'):.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = bench_parser(__doc__)
    resumable_bench(parser, "shared_speed_mixed", FIELDS, _parse, lambda a: run(a.fresh), lambda rows, a: report(rows))


if __name__ == "__main__":
    main()
