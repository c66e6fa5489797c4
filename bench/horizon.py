"""A horizon of slots sharing a battery (model Part III): online policies against the offline optimum.

    python bench/horizon.py                # T = 600 slots of M = 6, N = 4  -> results/horizon.md
    python bench/horizon.py --slots 100 --seeds 1 --no-learned             # a quick look
    python bench/horizon.py --scheduler local:2                            # the solves on a Dask cluster

For each battery level (where E^max lies between the slots' least energy and the energy
of every slot's own optimum) and seed: the exact offline optimum (``horizon-exact``,
with its Lagrangian bound and time), then every online policy's total delay as a ratio
to it and whether it ran out of energy. Then the Lyapunov trade-off over V at the
middle battery level, as a figure. Rows go to ``results/horizon.csv`` as they finish;
the same command again keeps finished rows (``--fresh`` starts over).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from _common import RESULTS, CsvRows, bench_parser, header

import partopt
from partopt.bench.cluster import scheduler_executor
from partopt.execution import SerialExecutor, TaskFailure, map_unordered

if TYPE_CHECKING:
    from pathlib import Path

FIGURES = RESULTS / "figures"
BATTERIES = (0.25, 0.5, 0.75)
ONLINE = ["horizon-myopic", "horizon-fair", "horizon-lyapunov"]
SWEEP_V = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)
FIELDS = [
    "battery",
    "seed",
    "slots",
    "solver",
    "V",
    "status",
    "total_delay",
    "energy",
    "energy_max_j",
    "ratio",
    "overshoot_pct",
    "bound",
    "duality_gap_pct",
    "runtime",
]


def _parse(r: dict) -> dict:
    return {
        k: (r[k] if k in ("solver", "status") else (float(r[k]) if r[k] not in ("", "None") else None)) for k in FIELDS
    }


class Rows(CsvRows):
    """The runs so far, keyed by (battery, seed, slots, solver, V)."""

    def __init__(self, path: Path, fresh: bool):
        super().__init__(path, FIELDS, fresh, _parse)

    def find(self, **key) -> dict | None:
        return next((r for r in self.rows if all(r[k] == v for k, v in key.items())), None)


def solve_job(job: tuple) -> dict:
    """One run (battery, seed, slots, solver, V) -> its row; the horizon is regenerated from its seed
    where the job runs (a task for any executor)."""
    battery, seed, slots, solver, V = job  # noqa: N806 - V is the method's own name
    horizon = partopt.generate("horizon", seed=seed, slots=slots, battery=battery)
    res = partopt.solve(horizon, solver, **({} if V is None else {"V": V}))
    ev = res.evaluation
    info = res.info
    return {
        "battery": battery,
        "seed": float(seed),
        "slots": float(slots),
        "solver": solver,
        "V": V,
        "status": res.status.value,
        "total_delay": ev.total_delay,
        "energy": ev.energy,
        "energy_max_j": horizon.energy_max_j,
        "ratio": None,
        "overshoot_pct": 100.0 * max(ev.energy / horizon.energy_max_j - 1.0, 0.0),
        "bound": info.get("lagrangian_bound"),
        "duality_gap_pct": info.get("duality_gap_pct"),
        "runtime": res.runtime,
    }


def _fmt(values: list[float], digits: int = 4) -> str:
    return f"{np.mean(values):.{digits}f} (max {np.max(values):.{digits}f})" if values else "-"


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--slots", type=int, default=600, help="T (default 600, the paper's horizon)")
    parser.add_argument("--seeds", type=int, default=3, help="horizons per battery level")
    parser.add_argument("--no-learned", action="store_true", help="skip the learned online policy (torch)")
    parser.add_argument("--fresh", action="store_true", help="drop recorded rows and start over")
    parser.add_argument("--scheduler", help="run the solves on a Dask cluster: tcp://HOST:PORT or local:N")
    args = parser.parse_args()
    rows = Rows(RESULTS / "horizon.csv", args.fresh)
    online = ONLINE + ([] if args.no_learned else ["horizon-learned"])
    jobs = []
    for battery in BATTERIES:
        for seed in range(args.seeds):
            runs = [("horizon-exact", None)] + [(solver, None) for solver in online]
            runs += [("horizon-lyapunov", v) for v in SWEEP_V] if battery == 0.5 else []
            jobs += [
                (battery, seed, args.slots, solver, v)
                for solver, v in runs
                if rows.find(battery=battery, seed=float(seed), slots=float(args.slots), solver=solver, V=v) is None
            ]
    with scheduler_executor(args.scheduler) as executor:
        for job, row in map_unordered(executor or SerialExecutor(), solve_job, jobs):
            if isinstance(row, TaskFailure):
                raise RuntimeError(f"{job}: {row.reason}; finished rows are kept")
            rows.append(row)
            print(
                f"  battery={row['battery']} seed={row['seed']:g} {row['solver']}"
                f"{'' if row['V'] is None else ' V=%g' % row['V']}: {row['status']}, overshoot "
                f"{row['overshoot_pct']:.2f}% ({row['runtime']:.2f} s)",
                flush=True,
            )
    report(rows.rows, args.slots, online)


def report(rows: list[dict], slots: int, online: list[str]) -> None:
    mine = [r for r in rows if r["slots"] == slots]
    optimum = {(r["battery"], r["seed"]): r["total_delay"] for r in mine if r["solver"] == "horizon-exact"}
    for r in mine:  # each run's delay against the offline optimum of its horizon
        if r["solver"] != "horizon-exact" and (r["battery"], r["seed"]) in optimum:
            r["ratio"] = r["total_delay"] / optimum[(r["battery"], r["seed"])]
    exact = [r for r in mine if r["solver"] == "horizon-exact"]
    lines = [
        header(f"A horizon of {slots} slots sharing a battery: online policies against the offline optimum"),
        "",
        "Slots from the `paper` generator (M = 6, N = 4); E^max = E_low + battery (E_free - E_low), with E_low "
        "the slots' summed least energy and E_free the energy of every slot's own optimum, so the battery "
        "binds. Ratio: total delay / the exact offline optimum (mean over seeds, max in brackets); "
        '"ran out": runs whose energy exceeded E^max. Rows: `horizon.csv`.',
        "",
        "## The exact offline optimum",
        "",
        "| battery | seeds | time (s) | Lagrangian duality gap (%) |",
        "|---|---|---|---|",
    ]
    for b in BATTERIES:
        cell = [r for r in exact if r["battery"] == b]
        if cell:
            lines.append(
                f"| {b} | {len(cell)} | {_fmt([r['runtime'] for r in cell], 2)} | "
                f"{_fmt([r['duality_gap_pct'] for r in cell], 4)} |"
            )
    worst = max((r["runtime"] for r in exact), default=math.nan)
    lines += [
        "",
        f"Target: exact offline optimum for T = 600 slots of M = 6, N = 4 in under 10 s on 2 cores: "
        f"slowest {worst:.2f} s at T = {slots}" + (" (met)." if slots == 600 and worst < 10 else "."),
        "",
        "## Online policies (each sees only its slot and E^r(t))",
        "",
        "| battery | " + " | ".join(online) + " |",
        "|---|" + "---|" * len(online),
    ]
    best_line = []
    for b in BATTERIES:
        cells = []
        for solver in online:
            cell = [r for r in mine if r["battery"] == b and r["solver"] == solver and r["V"] is None]
            if not cell:
                cells.append("-")
                continue
            out = sum(r["overshoot_pct"] > 0 for r in cell)
            cells.append(f"{_fmt([r['ratio'] for r in cell])}; ran out {out}/{len(cell)}")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    for solver in online:
        cell = [r for r in mine if r["solver"] == solver and r["V"] is None]
        if cell and all(r["overshoot_pct"] == 0 for r in cell):
            best_line.append((max(r["ratio"] for r in cell), solver))
    if best_line:
        worst_ratio, solver = min(best_line)
        lines += [
            "",
            f"Target: the best online policy within 5% of the offline optimum with the battery never "
            f"exceeded: {solver}, at most {100 * (worst_ratio - 1):.2f}% above, battery kept in every run "
            + ("(met)." if worst_ratio <= 1.05 else "(not met)."),
        ]
    sweep = [r for r in mine if r["solver"] == "horizon-lyapunov" and r["V"] is not None]
    if sweep:
        vs = sorted({r["V"] for r in sweep})
        ratio = [np.mean([r["ratio"] for r in sweep if r["V"] == v]) for v in vs]
        used = [np.mean([100 * r["energy"] / r["energy_max_j"] for r in sweep if r["V"] == v]) for v in vs]
        out = [sum(r["overshoot_pct"] > 0 for r in sweep if r["V"] == v) for v in vs]
        runs = [sum(1 for r in sweep if r["V"] == v) for v in vs]
        lines += [
            "",
            "## The Lyapunov trade-off over V (battery 0.5)",
            "",
            "| V | delay / optimum | energy used (% of E^max) | ran out |",
            "|---|---|---|---|",
        ]
        lines += [f"| {v:g} | {r:.4f} | {u:.2f} | {o}/{n} |" for v, r, u, o, n in zip(vs, ratio, used, out, runs)]
        lines += [
            "",
            "Delay above the offline optimum and battery use against V (means over seeds): small V "
            "prices energy high and leaves battery unused; large V spends up to the reserve for the slots "
            "left. ![Lyapunov trade-off](figures/horizon-lyapunov.png)",
        ]
        _figure(vs, ratio, used)
    (RESULTS / "horizon.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'horizon.md'}")


def _figure(vs, ratio, used) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGURES.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.semilogx(vs, [100 * (r - 1) for r in ratio], "o-", color="tab:blue", label="delay above the optimum (%)")
    ax.set_xlabel("V (dimensionless)")
    ax.set_ylabel("delay above the offline optimum (%)", color="tab:blue")
    twin = ax.twinx()
    twin.semilogx(vs, used, "s--", color="tab:red", label="energy used (% of E^max)")
    twin.axhline(100.0, color="tab:red", linewidth=0.8, linestyle=":")
    twin.set_ylabel("energy used (% of E^max)", color="tab:red")
    ax.set_title("Lyapunov drift-plus-penalty over V")
    fig.tight_layout()
    fig.savefig(FIGURES / "horizon-lyapunov.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
