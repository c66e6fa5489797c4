"""The learned shared-edge dispatch against every shared-edge heuristic and the best known.

    python bench/shared_learned.py           # suites K = 16, 64 and fresh draws (about 5 minutes)
    python bench/shared_learned.py --fresh   # drop stored rows
    python bench/shared_learned.py --train   # first retrain the shipped checkpoint (about 15 minutes on 2 cores)
    python bench/shared_learned.py --choose --count 60   # the default decodings, on validation draws (seconds)

1. The stored suites ``shared-k16-v1`` and ``shared-k64-v1``: gap of each solver to the
   suite's best known solution (hard objective), decision time per task.
2. Held-out draws (seeds 4,000,000 and above, never trained on): ``--count`` scenarios at
   each of K = 16 and 64, release rates 30-110 /s, the suites' mix of DNNs, N = 2..9 and
   three devices; mean total delay of each solver relative to earliest-finish.

Rows go to ``bench/results/shared_learned.csv`` as they finish; the report to
``bench/results/shared_learned.md``.
"""

from __future__ import annotations

import time

import numpy as np
from _common import RESULTS, CsvRows, header, learned_bench_parser

import partopt
import partopt.bench.suites
from partopt.shared.generators import SHARED_MIX

LEARNED = "shared-learned"
HEURISTICS = ["earliest-finish", "shared-local-search", "shared-greedy", "as-if-alone"]
FIELDS = ["set", "scenario", "K", "solver", "objective", "best_known", "ms_per_task"]
RATES = (30, 50, 70, 90, 110)
SEED = 4_000_000


#: Validation draws (seeds 6,000,000 + K), on which ``--choose`` picks the default decodings: never the
#: sets this script reports on.
VALIDATION_SEED = 6_000_000
#: The grid ``--choose`` selects from: price scales x task-order lookaheads.
GRID_SCALES = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
GRID_LOOKAHEADS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: At most this many decodings by default (each costs about 0.03 ms per task).
MAX_DECODINGS = 16
#: Row label -> (solver, options).
SOLVERS = {
    LEARNED: (LEARNED, {}),
    f"{LEARNED} one decoding": (LEARNED, {"decodings": [(1.0, 0.0)]}),
    f"{LEARNED} polish": (LEARNED, {"polish": True}),
    **{h: (h, {}) for h in HEURISTICS},
    "shared-local-search fifo": ("shared-local-search", {"dispatch": "fifo"}),
}


def _run(rows: CsvRows, done: set, set_name: str, label: str, scenario, best_known: float | None) -> None:
    for name, (solver, options) in SOLVERS.items():
        if (set_name, label, name) in done:
            continue
        start = time.perf_counter()
        res = partopt.solve(scenario, solver, **options)
        ms = 1e3 * (time.perf_counter() - start) / scenario.num_tasks
        rows.append(
            {
                "set": set_name,
                "scenario": label,
                "K": scenario.num_tasks,
                "solver": name,
                "objective": res.objective,
                "best_known": best_known if best_known is not None else "",
                "ms_per_task": ms,
            }
        )


def parse(r: dict) -> dict:
    r["K"] = int(r["K"])
    r["objective"], r["ms_per_task"] = float(r["objective"]), float(r["ms_per_task"])
    r["best_known"] = float(r["best_known"]) if r["best_known"] else None
    return r


def report(rows: list[dict]) -> str:
    from partopt.learned.dispatch import load_dispatch

    weights, record = load_dispatch()
    cfg = record["config"]
    lines = [
        header("Learned dispatch on the shared edge"),
        "",
        f"Checkpoint `{LEARNED}.pt`: {weights.flat().size} weights, {record['iterations_done']} iterations of "
        f"evolution strategies ({cfg['pairs']} antithetic pairs, {cfg['batch']} training scenarios of K in "
        f"{tuple(cfg['tasks'])} each) in {record['wall_seconds']:.0f} s.",
        "",
    ]
    solvers = list(SOLVERS)
    for set_name in sorted({r["set"] for r in rows}):
        sub = [r for r in rows if r["set"] == set_name]
        by = {(r["scenario"], r["solver"]): r for r in sub}
        labels = sorted({r["scenario"] for r in sub})
        suite = sub[0]["best_known"] is not None
        lines += [f"## {set_name} ({len(labels)} scenarios, K = {sub[0]['K']})", ""]
        if suite:
            lines += [
                "| solver | mean gap to best known % | max % | beats earliest-finish on | ms per task |",
                "|---|---|---|---|---|",
            ]
        else:
            lines += [
                "| solver | mean total delay / earliest-finish's | best of these on | ms per task |",
                "|---|---|---|---|",
            ]
        for solver in solvers:
            have = [lab for lab in labels if (lab, solver) in by]
            if not have:
                continue
            ms = np.mean([by[(lab, solver)]["ms_per_task"] for lab in have])
            if suite:
                gaps = [100 * (by[(lab, solver)]["objective"] / by[(lab, solver)]["best_known"] - 1) for lab in have]
                wins = sum(
                    by[(lab, solver)]["objective"] < by[(lab, "earliest-finish")]["objective"] - 1e-12 for lab in have
                )
                lines.append(f"| {solver} | {np.mean(gaps):.2f} | {max(gaps):.2f} | {wins}/{len(have)} | {ms:.2f} |")
            else:
                ratios = [by[(lab, solver)]["objective"] / by[(lab, "earliest-finish")]["objective"] for lab in have]
                broken = sum(not np.isfinite(r) for r in ratios)
                ratio = f"{np.mean(ratios):.4f}" if not broken else f"inf ({broken} break a deadline)"
                best = sum(
                    by[(lab, solver)]["objective"]
                    <= min(by[(lab, s)]["objective"] for s in solvers if (lab, s) in by) + 1e-12
                    for lab in have
                )
                lines.append(f"| {solver} | {ratio} | {best}/{len(have)} | {ms:.2f} |")
        lines.append("")
    return "\n".join(lines)


