"""Plots of benchmark rows (matplotlib, PNG), each written with the CSV behind it."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

__all__ = ["parse_point", "plot_gaps", "plot_normalized", "plot_sweep", "read_rows"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def read_rows(path: str | Path) -> list[dict]:
    """Rows of a benchmark CSV with numbers parsed."""
    from partopt.bench import harness

    rows = harness.read_rows(Path(path))
    if not rows:
        raise ValueError(f"rows: {path} holds no benchmark rows")
    return rows


def parse_point(label: str) -> tuple[str, str | None, float | None]:
    """'vgg16,rate_MBps=1.5' -> ('vgg16', 'rate_MBps', 1.5); 'servers=4' -> ('', 'servers', 4.0)."""
    series, _, rest = label.rpartition(",")
    if "=" not in rest:
        return label, None, None
    axis, value = rest.split("=", 1)
    try:
        return series, axis, float(value)
    except ValueError:
        return label, None, None


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def plot_gaps(rows_path: str | Path, out_prefix: str | Path) -> list[Path]:
    """Box plot of the gap (%) to the reference per solver, over rows where both are feasible."""
    rows = read_rows(rows_path)
    gaps: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["gap_pct"] is not None:
            gaps[r["solver"]].append(r["gap_pct"])
    solvers = [s for s in dict.fromkeys(r["solver"] for r in rows) if gaps[s]]
    out = Path(out_prefix)
    _write_csv(out.with_suffix(".csv"), ["solver", "gap_pct"], [[s, g] for s in solvers for g in gaps[s]])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(solvers) + 2, 4))
    ax.boxplot([gaps[s] for s in solvers], showfliers=True)
    ax.set_xticks(range(1, len(solvers) + 1), solvers, rotation=30, ha="right")
    ax.set_ylabel("gap to optimum (%)")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_title(f"{Path(rows_path).stem}: gap to the optimum (feasible answers)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    plt.close(fig)
    return [out.with_suffix(".png"), out.with_suffix(".csv")]


def _mean_references(table: dict, series: str, solvers: list[str]) -> tuple[list[float], list[float]]:
    """A sweep series' axis values and, at each, the mean finite reference over every solver's rows."""
    refs = sorted({v for (s, _, v) in table if s == series})
    opt = [
        np.mean(
            [
                r["reference"]
                for so in solvers
                for r in table.get((series, so, x), [])
                if r["reference"] is not None and math.isfinite(r["reference"])
            ]
            or [np.nan]
        )
        for x in refs
    ]
    return refs, [float(v) for v in opt]


def plot_sweep(rows_path: str | Path, out_prefix: str | Path, axis: str | None = None) -> list[Path]:
    """Mean total delay and mean device energy per solver against the suite's sweep axis,
    the reference optimum drawn as a black line; one panel pair per series (e.g. DNN)."""
    rows = read_rows(rows_path)
    table: dict[tuple[str, str, float], list[dict]] = defaultdict(list)
    axis_name = axis
    for r in rows:
        series, ax_name, value = parse_point(r["point"])
        if value is None:
            continue
        axis_name = axis_name or ax_name
        table[(series, r["solver"], value)].append(r)
    if not table:
        raise ValueError(f"rows: {rows_path} has no sweep points (labels like 'servers=4')")
    series_list = list(dict.fromkeys(k[0] for k in table))
    solvers = list(dict.fromkeys(k[1] for k in table))
    out = Path(out_prefix)
    csv_rows = []
    plt = _pyplot()
    fig, axes = plt.subplots(2, len(series_list), figsize=(4.5 * len(series_list), 7), squeeze=False)
    for c, series in enumerate(series_list):
        for solver in solvers:
            xs = sorted(v for (s, so, v) in table if s == series and so == solver)
            delay = [
                np.mean([r["total_delay"] for r in table[(series, solver, x)] if r["total_delay"] is not None])
                for x in xs
            ]
            energy = [np.mean([r["energy"] for r in table[(series, solver, x)] if r["energy"] is not None]) for x in xs]
            feas = [np.mean([r["status"] in ("optimal", "feasible") for r in table[(series, solver, x)]]) for x in xs]
            style = {"color": "black", "lw": 2.5, "zorder": 5} if solver == "dp" else {"marker": "o", "ms": 3}
            axes[0, c].plot(xs, delay, label="optimum (dp)" if solver == "dp" else solver, **style)
            axes[1, c].plot(xs, energy, label="optimum (dp)" if solver == "dp" else solver, **style)
            csv_rows += [[series, solver, x, d, e, f] for x, d, e, f in zip(xs, delay, energy, feas)]
        if "dp" not in solvers:
            refs, opt = _mean_references(table, series, solvers)
            axes[0, c].plot(refs, opt, color="black", lw=2.5, label="optimum")
        axes[0, c].set_title(series or Path(rows_path).stem)
        axes[0, c].set_ylabel("mean total delay (s)")
        axes[1, c].set_ylabel("mean device energy (J)")
        for a in axes[:, c]:
            a.set_xlabel(axis_name or "value")
            a.grid(alpha=0.3)
            a.set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    plt.close(fig)
    _write_csv(
        out.with_suffix(".csv"),
        ["series", "solver", axis_name or "value", "mean_total_delay_s", "mean_energy_j", "feasible_fraction"],
        csv_rows,
    )
    return [out.with_suffix(".png"), out.with_suffix(".csv")]


def plot_normalized(rows_path: str | Path, out_prefix: str | Path, title: str = "") -> list[Path]:
    """Bar chart of mean latency normalized by the optimum (optimum = 1), as the DIL paper's Fig. 5."""
    rows = read_rows(rows_path)
    ratios: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["total_delay"] is not None and r["reference"] and math.isfinite(r["reference"]):
            ratios[r["solver"]].append(r["total_delay"] / r["reference"])
    solvers = list(ratios)
    means = [float(np.mean(ratios[s])) for s in solvers]
    out = Path(out_prefix)
    _write_csv(
        out.with_suffix(".csv"),
        ["solver", "normalized_latency", "instances"],
        [[s, m, len(ratios[s])] for s, m in zip(solvers, means)],
    )
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.1 * len(solvers) + 2, 4))
    bars = ax.bar(solvers, means, color=["black" if s == "dp" else "tab:blue" for s in solvers])
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.axhline(1.0, color="black", lw=1)
    ax.set_ylabel("mean latency / optimum")
    ax.set_yscale("log")
    ax.set_title(title or f"{Path(rows_path).stem}: normalized latency (optimum = 1)")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    plt.close(fig)
    return [out.with_suffix(".png"), out.with_suffix(".csv")]
