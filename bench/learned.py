"""Train the paper's agents (mt-a3c, a3c, distributed DQN) and validate them against the optimum.

    python bench/learned.py                 # all below; about 60 minutes on 2 cores
    python bench/learned.py --validate-only # only validate the shipped checkpoints, redraw the plot
    python bench/learned.py --agents --no-sweep    # only the equal-budget convergence runs

1. Shipped policies: mt-a3c, a3c and dqn on the ``paper`` generator's default setting
   (VGG16 in 6 blocks, N = 4), 5 minutes each on all cores, from pools of training
   tasks (seeds below 1,000,000); checkpoints to ``partopt/data/checkpoints/<agent>-m6-n4.pt``
   (slimmed: weights and a summary), curves to ``bench/results/learned-<agent>-curve.csv``.
2. Server sweep: one mt-a3c per N = 2, 3, 5..9, ``--sweep-minutes`` each.
3. Equal-budget convergence (the paper's Fig. 6 on equal terms): each agent trains
   each of ``--convergence-budgets`` episodes (150, 300, 600, 1,200) with the same
   exploration schedule and no time cap, for ``--convergence-seeds`` seeds (a3c: one,
   up to ``--a3c-budget``); ``bench/results/convergence.md`` gets the greedy gaps, the
   fewest episodes that reach a 5%, 2% and 1% gap, and a plot. Finished runs are kept
   in ``bench/results/convergence-runs.csv`` and not redone.
4. Validation with the benchmark harness on the held-out suites ``paper-default-v1`` and
   ``paper-servers-v1`` under the penalty objective (beta = 1): mean and p95 gap to the DP
   optimum, share of placements meeting every deadline, decision time, written to
   ``bench/results/learned.md`` with the plot ``bench/results/figures/convergence.png``.
"""

from __future__ import annotations

import csv

import numpy as np
from _common import RESULTS, bench_parser, header, previous_section

import partopt
from partopt.learned.a3c import A3CConfig, train_a3c
from partopt.learned.dqn import DQNConfig, train_dqn
from partopt.learned.policy import checkpoints_dir, describe_checkpoint, slim_checkpoint

AGENTS = {"mt-a3c": (20000, 5.0), "a3c": (20000, 5.0), "dqn": (20000, 5.0)}  # episodes, minutes cap
SWEEP_SERVERS = [2, 3, 5, 6, 7, 8, 9]
#: Agents trained and validated but not shipped (their checkpoints are ignored by git).
UNSHIPPED = ("a3c",)

#: The report this script writes (in RESULTS).
REPORT = "learned.md"


def run_training(agent: str, out, curve, **settings) -> tuple[dict, object]:
    """Train ``agent`` with ``settings`` (seed 0 unless given); returns (record, config)."""
    settings = {"seed": 0, **settings}
    if agent == "dqn":
        cfg = DQNConfig(**settings)
        return train_dqn(cfg, out, curve_csv=curve), cfg
    cfg = A3CConfig(agent=agent, **settings)
    return train_a3c(cfg, out, curve_csv=curve), cfg


def train(
    agent: str, episodes: int, minutes: float, lines: list[str], num_servers: int = 4, curve_name: str | None = None
) -> None:
    out = checkpoints_dir() / f"{agent}-m6-n{num_servers}.pt"
    curve = RESULTS / (curve_name or f"learned-{agent}-curve.csv")
    params = {} if num_servers == 4 else {"num_servers": num_servers}
    record, cfg = run_training(agent, out, curve, episodes=episodes, max_seconds=60 * minutes, generator_params=params)
    batch = cfg.batch if agent == "dqn" else cfg.t_max * cfg.envs
    slim_checkpoint(out)  # the curve is in the CSV; a shipped file need not resume
    lines.append(
        f"- {agent} (N = {num_servers}): {record['episodes']} episodes of {cfg.horizon} slots in "
        f"{record['wall_seconds']:.0f} s on {cfg.workers or 'all'} workers (lr={cfg.lr}, "
        f"gamma={cfg.gamma}, batch={batch})."
    )


