"""The shared edge's front door beyond 16 tasks: the order search, then CP-SAT from its schedule,
against CP-SAT alone (the front door before), in the same run.

    python bench/front_door_large.py      # about 15 minutes on 2 cores -> results/front_door_large.md

On the first ``--count`` entries of the suites ``shared-k64-v1`` and ``shared-k256-v1`` (the
hard objective) and on as many scenarios of the mixed generator (``mix=True``) at K = 64 (the
penalty objective, beta = 1: there no solver finds a schedule within every deadline), each
solver gets the same limit. The table gives each one's mean objective over the best schedule either found, its bound
gap (that best schedule over its bound) and the share of scenarios it wins. Rows are kept in
``results/front_door_large.csv`` as they finish (an interrupted run resumes; ``--fresh``
starts over).
"""

from __future__ import annotations

import math

from _common import RESULTS, CsvRows, add_limit_option, bench_parser, header, resumable_bench

import partopt
from partopt.bench.suites import load_suite

SOLVERS = {"front door (order search, then CP-SAT)": "shared-exact", "CP-SAT alone": "shared-cpsat"}
FIELDS = ["source", "tasks", "entry", "solver", "objective", "bound", "seconds"]
SEED = 6_000_000


def _parse(row: dict) -> dict:
    out = dict(row, tasks=int(row["tasks"]), objective=float(row["objective"]), seconds=float(row["seconds"]))
    out["bound"] = float(row["bound"]) if row["bound"] not in ("", "None") else None
    return out


def scenarios(count: int) -> list[tuple[str, str, partopt.Scenario]]:
    """(source, entry id, scenario) of the run."""
    out = []
    for suite in ("shared-k64-v1", "shared-k256-v1"):
        for entry in load_suite(suite).entries[:count]:
            out.append((suite, entry.id, entry.instance))
    for seed in range(count):
        sc = partopt.generate("shared", seed=SEED + seed, num_tasks=64, mix=True)
        out.append(("mixed generator", f"mix-{seed}", sc))
    return out


def run(count: int, limit: float, fresh: bool) -> CsvRows:
    rows = CsvRows(RESULTS / "front_door_large.csv", FIELDS, fresh, _parse)
    done = {(r["entry"], r["solver"]) for r in rows.rows}
    for source, ident, sc in scenarios(count):
        for label, solver in SOLVERS.items():
            if (ident, label) in done:
                continue
            objective = "penalty" if source == "mixed generator" else "hard"
            result = partopt.solve(sc, solver, objective=objective, time_limit=limit, seed=0)
            row = rows.append(
                {
                    "source": source,
                    "tasks": sc.num_tasks,
                    "entry": ident,
                    "solver": label,
                    "objective": result.objective,
                    "bound": result.bound,
                    "seconds": result.runtime,
                }
            )
            print(f"{ident} {label}: {row['objective']:.4f} bound {row['bound']} in {row['seconds']:.1f} s", flush=True)
    return rows


def report(rows: CsvRows, limit: float) -> str:
    lines = [header("The shared edge's front door beyond 16 tasks"), ""]
    lines += [
        f"Each scenario solved by each solver with a {limit:g} s limit on 2 cores (the suites under the hard "
        "objective, the mixed generator's under the penalty objective, beta = 1). *above best %*: the "
        "solver's objective above the best schedule either found; *bound gap %*: that best schedule "
        "above the solver's bound (valid in continuous time); *wins*: scenarios where its schedule "
        "is the better by more than 1e-9.",
        "",
        "| source | K | scenarios | solver | mean above best % | mean bound gap % | wins | mean s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    sources = sorted({(r["source"], r["tasks"]) for r in rows.rows})
    notes: list[str] = []
    for source, k in sources:
        at = [r for r in rows.rows if (r["source"], r["tasks"]) == (source, k)]
        entries = sorted({r["entry"] for r in at})
        best = {e: min(r["objective"] for r in at if r["entry"] == e) for e in entries}
        unsolved = sorted(e for e in entries if not math.isfinite(best[e]))
        at = [r for r in at if math.isfinite(best[r["entry"]])]  # no schedule found by either: below
        for label in SOLVERS:
            mine = [r for r in at if r["solver"] == label]
            above = [100 * (r["objective"] / best[r["entry"]] - 1) for r in mine]
            gaps = [100 * (best[r["entry"]] / r["bound"] - 1) for r in mine if r["bound"]]
            others = {r["entry"]: r["objective"] for r in at if r["solver"] != label}
            wins = sum(r["objective"] < others.get(r["entry"], float("inf")) * (1 - 1e-9) for r in mine)
            if not above:
                continue
            lines.append(
                f"| {source} | {k} | {len(mine)} | {label} | {sum(above) / len(above):.2f} | "
                f"{sum(gaps) / len(gaps) if gaps else float('nan'):.2f} | {wins} | "
                f"{sum(r['seconds'] for r in mine) / len(mine):.1f} |"
            )
        notes += [f"- {e} (K = {k}): neither solver found a schedule keeping every constraint" for e in unsolved]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def main() -> None:
    ap = bench_parser(__doc__)
    ap.add_argument("--count", type=int, default=3, help="scenarios per source (default 3)")
    add_limit_option(ap)
    resumable_bench(
        ap,
        "front_door_large",
        FIELDS,
        _parse,
        lambda a: run(a.count, a.limit, a.fresh),
        lambda rows, a: report(rows, a.limit),
    )


if __name__ == "__main__":
    main()
