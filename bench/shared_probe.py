"""The branch and bound's probe: a short search without the chain-schedule LP before it, at 4 to 6 tasks.

    python bench/shared_probe.py                 # -> results/shared_probe.md (about 10 minutes)
    python bench/shared_probe.py --report-only   # rewrite the report from the stored rows

Issue 28 asks that the LP's share of the time adapt: stop "when a search without it is
cheaper". From 4 tasks on the branch and bound prices its nodes with the chain-schedule LP
solved at the root (up to 30% of the limit); with ``probe=True``, for 4 to 6 tasks, it first
searches without it for 1% of the limit (``partopt.shared.solvers.bnb.PROBE_SHARE``) and skips
the LP where that search finishes. The probe is off by default: on these draws the LP is quick
and the probe cost more than it saved (median ratio below 1). Each scenario (the mixed
generator and the project's own draw, as in ``shared_proofs.py``) is solved by ``shared-bnb``
with a 60 s limit, with the probe (``probe=True``) and without it (the default), one after the
other; *ratio*: time to proof without the probe over time with it (above 1: the probe saves
time), in the same run. Rows are kept in ``results/shared_probe.csv`` as they finish
(``--fresh`` starts over).
"""

from __future__ import annotations

import statistics

from _common import OWN_DRAW, RESULTS, CsvRows, add_limit_option, bench_parser, header, resumable_bench

import partopt
from partopt.shared.generators import SHARED_MIX

FIELDS = ["group", "id", "tasks", "probe", "status", "objective", "seconds", "lp_s", "probe_s"]
GROUPS = tuple(
    (f"{name} K = {k}", {**params, "num_tasks": k}, range(seed + 1000 * k, seed + 1000 * k + 4))
    for k in (4, 5, 6)
    for name, params, seed in (("mixed", {**SHARED_MIX, "mix": True}, 7_000_000), ("own", OWN_DRAW, 7_100_000))
)


def _parse(row: dict) -> dict:
    out = dict(row)
    out["tasks"] = int(row["tasks"])
    out["probe"] = row["probe"] == "True"
    for key in ("objective", "seconds", "lp_s", "probe_s"):
        out[key] = float(row[key]) if row[key] not in ("", "None") else None
    return out


def run(limit: float, fresh: bool) -> CsvRows:
    rows = CsvRows(RESULTS / "shared_probe.csv", FIELDS, fresh, _parse)
    done = {(r["id"], r["probe"]) for r in rows.rows}
    warm = partopt.generate("shared", seed=1, num_tasks=4)
    for probe in (True, False):  # compile both paths first: no row pays for it
        partopt.solve(warm, "shared-bnb", time_limit=20, probe=probe)
    for group, params, seeds in GROUPS:
        for seed in seeds:
            scenario = partopt.generate("shared", seed=seed, **params)
            for probe in (True, False):
                ident = f"{group}/{seed}"
                if (ident, probe) in done:
                    continue
                res = partopt.solve(scenario, "shared-bnb", time_limit=limit, probe=probe)
                row = rows.append(
                    {
                        "group": group,
                        "id": ident,
                        "tasks": scenario.num_tasks,
                        "probe": probe,
                        "status": res.status.value,
                        "objective": res.objective if res.feasible else None,
                        "seconds": round(res.runtime, 2),
                        "lp_s": round(res.info.get("priced_s", 0.0), 2),
                        "probe_s": round(res.info.get("probe_s", 0.0), 2),
                    }
                )
                print(ident, probe, row["status"], row["seconds"], flush=True)
    return rows


def report(rows: CsvRows, limit: float) -> str:
    pairs: dict[str, dict[bool, dict]] = {}
    for r in rows.rows:
        pairs.setdefault(r["id"], {})[r["probe"]] = r
    lines = [
        header("Shared edge: the branch and bound's probe before its LP (4 to 6 tasks)"),
        f"""
Each scenario solved by `partopt.solve(scenario, "shared-bnb", time_limit={limit:g})` with the probe
(`probe=True`) and without it (the default), one after the other on 2 cores. *proven*: with / without;
*median s*: time to proof of the scenarios both prove; *LP s*: the mean time in the LP;
*skipped*: scenarios where the probe finished and no LP was solved; *ratio*: the median over
those scenarios of (seconds without) / (seconds with). Rows: `shared_probe.csv`; the scenarios in
`bench/shared_probe.py`'s docstring.

| scenarios | count | proven | skipped | median s with | median s without | LP s with | LP s without | ratio |
|---|---|---|---|---|---|---|---|---|""",
    ]
    groups: dict[str, list[dict[bool, dict]]] = {}
    for ident, pair in pairs.items():
        if len(pair) == 2:
            groups.setdefault(pair[True]["group"], []).append(pair)
    every: list[float] = []
    for group, ps in groups.items():
        both = [p for p in ps if all(p[f]["status"] == "optimal" for f in (True, False))]
        ratios = [p[False]["seconds"] / max(p[True]["seconds"], 1e-3) for p in both]
        every += ratios
        nan = float("nan")
        lines.append(
            f"| {group} | {len(ps)} | {sum(p[True]['status'] == 'optimal' for p in ps)} / "
            f"{sum(p[False]['status'] == 'optimal' for p in ps)} | "
            f"{sum(p[True]['lp_s'] == 0.0 for p in ps)} | "
            f"{statistics.median(p[True]['seconds'] for p in both) if both else nan:.2f} | "
            f"{statistics.median(p[False]['seconds'] for p in both) if both else nan:.2f} | "
            f"{statistics.mean(p[True]['lp_s'] for p in ps):.2f} | "
            f"{statistics.mean(p[False]['lp_s'] for p in ps):.2f} | "
            f"{statistics.median(ratios) if ratios else nan:.2f} |"
        )
    if every:
        lines.append(
            f"\nOver every scenario both prove: median ratio {statistics.median(every):.2f}, "
            f"least {min(every):.2f}, most {max(every):.2f}.\n"
        )
    return "\n".join(lines)


def main() -> None:
    ap = bench_parser(__doc__)
    add_limit_option(ap)
    resumable_bench(
        ap, "shared_probe", FIELDS, _parse, lambda a: run(a.limit, a.fresh), lambda rows, a: report(rows, a.limit)
    )


if __name__ == "__main__":
    main()
