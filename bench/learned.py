"""Train the paper's agents (mt-a3c, a3c, distributed DQN) and validate them against the optimum.

    python bench/learned.py                       # 400, 200, 150 episodes (capped at 8, 4, 4 minutes)
    python bench/learned.py --validate-only       # only validate the shipped checkpoints

Training uses the ``paper`` generator's default setting (VGG16 in 6 blocks, N = 4) with
training seeds; checkpoints go to ``instances/checkpoints/<agent>-m6-n4.pt``, curves to
``bench/results/learned-<agent>-curve.csv``. Validation runs the benchmark harness on
the held-out suite ``paper-default-v1`` under the penalty objective (beta = 1): mean and
p95 gap to the DP optimum, share of placements meeting every deadline, decision time.
It writes ``bench/results/learned.md`` and the convergence plot
``bench/results/figures/convergence.png`` (the paper's Fig. 6 axes).
"""

from __future__ import annotations

import argparse
import csv

import numpy as np

import partopt
from partopt.learned.a3c import A3CConfig, train_a3c
from partopt.learned.dqn import DQNConfig, train_dqn
from partopt.learned.policy import checkpoints_dir, describe_checkpoint

from _common import RESULTS, header

AGENTS = {"mt-a3c": (400, 8.0), "a3c": (200, 4.0), "dqn": (150, 4.0)}  # episodes, minutes cap


def train(agent: str, episodes: int, minutes: float, lines: list[str]) -> None:
    out = checkpoints_dir() / f"{agent}-m6-n4.pt"
    curve = RESULTS / f"learned-{agent}-curve.csv"
    if agent == "dqn":
        cfg = DQNConfig(episodes=episodes, max_seconds=60 * minutes, seed=0)
        record = train_dqn(cfg, out, curve_csv=curve)
    else:
        cfg = A3CConfig(agent=agent, episodes=episodes, max_seconds=60 * minutes, seed=0)
        record = train_a3c(cfg, out, curve_csv=curve)
    lines.append(f"- {agent}: {record['episodes']} episodes of {cfg.horizon} slots in "
                 f"{record['wall_seconds']:.0f} s on {cfg.workers or 'all'} workers (config: lr={cfg.lr}, "
                 f"gamma={cfg.gamma}, batch={getattr(cfg, 't_max', getattr(cfg, 'batch', None))}).")


def baseline_reward(solver: str, tasks) -> float:
    return float(np.mean([partopt.solve(t, solver, objective="penalty", seed=0).evaluation.reward(1.0)
                          for t in tasks]))


def convergence_plot(agents: list[str], tasks) -> None:
    from partopt.plots import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    rows = []
    for agent in agents:
        path = RESULTS / f"learned-{agent}-curve.csv"
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
        ax.plot(ep[window - 1:], smooth, label=agent)
        rows += [[agent, e, r] for e, r in zip(ep[window - 1:], smooth)]
    for solver, style in (("greedy", ":"), ("apdi", "--"), ("rpdi", "-."), ("dp", "-")):
        value = baseline_reward(solver, tasks)
        ax.axhline(value, ls=style, color="black" if solver == "dp" else "gray",
                   label="optimum (dp)" if solver == "dp" else solver)
        rows.append([solver, "", value])
    ax.set_xlabel("episode")
    ax.set_ylabel("average reward per slot, -(L + psi) (s)")
    ax.set_title("Convergence on the paper's default setting (cf. the source paper's Fig. 6)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    (RESULTS / "figures").mkdir(exist_ok=True)
    fig.savefig(RESULTS / "figures" / "convergence.png", dpi=120)
    plt.close(fig)
    with open(RESULTS / "figures" / "convergence.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["series", "episode", "mean_reward_per_slot"])
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validate-only", action="store_true")
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=list(AGENTS))
    parser.add_argument("--episodes", type=int, nargs="+", help="training episodes per agent, in order")
    parser.add_argument("--minutes", type=float, nargs="+", help="cap on training minutes per agent, in order")
    args = parser.parse_args()
    lines = [header("Learned agents against the optimum"), ""]
    if not args.validate_only:
        lines += ["## Training (paper generator, VGG16 in 6 blocks, N = 4, 2 CPU cores)", ""]
        episodes = args.episodes or [AGENTS[a][0] for a in args.agents]
        minutes = args.minutes or [AGENTS[a][1] for a in args.agents]
        for agent, eps, mins in zip(args.agents, episodes, minutes):
            train(agent, eps, mins, lines)
        lines.append("")
    shipped = [a for a in AGENTS if (checkpoints_dir() / f"{a}-m6-n4.pt").exists()]
    lines += ["## Shipped checkpoints", ""] + [f"- {describe_checkpoint(checkpoints_dir() / f'{a}-m6-n4.pt')}"
                                               for a in shipped] + [""]
    for extra in ("imitation", "distilled"):
        if (checkpoints_dir() / f"{extra}-m6-n4.pt").exists():
            shipped.append(extra)
    run = partopt.benchmark("paper-default-v1", ["dp", "greedy", "apdi", "rpdi"] + shipped, objective="penalty",
                            beta=1.0, out=RESULTS / "learned-paper-default-v1.csv")
    lines += ["## Validation on held-out `paper-default-v1` (penalty objective, beta = 1; greedy decoding)", "",
              "```", run.table(), "```", ""]
    met = {}
    for r in run.rows:
        met.setdefault(r["solver"], []).append(bool(r["deadlines_met"]))
    lines += ["| solver | placements meeting every deadline |", "|---|---|"]
    lines += [f"| {s} | {100 * np.mean(v):.1f}% |" for s, v in met.items()]
    tasks = partopt.PaperGenerator().generate_many(300, seed=4242)
    convergence_plot(list(AGENTS), tasks)
    lines += ["", "![convergence](figures/convergence.png)", ""]
    (RESULTS / "learned.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
