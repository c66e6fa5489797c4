"""Ground truth at K = 64 and 256: how close the default solver's bound comes to the best schedule.

    python bench/shared_large_bounds.py                 # about an hour on 2 cores -> results/shared_large_bounds.md
    python bench/shared_large_bounds.py --report-only   # rewrite the report from the stored rows

The issue's targets, on 2 cores: at K = 64 a bound within 2% of the best schedule within 5
minutes, at K = 256 within 5% within 10 minutes. Each scenario is solved once by
``partopt.solve(scenario, time_limit=...)`` (``shared-exact``: the order search, then CP-SAT
from its schedule, then the chain-schedule LP on ever finer grids below 128 tasks or the work relaxation refined
over finer buckets from 128 on; ``docs/model.md``) on the suites ``shared-k64-v1`` and
``shared-k256-v1`` (hard objective) and on three scenarios of the mixed generator at K = 64
(``mix=True``, the penalty objective with beta = 1, as in ``front_door_large.py``: there no
solver keeps every deadline). A row keeps the schedule's objective, the bound, where the bound
came from (the work relaxation's, the chain-schedule LP's with its seconds and whether it
converged) and, for a suite entry, the stored best known and bound. *gap %* is (best - bound) /
best with best the better of the run's schedule and the stored best known. Rows are kept in
``results/shared_large_bounds.csv`` as they finish (an interrupted run resumes; ``--fresh``
starts over).
"""

from __future__ import annotations

import statistics

from _common import RESULTS, CsvRows, bench_parser, header, resumable_bench

import partopt
from partopt.bench.suites import load_suite

FIELDS = [
    "group",
    "id",
    "tasks",
    "objective_kind",
    "limit",
    "status",
    "objective",
    "bound",
    "seconds",
    "work_bound",
    "chain_lp_bound",
    "chain_lp_s",
    "chain_lp_converged",
    "chain_lp_slot_ms",
    "chain_lp_fine_us",
    "best_known",
    "stored_bound",
]
#: (group, objective, time limit in s) of each kind of scenario: the issue's limits.
LIMITS = {"shared-k64-v1": 300.0, "mixed K = 64": 300.0, "shared-k256-v1": 600.0}
MIX_SEED = 6_000_000
#: The fields read back as numbers (None where empty), and the rest.
_WORDS = ("group", "id", "tasks", "objective_kind", "status", "chain_lp_converged")
_NUMBERS = tuple(f for f in FIELDS if f not in _WORDS)


def _parse(row: dict) -> dict:
    out = dict(row, tasks=int(row["tasks"]))
    for key in _NUMBERS:
        out[key] = float(row[key]) if row.get(key) not in ("", "None", None) else None
    return out


def _scenarios():
    """(group, id, scenario, objective, stored best known or None, stored bound or None)."""
    for name in ("shared-k64-v1", "shared-k256-v1"):
        for entry in load_suite(name):
            ref = entry.reference["hard"]
            yield name, entry.id, entry.instance, "hard", ref.get("objective"), ref.get("bound")
    for seed in range(MIX_SEED, MIX_SEED + 3):
        scenario = partopt.generate("shared", seed=seed, num_tasks=64, mix=True)
        yield "mixed K = 64", f"mix-{seed}", scenario, "penalty", None, None


def run(fresh: bool, scale: float) -> CsvRows:
    rows = CsvRows(RESULTS / "shared_large_bounds.csv", FIELDS, fresh, _parse)
    done = {r["id"] for r in rows.rows}
    for group, ident, scenario, kind, known, stored in _scenarios():
        if ident in done:
            continue
        limit = LIMITS[group] * scale
        res = partopt.solve(scenario, objective=kind, time_limit=limit, seed=0)
        then = res.info.get("then", {})
        chain = then.get("chain_lp") or {}
        row = rows.append(
            {
                "group": group,
                "id": ident,
                "tasks": scenario.num_tasks,
                "objective_kind": kind,
                "limit": limit,
                "status": res.status.value,
                "objective": res.objective if res.feasible else None,
                "bound": res.lower_bound,
                "seconds": round(res.runtime, 1),
                "work_bound": then.get("work_bound"),
                "chain_lp_bound": chain.get("bound"),
                "chain_lp_s": None if not chain else round(chain["seconds"], 1),
                "chain_lp_converged": chain.get("converged", ""),
                "chain_lp_slot_ms": None if not chain else 1e3 * chain["slot_s"],
                "chain_lp_fine_us": None if not chain.get("fine_s") else 1e6 * chain["fine_s"],
                "best_known": known,
                "stored_bound": stored,
            }
        )
        print(group, ident, row["objective"], row["bound"], row["seconds"], flush=True)
    return rows