def deadlines_met_pct(rows: list[dict]) -> float:
    """Share of benchmark rows whose placement meets every deadline, in %."""
    return 100 * float(np.mean([bool(r["deadlines_met"]) for r in rows])) if rows else float("nan")


def save_figure(fig, name: str) -> None:
    """Save ``fig`` as ``bench/results/figures/<name>`` and close it."""
    from partopt.bench.plots import _pyplot

    fig.tight_layout()
    (RESULTS / "figures").mkdir(exist_ok=True)
    fig.savefig(RESULTS / "figures" / name, dpi=120)
    _pyplot().close(fig)


RUN_FIELDS = ["agent", "episodes", "seed", "wall_seconds", "mean_gap_pct", "p95_gap_pct", "deadlines_met_pct"]


def equal_budget(budgets: list[int], seeds: int, a3c_budget: int) -> None:
    """Fig. 6 on equal terms: every agent trains each episode budget with the same exploration
    schedule (epsilon over the first 30% of the budget) and no time cap, for ``seeds`` seeds
    (a3c, about 20x slower per episode, one seed and budgets up to ``a3c_budget``); the greedy
    policies are validated on held-out ``paper-default-v1``. Finished runs are kept in
    ``convergence-runs.csv`` and skipped when rerun; writes ``convergence.md`` and the plot
    ``figures/convergence-budgets.png``."""
    runs_csv = RESULTS / "convergence-runs.csv"
    runs = {}
    if runs_csv.exists():
        with open(runs_csv) as fh:
            runs = {(r["agent"], int(r["episodes"]), int(r["seed"])): r for r in csv.DictReader(fh)}
    for agent in AGENTS:
        agent_budgets = [b for b in budgets if agent != "a3c" or b <= a3c_budget]
        for seed in range(1 if agent == "a3c" else seeds):
            for budget in agent_budgets:
                if (agent, budget, seed) in runs:
                    continue
                out = RESULTS / "tmp" / f"convergence-{agent}-{budget}-s{seed}.pt"
                last = seed == 0 and budget == max(agent_budgets)  # its curve is the Fig. 6 curve
                curve = RESULTS / f"convergence-{agent}-curve.csv" if last else None
                record, _ = run_training(agent, out, curve, episodes=budget, seed=seed)
                run = partopt.benchmark(
                    "paper-default-v1",
                    [agent],
                    objective="penalty",
                    beta=1.0,
                    options={agent: {"checkpoint": str(out)}},
                    progress=False,
                )
                s = run.summary[0]
                row = {
                    "agent": agent,
                    "episodes": budget,
                    "seed": seed,
                    "wall_seconds": f"{record['wall_seconds']:.1f}",
                    "mean_gap_pct": f"{s['mean_gap_pct']:.4f}",
                    "p95_gap_pct": f"{s['p95_gap_pct']:.4f}",
                    "deadlines_met_pct": f"{deadlines_met_pct(run.rows):.2f}",
                }
                print(row, flush=True)
                runs[(agent, budget, seed)] = row
                new_file = not runs_csv.exists()
                with open(runs_csv, "a", newline="") as fh:
                    writer = csv.DictWriter(fh, RUN_FIELDS)
                    if new_file:
                        writer.writeheader()
                    writer.writerow(row)
    lines = [
        header("Equal-budget convergence: greedy gap after a given number of training episodes"),
        "",
        "Each cell: one run per seed, trained for exactly that many episodes of 600 slots (epsilon from 1 to "
        "0.01 over the first 30% of them, the learning rate annealed over the run), then validated greedily "
        "on held-out `paper-default-v1` (penalty objective, beta = 1). Runs are in `convergence-runs.csv`.",
        "",
        "| agent | episodes | seeds | mean wall s | mean gap % (seed mean; min - max) | p95 gap % (seed mean) "
        "| deadlines met |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[str, dict[int, list[dict]]] = {}  # agent -> budget -> one row per seed
    for (agent, budget, _), row in sorted(runs.items()):
        groups.setdefault(agent, {}).setdefault(budget, []).append(row)
    mean_gap = {
        agent: {b: float(np.mean([float(r["mean_gap_pct"]) for r in rs])) for b, rs in by_budget.items()}
        for agent, by_budget in groups.items()
    }
    for agent in (a for a in AGENTS if a in groups):
        for budget, rs in groups[agent].items():
            gaps = [float(r["mean_gap_pct"]) for r in rs]
            wall = np.mean([float(r["wall_seconds"]) for r in rs])
            lines.append(
                f"| {agent} | {budget:,} | {len(rs)} | {wall:.0f} | "
                f"{mean_gap[agent][budget]:.2f} ({min(gaps):.2f} - {max(gaps):.2f}) | "
                f"{np.mean([float(r['p95_gap_pct']) for r in rs]):.2f} | "
                f"{np.mean([float(r['deadlines_met_pct']) for r in rs]):.1f}% |"
            )
    lines += [
        "",
        "Fewest episodes after which the seed-mean gap is at most 5%, 2% and 1% (budgets tried: "
        f"{', '.join(f'{b:,}' for b in budgets)}):",
        "",
        "| agent | <= 5% | <= 2% | <= 1% |",
        "|---|---|---|---|",
    ]
    for agent in (a for a in AGENTS if a in groups):
        by_budget = mean_gap[agent]
        cells = [
            next((f"{b:,}" for b in by_budget if by_budget[b] <= level), f"not within {max(by_budget):,}")
            for level in (5.0, 2.0, 1.0)
        ]
        lines.append(f"| {agent} | " + " | ".join(cells) + " |")
    lines += ["", "![gap against episode budget](figures/convergence-budgets.png)"]
    budget_plot(groups, mean_gap)
    (RESULTS / "convergence.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def budget_plot(groups: dict[str, dict[int, list[dict]]], mean_gap: dict[str, dict[int, float]]) -> None:
    """Mean gap against the episode budget, one line per agent (seed means), seeds as dots."""
    from partopt.bench.plots import _pyplot

    fig, ax = _pyplot().subplots(figsize=(6, 4))
    for agent in (a for a in AGENTS if a in groups):
        (line,) = ax.plot(list(mean_gap[agent]), list(mean_gap[agent].values()), marker="o", label=agent)
        seeds = [(b, float(r["mean_gap_pct"])) for b, rs in groups[agent].items() for r in rs]
        ax.scatter(*zip(*seeds), s=10, color=line.get_color(), alpha=0.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training episodes (600 slots each)")
    ax.set_ylabel("mean gap to the optimum (%)")
    ax.set_title("Greedy gap on held-out paper-default-v1 after a training budget")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    save_figure(fig, "convergence-budgets.png")


def sweep_table(rows: list[dict]) -> list[str]:
    """Per number of servers and solver: mean and p95 gap, % meeting every deadline."""
    groups: dict[tuple[int, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((int(r["point"].split("=")[1]), r["solver"]), []).append(r)
    solvers = list(dict.fromkeys(s for _, s in groups))
    out = [
        "| N | " + " | ".join(f"{s} mean / p95 gap %, deadlines met" for s in solvers) + " |",
        "|---|" + "---|" * len(solvers),
    ]
    for n in sorted({n for n, _ in groups}):
        cells = []
        for s in solvers:
            rs = groups.get((n, s), [])
            gaps = np.array([r["gap_pct"] for r in rs if r["gap_pct"] is not None], dtype=float)
            met = deadlines_met_pct(rs)
            cells.append(f"{gaps.mean():.2f} / {np.percentile(gaps, 95):.2f}, {met:.0f}%" if gaps.size else "-")
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    return out


def baseline_reward(solver: str, tasks) -> float:
    return float(np.mean([partopt.solve(t, solver, objective="penalty", seed=0).evaluation.reward(1.0) for t in tasks]))


def convergence_plot(agents: list[str], tasks) -> list[str]:
    """Fig. 6: smoothed mean reward per slot against episodes; returns table lines giving, per
    agent, the first episode that reaches 90% of its own improvement and the first within 10%
    of the optimum's reward (training rewards include exploration, so they stay above it)."""
    from partopt.bench.plots import _pyplot, _write_csv

    fig, ax = _pyplot().subplots(figsize=(7, 4))
    rows, series = [], {}
    for agent in agents:
        path = RESULTS / f"convergence-{agent}-curve.csv"
        if not path.exists():
            continue
        with open(path) as fh:
            curve = list(csv.DictReader(fh))
        ep = np.array([int(r["episode"]) for r in curve])
        rew = np.array([float(r["mean_reward"]) for r in curve])
        order = np.argsort(ep)
        ep, rew = ep[order], rew[order]
        window = max(1, len(rew) // 50)
        smooth = np.convolve(rew, np.ones(window) / window, mode="valid")
        ax.plot(ep[window - 1 :], smooth, label=agent)
        rows += [[agent, e, r] for e, r in zip(ep[window - 1 :], smooth)]
        series[agent] = (ep[window - 1 :], smooth)
    optimum = None
    for solver, style in (("greedy", ":"), ("apdi", "--"), ("rpdi", "-."), ("dp", "-")):
        value = baseline_reward(solver, tasks)
        optimum = value if solver == "dp" else optimum
        ax.axhline(
            value,
            ls=style,
            color="black" if solver == "dp" else "gray",
            label="optimum (dp)" if solver == "dp" else solver,
        )
        rows.append([solver, "", value])
    ax.set_xlabel("episode")
    ax.set_ylabel("average reward per slot, -(L + psi) (s)")
    ax.set_title("Convergence on the paper's default setting (cf. the source paper's Fig. 6)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, "convergence.png")
    _write_csv(RESULTS / "figures" / "convergence.csv", ["series", "episode", "mean_reward_per_slot"], rows)
    lines = [
        "| agent | episodes to 90% of its own improvement | to within 10% of the optimum's reward | "
        "final smoothed reward / optimum's | episodes trained |",
        "|---|---|---|---|---|",
    ]
    for agent, (ep, smooth) in series.items():
        level = smooth[0] + 0.9 * (smooth[-1] - smooth[0])
        reach = [next((int(e) for e, r in zip(ep, smooth) if r >= target), None) for target in (level, 1.1 * optimum)]
        lines.append(
            f"| {agent} | "
            + " | ".join("not reached" if x is None else f"{x:,}" for x in reach)
            + f" | {smooth[-1] / optimum:.3f} | {int(ep.max()):,} |"
        )
    return lines


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--validate-only", action="store_true")
    parser.add_argument(
        "--agents", nargs="*", default=list(AGENTS), choices=list(AGENTS), help="agents to train (none: only the sweep)"
    )
    parser.add_argument("--episodes", type=int, nargs="+", help="training episodes per agent, in order")
    parser.add_argument("--minutes", type=float, nargs="+", help="cap on training minutes per agent, in order")
    parser.add_argument("--no-sweep", action="store_true", help="skip training the server-sweep checkpoints")
    parser.add_argument(
        "--convergence-budgets",
        type=int,
        nargs="*",
        default=[150, 300, 600, 1200],
        help="episode budgets of the equal-budget convergence runs (none: skip them)",
    )
    parser.add_argument("--convergence-seeds", type=int, default=3, help="seeds per budget (a3c: one)")
    parser.add_argument("--a3c-budget", type=int, default=600, help="largest convergence budget of a3c")
    parser.add_argument("--sweep-minutes", type=float, default=3.0, help="training minutes per N of the sweep")
    parser.add_argument(
        "--sweep-servers",
        type=int,
        nargs="+",
        default=SWEEP_SERVERS,
        choices=SWEEP_SERVERS,
        help="which N of the sweep to train",
    )
    args = parser.parse_args()
    lines = [header("Learned agents against the optimum"), ""]
    if not args.validate_only:
        lines += ["## Training (paper generator, VGG16 in 6 blocks, 2 CPU cores)", ""]
        episodes = args.episodes or [AGENTS[a][0] for a in args.agents]
        minutes = args.minutes or [AGENTS[a][1] for a in args.agents]
        for agent, eps, mins in zip(args.agents, episodes, minutes):
            train(agent, eps, mins, lines)
        if not args.no_sweep:
            for n in args.sweep_servers:
                train(
                    "mt-a3c",
                    AGENTS["mt-a3c"][0],
                    args.sweep_minutes,
                    lines,
                    num_servers=n,
                    curve_name=f"tmp/learned-mt-a3c-n{n}-curve.csv",
                )
        lines.append("")
        if args.convergence_budgets:
            equal_budget(args.convergence_budgets, args.convergence_seeds, args.a3c_budget)
    else:
        lines += previous_section(RESULTS / REPORT, "Training")
    shipped = [a for a in AGENTS if (checkpoints_dir() / f"{a}-m6-n4.pt").exists()]
    lines += (
        [
            "## Checkpoints",
            "",
            f"Shipped in `partopt/data/checkpoints/`, but {', '.join(UNSHIPPED)}'s: trained and validated here for "
            "the comparison, not shipped (a3c's network is 40 times mt-a3c's and trails it by far).",
            "",
        ]
        + [
            f"- {describe_checkpoint(path)}"
            for path in sorted(checkpoints_dir().glob("*-m6-n*.pt"))
            if path.name.split("-m")[0] in AGENTS
        ]
        + [""]
    )
    for extra in ("imitation", "distilled"):
        if (checkpoints_dir() / f"{extra}-m6-n4.pt").exists():
            shipped.append(extra)
    run = partopt.benchmark(
        "paper-default-v1",
        ["dp", "greedy", "apdi", "rpdi", *shipped],
        objective="penalty",
        beta=1.0,
        out=RESULTS / "learned-paper-default-v1.csv",
        redo=shipped,
    )
    lines += [
        "## Validation on held-out `paper-default-v1` (penalty objective, beta = 1; greedy decoding)",
        "",
        "```",
        run.table(),
        "```",
        "",
    ]
    by_solver: dict[str, list[dict]] = {}
    for r in run.rows:
        by_solver.setdefault(r["solver"], []).append(r)
    lines += ["| solver | placements meeting every deadline |", "|---|---|"]
    lines += [f"| {s} | {deadlines_met_pct(rs):.1f}% |" for s, rs in by_solver.items()]
    sweep_n = [n for n in [*SWEEP_SERVERS, 4] if (checkpoints_dir() / f"mt-a3c-m6-n{n}.pt").exists()]
    if len(sweep_n) == len(SWEEP_SERVERS) + 1:
        sweep = partopt.benchmark(
            "paper-servers-v1",
            ["dp", "greedy", "apdi", "rpdi", "mt-a3c"],
            objective="penalty",
            beta=1.0,
            out=RESULTS / "learned-paper-servers-v1.csv",
            redo=["mt-a3c"],
        )
        lines += [
            "",
            "## Server sweep: held-out `paper-servers-v1`, one mt-a3c checkpoint per N (penalty, beta = 1)",
            "",
            "```",
            sweep.table(),
            "```",
            "",
            *sweep_table(sweep.rows),
        ]
    else:
        lines += ["", f"Server sweep skipped: mt-a3c checkpoints exist only for N = {sorted(sweep_n)}."]
    tasks = partopt.PaperGenerator().generate_many(300, seed=4242)
    lines += [
        "",
        "## Convergence: equal budgets, same exploration schedule (`convergence.md` has the gaps)",
        "",
        "Smoothed mean reward per slot of the training runs (exploration included), each agent "
        "trained for the same number of episodes with epsilon falling over the first 30% of them.",
        "",
        "Training rewards are those of the exploring policy: DQN acts near-greedily once epsilon has fallen, "
        "while mt-a3c samples from its stochastic heads (entropy bonus 0.1), so its training reward stays "
        "about 10% below the optimum's even when its greedy policy is within 1% of it. How fast each "
        "agent's *greedy* policy converges is in `convergence.md` (gap after an episode budget, three seeds).",
        "",
    ]
    lines += convergence_plot(list(AGENTS), tasks)
    lines += ["", "![convergence](figures/convergence.png)", ""]
    (RESULTS / REPORT).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
