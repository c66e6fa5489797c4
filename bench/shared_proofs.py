"""Ground truth on the shared edge: how many scenarios the default solver proves in a minute.

    python bench/shared_proofs.py                 # -> results/shared_proofs.md (about 30 minutes)
    python bench/shared_proofs.py --report-only   # rewrite the report from the stored rows

The issue's targets, on 2 cores: every K = 8 scenario proven within 60 s, and at least 80%
of the K = 16 ones (M = 6, N = 4), on the project's own suites and on the mixed generator
(``mix=True``: 1..6 devices, busy servers, mixed uplinks, task and block deadlines and
budgets that bind). Each scenario is solved once by ``partopt.solve(scenario,
time_limit=60)`` (``shared-exact``); a row keeps its status, objective, bound, seconds and
which member proved it, and, for a suite entry, the stored best known (its gap: negative
when the run found a better schedule). Rows are kept in ``results/shared_proofs.csv`` as
they finish (``--fresh`` starts over).

``--beside-workers 1 2`` solves every scenario once per value of
:data:`partopt.shared.solvers.portfolio.MIN_BESIDE_WORKERS` (CP-SAT's fewest workers beside the
branch and bound), alternating, so that the values meet the same machine; the main table is the
shipped value's, and a second one sets the values side by side.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from _common import OWN_DRAW, RESULTS, CsvRows, add_limit_option, bench_parser, header, resumable_bench

import partopt
from partopt.bench.suites import load_suite
from partopt.shared.generators import SHARED_MIX
from partopt.shared.solvers import portfolio

FIELDS = [
    "group",
    "id",
    "tasks",
    "status",
    "objective",
    "bound",
    "seconds",
    "proven_by",
    "best_known",
    "beside_workers",
]
#: Drawn groups: (name, generator parameters, seeds). The mixed generator draws M and N itself.
DRAWN = (
    ("mixed K = 8", {**SHARED_MIX, "num_tasks": 8, "mix": True}, range(5_200_000, 5_200_005)),
    ("own K = 8 (M = 6, N = 4)", {**OWN_DRAW, "num_tasks": 8}, range(5_300_000, 5_300_005)),
    ("mixed K = 16", {**SHARED_MIX, "num_tasks": 16, "mix": True}, range(5_000_000, 5_000_005)),
    ("own K = 16 (M = 6, N = 4)", {**OWN_DRAW, "num_tasks": 16}, range(5_100_000, 5_100_005)),
)
SUITES = ("shared-k8-v1", "shared-mix-k8-v1", "shared-k16-v1")


def _parse(row: dict) -> dict:
    out = dict(row)
    out["tasks"] = int(row["tasks"])
    out["beside_workers"] = int(row.get("beside_workers") or 1)
    for key in ("objective", "bound", "seconds", "best_known"):
        out[key] = float(row[key]) if row[key] not in ("", "None") else None
    return out


def _scenarios():
    """(group, id, scenario, stored best known or None) for every scenario of the bench."""
    for name in SUITES:
        for entry in load_suite(name):
            yield name, entry.id, entry.instance, entry.reference["hard"].get("objective")
    for group, params, seeds in DRAWN:
        for seed in seeds:
            yield group, f"{group}/{seed}", partopt.generate("shared", seed=seed, **params), None


def run(limit: float, fresh: bool, beside: tuple[int, ...]) -> CsvRows:
    rows = CsvRows(RESULTS / "shared_proofs.csv", FIELDS, fresh, _parse)
    done = {(r["id"], r["beside_workers"]) for r in rows.rows}
    shipped = portfolio.MIN_BESIDE_WORKERS
    try:
        for group, ident, scenario, known in _scenarios():
            for workers in beside:
                if (ident, workers) in done:
                    continue
                portfolio.MIN_BESIDE_WORKERS = workers
                res = partopt.solve(scenario, time_limit=limit)
                row = rows.append(
                    {
                        "group": group,
                        "id": ident,
                        "tasks": scenario.num_tasks,
                        "status": res.status.value,
                        "objective": res.objective if res.feasible else None,
                        "bound": res.lower_bound,
                        "seconds": round(res.runtime, 2),
                        "proven_by": res.info.get("proven_by") or "",
                        "best_known": known,
                        "beside_workers": workers,
                    }
                )
                print(group, ident, workers, row["status"], row["seconds"], row["proven_by"], flush=True)
    finally:
        portfolio.MIN_BESIDE_WORKERS = shipped
    return rows


def _proven(r: dict) -> bool:
    return r["status"] in ("optimal", "infeasible")


def report(rows: CsvRows, limit: float) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    shipped = [r for r in rows.rows if r["beside_workers"] == portfolio.MIN_BESIDE_WORKERS]
    for r in shipped:
        groups[r["group"]].append(r)
    lines = [
        header("Shared edge: proofs of the default solver in a minute"),
        f"""
