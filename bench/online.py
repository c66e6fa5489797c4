"""The shared edge online (model Part IV): online policies on streams of rising rate, beside the
clairvoyant reference's proven interval.

For each arrival rate (tasks per second over all devices) and seed, one stream of the "stream"
generator (N = 4 servers, 4 devices with batteries, the four small networks) is simulated under
every online policy: mean and p95 delay, deadline misses, device energy, the lowest battery
level, and how fast the simulation runs. The clairvoyant reference, which sees the whole stream,
is bracketed:

- above, the least total delay of a valid schedule known: every policy's, and the offline
  earliest-finish, order search (``--limit``) and learned search (12 x ``--limit``) on the whole
  stream, each checked against the batteries by ``partopt.evaluate``;
- below, the larger of two lower bounds on the total delay of any schedule of the stream,
  each under the penalty objective with beta = 0 (total delay, deadlines not required,
  batteries dropped): for each length in ``--window`` (0.25 and 0.5 s), the sum over windows
  of that length of the default exact solver's bound on each window's scenario
  (``Stream.window``, servers free at the window's start; model Part IV), and that solver's
  bound on the whole stream as one scenario (3 x ``--limit``). Each is valid, so the largest is.
  Short windows give strong bounds on few tasks but miss the queue carried from one window to
  the next; long ones see more of it with weaker bounds (at 60 tasks/s, seed 0: 12.4 s with
  0.25 s windows, 14.4 s with 0.5 s, 13.4 s with 1 s, 13.5 s for the whole stream).

An online policy's *ratio* is its total delay over the best valid schedule; *ratio to bound*
its total delay over the lower bound (the true ratio to the clairvoyant optimum lies between).
The learned policy is also set against every hand-written online policy on held-out streams of
the distribution it trains on (``--trained-count`` a rate, computed with each report: simulation
only), at the rates it trains for.

Rows are kept in ``results/online.csv`` as they finish (an interrupted run resumes); the report
is ``results/online.md`` and the battery trajectories ``results/online_battery.png``.
"""

from __future__ import annotations

import math

import numpy as np
from _common import RESULTS, CsvRows, bench_parser, header, resumable_bench

import partopt
from partopt.stream.evaluation import evaluate_stream

SEED = 5_000_000
POLICIES = {
    "local": {},
    "greedy-load": {},
    "earliest-finish": {},
    "gap-filling": {},
    "lyapunov": {"V": 1.0},
    "rolling-horizon": {"batch_s": 0.02, "time_limit": 0.2},
    "learned": {},  # the shipped weights of online-learned, trained in partopt/SharedEdge-v0
}
#: Offline solvers on the whole stream: options, and time limit as a multiple of ``--limit`` (the
#: learned search ends by its own budget of moves, 35-40 s on 130-140 tasks).
OFFLINE = {
    "earliest-finish": ({}, 1),
    "shared-order-search": ({"seed": 0}, 1),
    "shared-learned-search": ({"seed": 0}, 12),
}
FIELDS = [
    "rate",
    "seed",
    "tasks",
    "method",
    "total_s",
    "mean_ms",
    "p95_ms",
    "misses",
    "energy_j",
    "min_battery",
    "valid",
    "tasks_per_s",
    "decision_ms",
]


def _parse(row: dict) -> dict:
    out = dict(row, rate=float(row["rate"]), seed=int(row["seed"]), tasks=int(row["tasks"]))
    for key in ("total_s", "mean_ms", "p95_ms", "energy_j", "min_battery", "tasks_per_s", "decision_ms"):
        out[key] = float(row[key]) if row[key] not in ("", "None") else math.nan
    out["misses"] = int(row["misses"]) if row["misses"] not in ("", "None") else -1
    out["valid"] = row["valid"] in ("True", True)
    return out


def stream_for(rate: float, seed: int, horizon_s: float) -> partopt.Stream:
    return partopt.generate("stream", seed=SEED + seed, rate_per_s=rate, horizon_s=horizon_s)


def _lowest_battery(stream: partopt.Stream, levels) -> float:
    """The lowest battery level reached, as a share of its capacity (1 with no battery)."""
    shares = [
        min(row) / b.capacity_j for b, row in zip(stream.batteries, levels) if b is not None and row and b.capacity_j
    ]
    return min(shares, default=1.0)


def _policy(name: str):
    if name == "learned":
        from partopt.learned.online import load_online_dispatch

        return load_online_dispatch()
    return name


def online_row(stream: partopt.Stream, policy: str, options: dict) -> dict:
    report = partopt.simulate(stream, _policy(policy), **options)
    ev = report.evaluation()
    return {
        "total_s": ev.total_delay,
        "mean_ms": 1e3 * report.mean_delay_s,
        "p95_ms": 1e3 * report.delay_quantile(0.95),
        "misses": report.deadline_misses,
        "energy_j": report.energy_j,
        "min_battery": _lowest_battery(stream, report.battery_j),
        "valid": ev.valid and ev.budget_kept,
        "tasks_per_s": report.tasks_per_second,
        "decision_ms": 1e3 * report.decision_s / max(stream.scenario.num_tasks, 1),
    }