def choose(count: int) -> None:
    """Greedy forward selection of at most :data:`MAX_DECODINGS` (scale, lookahead) decodings from
    the grid, by the mean over validation draws (K = 16 and 64) of the best decoding's total
    delay relative to earliest-finish's; writes ``shared_learned_choice.md``."""
    from partopt.learned.dispatch import Decoder, load_dispatch
    from partopt.objective import Objective
    from partopt.shared.kernels import FifoScorer

    weights, _ = load_dispatch()
    hard = Objective("hard")
    grid = [(s, la) for s in GRID_SCALES for la in GRID_LOOKAHEADS]
    values = []  # one row a scenario: each decoding's best of its schedule and FIFO dispatch over earliest-finish's
    for k in (16, 64):
        for i in range(count):
            gen = partopt.get_generator("shared", **{**SHARED_MIX, "num_tasks": k, "release_rate": RATES[i % 5]})
            sc = gen.generate(VALIDATION_SEED + k, i)
            decoder, fifo = Decoder(sc, True), FifoScorer(sc)
            row = []
            for scale, lookahead in grid:
                placement, _, own = decoder.decode(weights, scale, decoder.order(lookahead))
                row.append(min(v.total_delay if hard.feasible(v) else np.inf for v in (own, fifo.score(placement))))
            values.append(np.asarray(row) / row[0])
    table = np.array(values)
    chosen: list[int] = []
    lines = [
        header("Default decodings of shared-learned, chosen on validation draws"),
        "",
        f"`python bench/shared_learned.py --choose --count {count}`: {len(values)} validation scenarios (seeds "
        f"{VALIDATION_SEED} + K, K = 16 and 64, the suites' mix), grid of price scales {GRID_SCALES} x "
        f"lookaheads {GRID_LOOKAHEADS}; forward selection of the decoding that most lowers the mean of "
        "the best decoding's total delay over earliest-finish's.",
        "",
        "| step | added (scale, lookahead) | mean best / earliest-finish |",
        "|---|---|---|",
    ]
    for step in range(MAX_DECODINGS):
        scores = [np.mean(table[:, [*chosen, g]].min(axis=1)) if g not in chosen else np.inf for g in range(len(grid))]
        g = int(np.argmin(scores))
        chosen.append(g)
        lines.append(f"| {step + 1} | {grid[g]} | {scores[g]:.4f} |")
    lines += ["", f"`partopt.learned.dispatch.DEFAULT_DECODINGS` = {tuple(grid[g] for g in chosen)}."]
    (RESULTS / "shared_learned_choice.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


#: The shipped checkpoint's training run.
TRAINING = {"iterations": 150, "pairs": 12, "batch": 16, "tasks": (8, 16, 32, 64)}


def train() -> None:
    """Rebuild ``partopt/data/checkpoints/shared-learned.pt`` (the same as ``partopt train shared-learned
    --config iterations=150 --config pairs=12 --config batch=16 --config tasks=[8,16,32,64]``, slimmed)."""
    from partopt.learned.dispatch import DispatchConfig, train_dispatch
    from partopt.learned.policy import checkpoints_dir, slim_checkpoint

    out = checkpoints_dir() / f"{LEARNED}.pt"
    out.unlink(missing_ok=True)
    train_dispatch(DispatchConfig(**TRAINING), out, curve=RESULTS / f"{LEARNED}-curve.csv")
    slim_checkpoint(out)


def main() -> None:
    ap = learned_bench_parser(__doc__, 20, "held-out scenarios per K (and validation draws per K with --choose)")
    ap.add_argument("--choose", action="store_true", help="pick the default decodings on validation draws, then stop")
    args = ap.parse_args()
    if args.choose:
        choose(args.count)
        return
    if args.train:
        train()
        args.fresh = True
    rows = CsvRows(RESULTS / "shared_learned.csv", FIELDS, args.fresh, parse)
    done = {(r["set"], r["scenario"], r["solver"]) for r in rows.rows}
    if not args.report_only:
        warm = partopt.generate("shared", seed=SEED, num_tasks=2)
        for solver, options in SOLVERS.values():  # imports, compiled code and checkpoints: not timed below
            partopt.solve(warm, solver, **options)
        for name in ("shared-k16-v1", "shared-k64-v1"):
            for entry in partopt.bench.suites.load_suite(name):
                _run(rows, done, name, entry.id, entry.instance, entry.reference["hard"]["objective"])
        for k in (16, 64):
            for i in range(args.count):
                rate = RATES[i % len(RATES)]
                gen = partopt.get_generator("shared", **{**SHARED_MIX, "num_tasks": k, "release_rate": rate})
                sc = gen.generate(SEED + k, i)
                _run(rows, done, f"held-out K={k}", f"s{i}-rate{rate}", sc, None)
            print(f"K = {k} done", flush=True)
    stored = CsvRows(RESULTS / "shared_learned.csv", FIELDS, False, parse).rows  # as parsed from the file
    (RESULTS / "shared_learned.md").write_text(report(stored))
    print(f"wrote {RESULTS / 'shared_learned.md'}")


if __name__ == "__main__":
    main()