Every scenario solved once by `partopt.solve(scenario, time_limit={limit:g})` (`shared-exact`) on 2
cores. *proven*: optimal or infeasible proven within the limit; *median s*: time to proof of the
proven ones; *gap %*: (objective - bound) / objective at the end, over the unproven ones; *vs best
known %*: the objective against the suite's stored best known (negative: better). Rows:
`shared_proofs.csv`; the scenarios and targets are in `bench/shared_proofs.py`'s docstring.

CP-SAT beside the branch and bound on at least {portfolio.MIN_BESIDE_WORKERS} workers (the shipped value).

| scenarios | K | count | proven | by bnb | median s to proof | max s | gap % (unproven) | vs best known % |
|---|---|---|---|---|---|---|---|---|""",
    ]
    for group, rs in groups.items():
        proven = [r for r in rs if _proven(r)]
        open_gaps = [
            100 * (r["objective"] - r["bound"]) / r["objective"]
            for r in rs
            if r not in proven and r["objective"] and r["bound"] is not None
        ]
        versus = [100 * (r["objective"] / r["best_known"] - 1) for r in rs if r["objective"] and r["best_known"]]
        lines.append(
            f"| {group} | {rs[0]['tasks']} | {len(rs)} | {len(proven)} | "
            f"{sum(r['proven_by'] == 'shared-bnb' for r in proven)} | "
            f"{statistics.median(r['seconds'] for r in proven) if proven else float('nan'):.1f} | "
            f"{max(r['seconds'] for r in rs):.1f} | "
            f"{statistics.mean(open_gaps) if open_gaps else 0.0:.2f} | "
            f"{statistics.mean(versus) if versus else float('nan'):+.2f} |"
        )
    k8 = [r for r in shipped if r["tasks"] == 8]
    k16 = [r for r in shipped if r["tasks"] == 16]

    def share(rs):
        return sum(_proven(r) for r in rs) / max(1, len(rs))

    lines.append(
        f"\n**Targets**: every K = 8 scenario proven within {limit:g} s: "
        f"{'met' if k8 and share(k8) == 1 else 'not met'} ({100 * share(k8):.0f}%); "
        f"at least 80% of K = 16 proven: {'met' if share(k16) >= 0.8 else 'not met'} ({100 * share(k16):.0f}%).\n"
    )
    return "\n".join(lines + _side_by_side(rows.rows))


def _side_by_side(rows: list[dict]) -> list[str]:
    """The table of the --beside-workers values, on the scenarios every value solved."""
    values = sorted({r["beside_workers"] for r in rows})
    by_id: dict[str, dict[int, dict]] = defaultdict(dict)
    for r in rows:
        by_id[r["id"]][r["beside_workers"]] = r
    paired = {i: v for i, v in by_id.items() if len(v) == len(values)}
    if len(values) < 2 or not paired:
        return []
    lines = [
        "\n## CP-SAT's workers beside the branch and bound\n",
        "Scenarios solved with each value, alternating. *objective ratio*: geometric mean of the",
        f"objective over the value {values[0]}'s, where both found a schedule.\n",
        "| K | scenarios | "
        + " | ".join(f"proven ({v})" for v in values)
        + " | "
        + " | ".join(f"objective ratio ({v})" for v in values[1:])
        + " |",
        "|---|---|" + "---|" * (2 * len(values) - 1),
    ]
    for k in sorted({r["tasks"] for r in rows}):
        pairs = [v for v in paired.values() if v[values[0]]["tasks"] == k]
        proven = [sum(_proven(p[v]) for p in pairs) for v in values]
        ratios = []
        for v in values[1:]:
            both = [
                p[v]["objective"] / p[values[0]]["objective"]
                for p in pairs
                if p[v]["objective"] and p[values[0]]["objective"]
            ]
            ratios.append(f"{statistics.geometric_mean(both):.4f}" if both else "nan")
        lines.append(f"| {k} | {len(pairs)} | " + " | ".join(map(str, proven)) + " | " + " | ".join(ratios) + " |")
    return lines


def main() -> None:
    ap = bench_parser(__doc__)
    add_limit_option(ap)
    ap.add_argument(
        "--beside-workers",
        type=int,
        nargs="+",
        default=[portfolio.MIN_BESIDE_WORKERS],
        help="values of CP-SAT's fewest workers beside the branch and bound to solve with (default: the shipped one)",
    )
    resumable_bench(
        ap,
        "shared_proofs",
        FIELDS,
        _parse,
        lambda a: run(a.limit, a.fresh, tuple(a.beside_workers)),
        lambda rows, a: report(rows, a.limit),
    )


if __name__ == "__main__":
    main()
