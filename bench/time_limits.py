"""Time limits on the shared edge: how long a solve with ``time_limit=L`` really takes.

    python bench/time_limits.py                  # -> results/time_limits.md (about 4 minutes)
    python bench/time_limits.py --label before   # rows of another checkout (PYTHONPATH=...), side by side
    python bench/time_limits.py --report-only    # rewrite the report from the stored rows

The issue asks that a time limit be honoured end to end (model building, LP, search, every
member of the default portfolio). Each case is solved once per limit (2, 5 and 10 s) on 2 cores,
and the wall-clock seconds of the call are kept, with the status. Cases: the default
(``partopt.solve(scenario, time_limit=L)``) at K = 8, 16, 64 and 256 on the project's own draw
(VGG16 in 6 blocks, N = 4, 2 devices, 60 tasks/s) and at K = 16 and 64 on the mixed generator,
and the branch and bound and CP-SAT alone at K = 16. A proven answer may come early; the
report's *over s* is the seconds beyond the limit. ``--label`` names the code measured, so that
rows from another checkout (run with its package on ``PYTHONPATH``) sit beside this one's. Rows
are kept in ``results/time_limits.csv`` as they finish (``--fresh`` starts over).

Labels in the stored rows: *before*, the code before the branch and bound's chunks were timed
(commit b62225e); *chunked*, with them (ffcbdef); *now*, with the work relaxation's LP built in
arrays as well (54b7dd0); *refined*, with the chain-schedule LP's reported bound on ever finer
grids (a576e79; the second run in its checkout: in the first, numba compiled the pricing kernel's
32-bit back pointers during the timed K = 8 solves, 3.8 s at a 2 s limit and 14.9 s at 5 s, as
the untimed solve had proven its case without the LP); *beside*, with CP-SAT in one run beside
the branch and bound on two workers (8fab183; its K = 8 rows rerun in the same checkout, as the
first run compiled kernels in them again: 3.3 s at a 2 s limit, 12.5 s at 5 s). The first two runs warmed up with one
small solve only, so a row that first compiled a kernel counts its compiling (in a fresh
checkout, the *now* run's first rows took 4 and 17 s at K = 8 that way, before each case got its
own untimed solve first).
"""

from __future__ import annotations

import time
from collections import defaultdict

from _common import OWN_DRAW, RESULTS, CsvRows, bench_parser, header, resumable_bench

import partopt
from partopt.shared.generators import SHARED_MIX

FIELDS = ["label", "case", "solver", "tasks", "limit_s", "seconds", "status"]
LIMITS = (2.0, 5.0, 10.0)
#: (case, solver, generator parameters; seed 6,000,000 + K); solver None is the default.
CASES = (
    ("own K = 8", None, {**OWN_DRAW, "num_tasks": 8}),
    ("own K = 16", None, {**OWN_DRAW, "num_tasks": 16}),
    ("own K = 16", "shared-bnb", {**OWN_DRAW, "num_tasks": 16}),
    ("own K = 16", "shared-cpsat", {**OWN_DRAW, "num_tasks": 16}),
    ("own K = 64", None, {**OWN_DRAW, "num_tasks": 64}),
    ("own K = 256", None, {**OWN_DRAW, "num_tasks": 256}),
    ("mixed K = 16", None, {**SHARED_MIX, "num_tasks": 16, "mix": True}),
    ("mixed K = 64", None, {**SHARED_MIX, "num_tasks": 64, "mix": True}),
)


def _parse(row: dict) -> dict:
    return {**row, "tasks": int(row["tasks"]), "limit_s": float(row["limit_s"]), "seconds": float(row["seconds"])}


def run(label: str, fresh: bool) -> CsvRows:
    rows = CsvRows(RESULTS / "time_limits.csv", FIELDS, fresh, _parse)
    done = {(r["label"], r["case"], r["solver"], r["limit_s"]) for r in rows.rows}
    for case, solver, params in CASES:
        scenario = partopt.generate("shared", seed=6_000_000 + params["num_tasks"], **params)
        name = solver or "shared-exact"
        todo = [limit for limit in LIMITS if (label, case, name, limit) not in done]
        if todo:  # imports and the code this case runs compiled (a fresh checkout's numba cache) before it is timed
            partopt.solve(scenario, solver, time_limit=LIMITS[0])
        for limit in todo:
            begin = time.perf_counter()
            res = partopt.solve(scenario, solver, time_limit=limit)
            seconds = time.perf_counter() - begin
            row = {
                "label": label,
                "case": case,
                "solver": name,
                "tasks": scenario.num_tasks,
                "limit_s": limit,
                "seconds": round(seconds, 3),
                "status": res.status.value,
            }
            rows.append(row)
            print(label, case, name, limit, row["seconds"], row["status"], flush=True)
    return rows


def report(rows: CsvRows) -> str:
    labels = list(dict.fromkeys(r["label"] for r in rows.rows))
    by_key: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for r in rows.rows:
        by_key[(r["case"], r["solver"], r["limit_s"])][r["label"]] = r
    cols = " | ".join(f"{label}: s | {label}: over s" for label in labels)
    lines = [
        header("Shared edge: time limits kept"),
        f"""
Each case solved once per limit on 2 cores; *s*: wall-clock seconds of the `partopt.solve` call
(imports and compiled code loaded by an untimed solve of the case first), *over s*: seconds beyond the limit
(0 when within it; a proven answer may come early, its status in brackets). Labels: the code
measured (`--label`). Cases and draws: `bench/time_limits.py`'s docstring; rows: `time_limits.csv`.

| case | solver | limit s | {cols} |
|---|---|---|{"---|---|" * len(labels)}""",
    ]
    worst: dict[str, float] = defaultdict(float)
    for (case, solver, limit), by_label in by_key.items():
        cells = []
        for label in labels:
            r = by_label.get(label)
            if r is None:
                cells.append("- | -")
                continue
            over = max(0.0, r["seconds"] - limit)
            worst[label] = max(worst[label], over / limit)
            early = "" if r["status"] == "feasible" else f" ({r['status']})"
            cells.append(f"{r['seconds']:.2f}{early} | {over:.2f}")
        lines.append(f"| {case} | {solver} | {limit:g} | {' | '.join(cells)} |")
    lines.append("")
    for label in labels:
        lines.append(f"- **{label}**: the worst overrun is {100 * worst[label]:.0f}% of its limit.")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = bench_parser(__doc__)
    ap.add_argument("--label", default="now", help="name of the code measured (default: now)")
    resumable_bench(ap, "time_limits", FIELDS, _parse, lambda a: run(a.label, a.fresh), lambda rows, a: report(rows))


if __name__ == "__main__":
    main()
