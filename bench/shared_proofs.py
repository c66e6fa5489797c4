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
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from _common import OWN_DRAW, RESULTS, CsvRows, add_limit_option, bench_parser, header, resumable_bench

import partopt
from partopt.bench.suites import load_suite
from partopt.shared.generators import SHARED_MIX

FIELDS = ["group", "id", "tasks", "status", "objective", "bound", "seconds", "proven_by", "best_known"]
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


def run(limit: float, fresh: bool) -> CsvRows:
    rows = CsvRows(RESULTS / "shared_proofs.csv", FIELDS, fresh, _parse)
    done = {r["id"] for r in rows.rows}
    for group, ident, scenario, known in _scenarios():
        if ident in done:
            continue
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
            }
        )
        print(group, ident, row["status"], row["seconds"], row["proven_by"], flush=True)
    return rows


def report(rows: CsvRows, limit: float) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows.rows:
        groups[r["group"]].append(r)
    lines = [
        header("Shared edge: proofs of the default solver in a minute"),
        f"""
Every scenario solved once by `partopt.solve(scenario, time_limit={limit:g})` (`shared-exact`) on 2
cores. *proven*: optimal or infeasible proven within the limit; *median s*: time to proof of the
proven ones; *gap %*: (objective - bound) / objective at the end, over the unproven ones; *vs best
known %*: the objective against the suite's stored best known (negative: better). Rows:
`shared_proofs.csv`; the scenarios and targets are in `bench/shared_proofs.py`'s docstring.

| scenarios | K | count | proven | by bnb | median s to proof | max s | gap % (unproven) | vs best known % |
|---|---|---|---|---|---|---|---|---|""",
    ]
    for group, rs in groups.items():
        proven = [r for r in rs if r["status"] in ("optimal", "infeasible")]
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
    k8 = [r for r in rows.rows if r["tasks"] == 8]
    k16 = [r for r in rows.rows if r["tasks"] == 16]

    def share(rs):
        return sum(r["status"] in ("optimal", "infeasible") for r in rs) / max(1, len(rs))

    lines.append(
        f"\n**Targets**: every K = 8 scenario proven within {limit:g} s: "
        f"{'met' if k8 and share(k8) == 1 else 'not met'} ({100 * share(k8):.0f}%); "
        f"at least 80% of K = 16 proven: {'met' if share(k16) >= 0.8 else 'not met'} ({100 * share(k16):.0f}%).\n"
    )
    return "\n".join(lines)


def main() -> None:
    ap = bench_parser(__doc__)
    add_limit_option(ap)
    resumable_bench(
        ap, "shared_proofs", FIELDS, _parse, lambda a: run(a.limit, a.fresh), lambda rows, a: report(rows, a.limit)
    )


if __name__ == "__main__":
    main()