def offline_row(stream: partopt.Stream, solver: str, options: dict, limit: float) -> dict:
    """An offline solver on the whole stream's scenario (batteries unseen), its schedule then
    checked against the batteries."""
    result = partopt.solve(stream.scenario, solver, time_limit=limit, **options)
    if result.placement is None:
        return {"total_s": math.nan, "valid": False}
    ev = evaluate_stream(stream, result.placement, result.start_s)
    delays = ev.schedule.task_delay
    return {
        "total_s": ev.total_delay,
        "mean_ms": 1e3 * ev.total_delay / len(delays),
        "p95_ms": 1e3 * float(np.quantile(delays, 0.95)),
        "misses": ev.deadline_misses,
        "energy_j": ev.energy,
        "min_battery": _lowest_battery(stream, ev.battery_j),
        "valid": ev.valid and ev.budget_kept,
        "tasks_per_s": len(delays) / max(result.runtime, 1e-9),
    }


def window_bound(stream: partopt.Stream, window_s: float, limit: float) -> float:
    """The sum over windows of the default exact solver's bound on total delay (s)."""
    total, start = 0.0, 0.0
    releases = [t.release_s for t in stream.scenario.tasks]
    end = max(releases) + window_s
    while start < end:
        if any(start <= r < start + window_s for r in releases):
            window = stream.window(start, start + window_s)
            result = partopt.solve(window, objective="penalty", beta=0.0, time_limit=limit)
            total += result.bound
        start += window_s
    return total


def whole_bound(stream: partopt.Stream, limit: float) -> float:
    """The default exact solver's bound on the total delay of the whole stream as one scenario
    (penalty objective, beta = 0, batteries dropped; s)."""
    return partopt.solve(stream.scenario, objective="penalty", beta=0.0, time_limit=limit).bound


def run(rates, count, horizon_s, window_s: list[float], limit, fresh) -> CsvRows:
    rows = CsvRows(RESULTS / "online.csv", FIELDS, fresh, _parse)
    done = {(r["rate"], r["seed"], r["method"]) for r in rows.rows}
    for rate in rates:
        for seed in range(count):
            stream = stream_for(rate, seed, horizon_s)
            base = {"rate": float(rate), "seed": seed, "tasks": stream.scenario.num_tasks}
            jobs = [(f"online {p}", lambda p=p, o=o: online_row(stream, p, o)) for p, o in POLICIES.items()]
            jobs += [
                (f"offline {s}", lambda s=s, o=o, x=x: offline_row(stream, s, o, x * limit))
                for s, (o, x) in OFFLINE.items()
            ]
            jobs += [
                (f"bound windows {w:g} s", lambda w=w: {"total_s": window_bound(stream, w, limit), "valid": True})
                for w in window_s
            ]
            jobs.append(("bound whole", lambda: {"total_s": whole_bound(stream, 3 * limit), "valid": True}))
            for method, job in jobs:
                if (float(rate), seed, method) in done:
                    continue
                row = rows.append({**dict.fromkeys(FIELDS, ""), **base, "method": method, **job()})
                print(f"rate {rate}/s seed {seed} {method}: {row['total_s']:.3f} s valid {row['valid']}", flush=True)
    return rows