def _pct(best: float | None, bound: float | None) -> float | None:
    return None if best is None or bound is None else 100 * (best - bound) / best


def report(rows: CsvRows) -> str:
    lines = [
        header("Shared edge: bounds at K = 64 and 256"),
        """
Every scenario solved once by `partopt.solve(scenario, time_limit=limit)` (`shared-exact`) on 2 cores;
the suites under the hard objective, the mixed generator's under the penalty objective (beta = 1).
*best*: the better of the run's schedule and the suite's stored best known; *gap %*: (best - bound) /
best; *stored gap %*: the same for the bound stored in the suite (its last build). *work* and *chain
LP*: the bounds from the work relaxation and the chain-schedule LP (s; `docs/model.md`), *LP slot*
the slot of the LP's bound (the least power-of-two multiple of 0.5 ms that cuts its horizon into at
most 500 slots, or 0.5 ms when that run bounded higher), *LP fine* the fine grid its chains kept their
times on (refined while time was left; a chain loses up to a fine slot a block). Rows:
`shared_large_bounds.csv`; scenarios and targets in `bench/shared_large_bounds.py`'s docstring.

| scenario | K | limit s | objective | best | bound | gap % | stored gap % | work | chain LP | LP s | LP converged \
| LP slot ms | LP fine us |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|""",
    ]
    gaps: dict[int, list[float]] = {}
    for r in sorted(rows.rows, key=lambda r: r["tasks"]):
        best = _best(r)
        gap, stored = _pct(best, r["bound"]), _pct(best, r["stored_bound"])
        gaps.setdefault(r["tasks"], []).append(gap if gap is not None else float("inf"))

        def f(v, spec=".4f"):
            return "-" if v is None else format(v, spec)

        lines.append(
            f"| {r['id']} | {r['tasks']} | {r['limit']:g} | {f(r['objective'])} | {best:.4f} | {f(r['bound'])} | "
            f"{f(gap, '.1f')} | {f(stored, '.1f')} | {f(r['work_bound'])} | {f(r['chain_lp_bound'])} | "
            f"{f(r['chain_lp_s'], '.0f')} | {str(r['chain_lp_converged']) or '-'} | {f(r['chain_lp_slot_ms'], 'g')} | "
            f"{f(r.get('chain_lp_fine_us'), '.1f')} |"
        )
    target = {64: 2.0, 256: 5.0}
    lines.append("")
    for k, gs in sorted(gaps.items()):
        met = all(g <= target[k] for g in gs)
        lines.append(
            f"**Target K = {k}** (bound within {target[k]:g}% of the best schedule): "
            f"{'met' if met else 'not met'} (median gap {statistics.median(gs):.1f}%, worst {max(gs):.1f}%)."
        )
    converged = [r for r in rows.rows if str(r["chain_lp_converged"]) == "True"]
    lines.append(
        "\n**Where the rest lies.** "
        + (
            "Where the chain-schedule LP converged ("
            + ", ".join(f"{r['id']}: {_gap(r):.1f}%" for r in converged)
            + ") the distance left is the relaxation's own at its last grid: blocks pool their time within a "
            "slot, lose up to a fine slot each (*LP fine*; the finer grids won most of what this LP gained "
            "here) and a task may take a mix of chains; closing the rest needs branching on the LP (branch and "
            "price), not built. "
            if converged
            else ""
        )
        + "Where it did not converge in its share (*LP s*), its restricted master is the cost: a degenerate "
        "simplex takes hundreds of pivots for each handful of columns, and a run cut short stops the "
        "refinement. From 128 tasks one master solve takes "
        "tens of seconds, and the work relaxation stands in; it forgets chains, transfers and non-preemption, "
        "which near the servers' capacity (the 110 tasks/s points) is most of the queueing. The best knowns "
        "are heuristic schedules: part of the distance at high load may be theirs.\n"
    )
    return "\n".join(lines) + "\n"


def _best(r: dict) -> float:
    """The better of the run's schedule and the stored best known (s)."""
    return min(v for v in (r["objective"], r["best_known"]) if v is not None)


def _gap(r: dict) -> float:
    return _pct(_best(r), r["bound"]) or 0.0


def main() -> None:
    ap = bench_parser(__doc__)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every time limit (default 1: the issue's)")
    resumable_bench(
        ap, "shared_large_bounds", FIELDS, _parse, lambda a: run(a.fresh, a.scale), lambda rows, a: report(rows)
    )


if __name__ == "__main__":
    main()