def report(rows: CsvRows, horizon_s: float, window_s: list[float], limit: float) -> str:
    lines = [header("The shared edge online: policies against the clairvoyant interval"), ""]
    lines += [
        f"Streams of {horizon_s:g} s (generator `stream`: N = 4 servers, 4 devices with batteries); "
        f"offline solvers and each window's bound with a {limit:g} s limit (the learned search "
        f"{OFFLINE['shared-learned-search'][1] * limit:g} s), windows of "
        f"{' and '.join(f'{w:g}' for w in window_s)} s (one sum each); "
        f"the whole stream's bound with {3 * limit:g} s; the lower bound is the largest. "
        "*ratio*: total delay over the best valid schedule known (offline solvers included); "
        "*ratio to bound*: over the lower bound. The clairvoyant optimum's ratio lies between "
        "the best valid schedule's (1) and its ratio to bound. *valid*: every block's schedule and every "
        "battery kept (`partopt.evaluate`).",
        "",
        "| rate /s | tasks | method | mean ms | p95 ms | misses | energy J | lowest battery | valid | "
        "ratio | ratio to bound | tasks/s simulated | ms per decision |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    methods = [f"online {p}" for p in POLICIES] + [f"offline {s}" for s in OFFLINE]
    for rate in sorted({r["rate"] for r in rows.rows}):
        at = [r for r in rows.rows if r["rate"] == rate]
        seeds = sorted({r["seed"] for r in at})
        best, bound = {}, {}
        for seed in seeds:
            mine = [r for r in at if r["seed"] == seed]
            best[seed] = min(
                (r["total_s"] for r in mine if r["valid"] and not r["method"].startswith("bound")), default=math.nan
            )
            bound[seed] = max((r["total_s"] for r in mine if r["method"].startswith("bound")), default=math.nan)
        for method in methods:
            sel = [r for r in at if r["method"] == method]
            if not sel:
                continue

            def mean(key, sel=sel):
                return sum(r[key] for r in sel) / len(sel)

            ratio = sum(r["total_s"] / best[r["seed"]] for r in sel) / len(sel)
            to_bound = sum(r["total_s"] / bound[r["seed"]] for r in sel) / len(sel)
            speed = f"{mean('tasks_per_s'):,.0f} | {mean('decision_ms'):.3f}" if method.startswith("online") else " | "
            lines.append(
                f"| {rate:g} | {mean('tasks'):.0f} | {method} | {mean('mean_ms'):.1f} | {mean('p95_ms'):.1f} | "
                f"{mean('misses'):.1f} | {mean('energy_j'):.2f} | {mean('min_battery'):.2f} | "
                f"{sum(r['valid'] for r in sel)}/{len(sel)} | {ratio:.3f} | {to_bound:.3f} | {speed} |"
            )
        gap = [100 * (best[s] / bound[s] - 1) for s in seeds]
        lines.append(
            f"| {rate:g} | | *clairvoyant interval* | | | | | | | 1 | {1 + sum(gap) / len(gap) / 100:.3f} | | |"
        )
    lines += [
        "",
        "![delay and misses against the rate](online_rates.png)",
        "",
        "![battery levels](online_battery.png)",
        "",
    ]
    return "\n".join(lines) + "\n"


#: Seeds of the held-out streams of the learned policy's own distribution (its training
#: episodes use seeds below 1,000,000).
HELD_OUT_SEED = 1_500_000


def trained_distribution(count: int) -> str:
    """Every online policy but rolling-horizon (35-90 ms a decision) on ``count`` held-out streams
    a rate of the distribution the learned policy trains on (``partopt/SharedEdge-v0``'s default:
    every network cut into 6 blocks), at the rates it trains for: total delay over gap-filling's."""
    from partopt.learned.online import load_online_dispatch
    from partopt.learned.shared_env import DEFAULT_STREAM

    learned = load_online_dispatch()
    rates = learned.trained["rates_per_s"] if learned.trained else [60.0]
    names = [p for p in POLICIES if p != "rolling-horizon"]
    policies = {p: learned if p == "learned" else p for p in names}
    lines = [
        f"The learned policy on its own distribution: {count} held-out streams a rate (seeds "
        f"{HELD_OUT_SEED:,} on) of `partopt/SharedEdge-v0`'s default ({DEFAULT_STREAM['horizon_s']:g} s, every "
        "network in 6 blocks; the table above cuts each at its natural blocks) at the rates it trains for. "
        "Mean total delay over gap-filling's on the same stream; *valid*: streams with every battery kept. "
        "rolling-horizon is left out (35-90 ms a decision; above it is never the best).",
        "",
        "| rate /s | " + " | ".join(names) + " | learned no worse than the best hand-written |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for rate in rates:
        streams = [
            partopt.generate("stream", seed=HELD_OUT_SEED + i, **{**DEFAULT_STREAM, "rate_per_s": rate})
            for i in range(count)
        ]
        evals = {p: [partopt.simulate(st, policies[p], **POLICIES[p]).evaluation() for st in streams] for p in names}
        base = [e.total_delay for e in evals["gap-filling"]]
        ratio = {p: float(np.mean([e.total_delay / b for e, b in zip(evals[p], base)])) for p in names}
        valid = {p: sum(e.valid and e.budget_kept for e in evals[p]) for p in names}
        hand = min(ratio[p] for p in names if p != "learned" and valid[p] == count)
        verdict = "yes" if valid["learned"] == count and ratio["learned"] <= hand * (1 + 1e-9) else "no"
        cells = " | ".join(f"{ratio[p]:.4f} ({valid[p]}/{count})" for p in names)
        lines.append(f"| {rate:g} | {cells} | {verdict} |")
    return "\n".join(lines) + "\n"


def plot_rates(rows: CsvRows, path) -> None:
    """Mean delay and deadline misses against the arrival rate, one line per online policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    rates = sorted({r["rate"] for r in rows.rows})
    for policy in POLICIES:
        sel = [[r for r in rows.rows if r["rate"] == rate and r["method"] == f"online {policy}"] for rate in rates]
        if not all(sel):
            continue
        left.plot(rates, [sum(r["mean_ms"] for r in at) / len(at) for at in sel], marker="o", label=policy)
        right.plot(rates, [sum(r["misses"] / r["tasks"] for r in at) / len(at) for at in sel], marker="o")
    left.set_yscale("log")
    left.set_xlabel("arrival rate (tasks/s)")
    left.set_ylabel("mean delay (ms)")
    right.set_xlabel("arrival rate (tasks/s)")
    right.set_ylabel("share of tasks missing their deadline")
    left.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_batteries(rate: float, horizon_s: float, path) -> None:
    """Each device's battery level over time under earliest-finish and lyapunov at one rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stream = stream_for(rate, 0, horizon_s)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, policy in zip(axes, ("earliest-finish", "lyapunov")):
        report = partopt.simulate(stream, policy, **POLICIES[policy])
        tasks = stream.scenario.tasks
        for d, battery in enumerate(stream.batteries):
            if battery is None:
                continue
            times = [tasks[k].release_s for k in stream.arrival_order if tasks[k].device == d]
            ax.step(times, [lvl / battery.capacity_j for lvl in report.battery_j[d]], where="post", label=f"device {d}")
        ax.set_title(f"{policy} ({rate:g} tasks/s)")
        ax.set_xlabel("time (s)")
        ax.axhline(0.0, color="black", linewidth=0.5)
    axes[0].set_ylabel("battery level / capacity")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def throughput(tasks: int = 90_000) -> str:
    """Simulation speed of earliest-finish: compiled (the whole run, and its decisions and
    commits alone) against the Python loop on the same stream, no batteries (mains power)."""
    from partopt.shared.kernels import ListScheduler

    rate = 60.0
    stream = partopt.generate("stream", seed=SEED, rate_per_s=rate, horizon_s=tasks / rate, battery_j=None)
    partopt.simulate(stream.replace(scenario=stream.window(0.0, 1.0)), "earliest-finish")  # compile first
    fast = partopt.simulate(stream, "earliest-finish")
    scheduler = ListScheduler(stream.scenario)
    scheduler.schedule(stream.arrival_order, keep_deadlines=True)
    kernel = min(_timed(lambda: scheduler.schedule(stream.arrival_order, keep_deadlines=True)) for _ in range(3))
    part = stream.replace(scenario=stream.window(0.0, 20_000 / rate))
    slow = partopt.simulate(part, "earliest-finish", compiled=False)
    k = stream.scenario.num_tasks
    return "\n".join(
        [
            f"Simulation speed, earliest-finish at {rate:g} tasks/s on N = 4 servers, no batteries "
            f"({k:,} tasks compiled, {part.scenario.num_tasks:,} in Python; one process):",
            "",
            "| run | tasks/s | ratio to Python |",
            "|---|---|---|",
            f"| Python loop (`compiled=False`) | {slow.tasks_per_second:,.0f} | 1 |",
            f"| compiled, whole run (packing, schedule, pricing every task) | {fast.tasks_per_second:,.0f} | "
            f"{fast.tasks_per_second / slow.tasks_per_second:.1f} |",
            f"| compiled decisions and commits alone | {k / kernel:,.0f} | {k / kernel / slow.tasks_per_second:.1f} |",
            "",
        ]
    )


def _timed(fn) -> float:
    import time

    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


def _report_with_plots(rows: CsvRows, args) -> str:
    """The report, after drawing the battery trajectories and the delay against the rate."""
    plot_batteries(max(args.rates), args.horizon, RESULTS / "online_battery.png")
    plot_rates(rows, RESULTS / "online_rates.png")
    return (
        report(rows, args.horizon, args.window, args.limit)
        + "\n"
        + trained_distribution(args.trained_count)
        + "\n"
        + throughput()
    )


def main() -> None:
    ap = bench_parser(__doc__)
    ap.add_argument("--rates", type=float, nargs="+", default=[10, 25, 30, 60, 100, 120, 200], help="tasks per second")
    ap.add_argument("--count", type=int, default=2, help="streams per rate (default 2)")
    ap.add_argument("--horizon", type=float, default=2.0, help="stream length (s, default 2)")
    ap.add_argument(
        "--window", type=float, nargs="+", default=[0.25, 0.5], help="windows of the lower bound, one sum each (s)"
    )
    ap.add_argument("--limit", type=float, default=5.0, help="time limit per offline solve and window (s)")
    ap.add_argument(
        "--trained-count", type=int, default=16, help="held-out streams a rate of the learned policy's distribution"
    )
    resumable_bench(
        ap,
        "online",
        FIELDS,
        _parse,
        lambda a: run(a.rates, a.count, a.horizon, a.window, a.limit, a.fresh),
        _report_with_plots,
    )


if __name__ == "__main__":
    main()
