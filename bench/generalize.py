"""Learned policies on held-out instances, cell by cell: gap to the DP optimum.

    python bench/generalize.py            # every cell below, 200 instances each (about 10 minutes)
    python bench/generalize.py --count 50 # quicker
    python bench/generalize.py --fresh    # drop the stored rows and rerun
    python bench/generalize.py --train    # first retrain the shipped shape-free checkpoint (about 8 minutes)
    python bench/generalize.py --finetune 480   # A3C fine-tuning for 480 s: greedy gaps before and after

Cells are (generator, M, N, DNN): the ``paper`` generator on its four DNN profiles at
their natural blocks and N = 2..9 (the targets), VGG16 cut into M = 3..18 blocks, slow
and fast links and a tight deadline (the regimes of the paper's Figs. 12 and 13), the
``dil`` generator at M = 3..18, the ``mobile`` generator's ImageNet profiles on a phone,
and ``random`` shapes. Instances use seeds 3,000,000 and above: never trained on
(training seeds are below 1,000,000). Under the penalty objective (beta = 1) each cell
gets the mean and p95 gap to the optimum of the shape-free policy (greedy), of each
shipped fixed-shape policy whose shape fits, and of every single-chain heuristic; the
share of placements that meet every deadline; and the decision time per task against
the DP's. Rows go to ``bench/results/generalize.csv`` as they finish (a rerun keeps
them); the report to ``bench/results/generalize.md``.
"""

from __future__ import annotations

import time

import numpy as np
from _common import RESULTS, CsvRows, header, learned_bench_parser

import partopt
from partopt.chain.costs import InstanceBatch
from partopt.chain.solvers.dp import solve_batch
from partopt.generation import get_generator
from partopt.learned.policy import checkpoints_dir, describe_checkpoint, load_policy
from partopt.objective import Objective

OBJECTIVE = Objective("penalty", 1.0)
HEURISTICS = ["greedy", "apdi", "rpdi", "all-device", "all-edge", "single-split", "local-search"]
FIXED_AGENTS = ["mt-a3c", "dqn", "imitation", "distilled"]
FIELDS = [
    "cell",
    "generator",
    "params",
    "M",
    "N",
    "solver",
    "count",
    "mean_gap_pct",
    "p95_gap_pct",
    "deadline_pct",
    "ms_per_task",
]
SEED = 3_000_000
SAMPLES = 8  # the sampled variant keeps the best of the greedy placement and 7 draws


def cells() -> list[tuple[str, str, dict, bool]]:
    """(cell label, generator, params, target cell?)."""
    out = []
    for network in ("vgg16", "resnet32", "nin", "alexnet"):
        for n in range(2, 10):
            out.append((f"paper {network} N={n}", "paper", {"network": network, "num_servers": n}, True))
    for m in (3, 9, 12, 15, 18):
        out.append((f"paper vgg16 M={m} N=4", "paper", {"network": "vgg16", "num_blocks": m}, False))
    for network in ("vgg16", "resnet32", "nin", "alexnet"):
        for rate in (0.25, 3.0):
            out.append((f"paper {network} link {rate:g} MB/s", "paper", {"network": network, "rate_MBps": rate}, False))
    out.append(("paper vgg16 deadline 0.05 s", "paper", {"network": "vgg16", "deadline_s": 0.05}, False))
    for m in (3, 6, 12, 18):
        out.append((f"dil M={m}", "dil", {"num_subtasks": m}, False))
    for network in ("resnet18-224", "resnet50-224", "mobilenetv2-224", "vgg16-224", "alexnet-224"):
        out.append((f"mobile {network} phone N=3", "mobile", {"network": network, "num_servers": 3}, False))
    out.append(("random M=3..18 N=2..9", "random", {"num_blocks": (3, 18), "num_servers": (2, 9)}, False))
    return out


def _gap(pct: float) -> float:
    """A gap for display: float noise below the optimum (-1e-9 %) shown as 0."""
    return 0.0 if -1e-9 < pct < 0 else pct


def _value(instance, placement) -> tuple[float, bool]:
    ev = partopt.evaluate(instance, placement)
    return OBJECTIVE.value(ev), bool(ev.deadlines_met)


def run_cell(label, generator, params, index, count, rows: CsvRows) -> None:
    gen = get_generator(generator, **params)
    instances = [gen.generate(SEED + index, i) for i in range(count)]
    groups: dict = {}
    for k, inst in enumerate(instances):
        groups.setdefault(inst.shape, []).append(k)
    optimum = np.full(count, np.inf)
    for shape, ks in groups.items():
        optimum[ks] = solve_batch(InstanceBatch.stack([instances[k] for k in ks]), OBJECTIVE).values
    keep = [k for k in range(count) if np.isfinite(optimum[k])]
    shapes = sorted({instances[k].shape for k in keep})
    m = shapes[0][0] if len(shapes) == 1 else "3..18"
    n = shapes[0][1] if len(shapes) == 1 else "2..9"

    def record(solver, placements, seconds):
        values = [_value(instances[k], p) for k, p in zip(keep, placements)]
        gaps = np.array([100 * (v / optimum[k] - 1) for (v, _), k in zip(values, keep)])
        rows.append(
            {
                "cell": label,
                "generator": generator,
                "params": repr(params),
                "M": m,
                "N": n,
                "solver": solver,
                "count": len(keep),
                "mean_gap_pct": _gap(float(gaps.mean())),
                "p95_gap_pct": _gap(float(np.percentile(gaps, 95))),
                "deadline_pct": 100 * float(np.mean([ok for _, ok in values])),
                "ms_per_task": 1e3 * seconds / max(len(keep), 1),
            }
        )

    start = time.perf_counter()
    placements = [partopt.solve(instances[k], "dp", objective="penalty").placement for k in keep]
    record("dp", placements, time.perf_counter() - start)
    policy = load_policy(checkpoints_dir() / "shape-free.pt", "shape-free", None)
    start = time.perf_counter()
    placements = [policy.place(instances[k], OBJECTIVE, allow_outside=True) for k in keep]
    record("shape-free", placements, time.perf_counter() - start)
    start = time.perf_counter()
    placements = [policy.place(instances[k], OBJECTIVE, samples=SAMPLES, seed=0, allow_outside=True) for k in keep]
    record(f"shape-free x{SAMPLES}", placements, time.perf_counter() - start)
    for agent in FIXED_AGENTS:
        if len(shapes) != 1 or not (checkpoints_dir() / f"{agent}-m{shapes[0][0]}-n{shapes[0][1]}.pt").exists():
            continue
        fixed = load_policy(None, agent, shapes[0])
        start = time.perf_counter()
        placements = [fixed.place(instances[k], OBJECTIVE, allow_outside=True) for k in keep]
        record(agent, placements, time.perf_counter() - start)
    for name in HEURISTICS:
        start = time.perf_counter()
        placements = [partopt.solve(instances[k], name, objective="penalty").placement for k in keep]
        record(name, placements, time.perf_counter() - start)


def parse(row: dict) -> dict:
    row["count"] = int(row["count"])
    for key in ("mean_gap_pct", "p95_gap_pct", "deadline_pct", "ms_per_task"):
        row[key] = float(row[key])
    row["mean_gap_pct"], row["p95_gap_pct"] = _gap(row["mean_gap_pct"]), _gap(row["p95_gap_pct"])
    return row


def report(rows: list[dict], count: int) -> str:
    lines = [
        header("Learned policies on held-out instances, per cell"),
        "",
        f"Gap % to the DP optimum under the penalty objective (beta = 1), {count} instances per cell "
        f"(seeds {SEED:,} + cell, never trained on). `best heuristic`: the heuristic with the least mean "
        f"gap in the cell, of {', '.join(HEURISTICS)}. `fixed-shape`: the best shipped fixed-shape "
        f"policy ({', '.join(FIXED_AGENTS)}) where one fits the cell's shape. Rows in `generalize.csv`.",
        "",
        "Checkpoint: " + describe_checkpoint(checkpoints_dir() / "shape-free.pt"),
        "",
        f"`x{SAMPLES}`: the best of the greedy placement and {SAMPLES - 1} sampled ones (`samples={SAMPLES}`). "
        "`deadlines met %`: shape-free's share of placements meeting every block deadline, and the "
        "optimum's (under the penalty objective the optimum may break a deadline).",
        "",
        f"| cell | M | N | shape-free mean % | p95 % | x{SAMPLES} mean % | deadlines met % (optimum) | "
        "best heuristic | its mean % | fixed-shape | its mean % | <= 1%? | <= best heuristic? |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_cell: dict = {}
    for r in rows:
        by_cell.setdefault(r["cell"], {})[r["solver"]] = r
    targets = {c[0] for c in cells() if c[3]}
    met_gap = met_heur = met_many = total = 0
    for label, _, _, _ in cells():
        got = by_cell.get(label)
        if not got or "shape-free" not in got:
            continue
        sf, many, opt = got["shape-free"], got.get(f"shape-free x{SAMPLES}"), got["dp"]
        heur = min((got[h] for h in HEURISTICS if h in got), key=lambda r: r["mean_gap_pct"])
        fixed = [got[a] for a in FIXED_AGENTS if a in got]
        best_fixed = min(fixed, key=lambda r: r["mean_gap_pct"]) if fixed else None
        ok_gap, ok_heur = sf["mean_gap_pct"] <= 1.0, sf["mean_gap_pct"] <= heur["mean_gap_pct"] + 1e-9
        ok_many = many is not None and many["mean_gap_pct"] <= heur["mean_gap_pct"] + 1e-9
        if label in targets:
            total += 1
            met_gap += ok_gap
            met_heur += ok_heur
            met_many += ok_many
        fixed_cols = f"{best_fixed['solver']} | {best_fixed['mean_gap_pct']:.3f}" if best_fixed else "- | -"
        lines.append(
            f"| {label}{' (target)' if label in targets else ''} | {sf['M']} | {sf['N']} | "
            f"{sf['mean_gap_pct']:.3f} | {sf['p95_gap_pct']:.2f} | "
            f"{many['mean_gap_pct'] if many else float('nan'):.3f} | "
            f"{sf['deadline_pct']:.0f} ({opt['deadline_pct']:.0f}) | "
            f"{heur['solver']} | {heur['mean_gap_pct']:.3f} | {fixed_cols}"
        )
        lines[-1] += (
            f" | {'yes' if ok_gap else 'no'} | {'yes' if ok_heur else 'no'}"
            f"{'' if ok_heur or not ok_many else f' (x{SAMPLES}: yes)'} |"
        )
    lines += [
        "",
        f"Target cells (paper generator, four DNNs, N = 2..9): mean gap <= 1% in {met_gap} of {total}; "
        f"no worse than the best heuristic in {met_heur} of {total} greedy, {met_many} of {total} "
        f"with samples={SAMPLES}.",
        "",
    ]

    def ms(solver):
        return [r["ms_per_task"] for r in rows if r["solver"] == solver]

    if ms("shape-free"):
        lines.append(
            f"Decision time per task (median over cells, one instance at a time, features and checks "
            f"included): shape-free {np.median(ms('shape-free')):.2f} ms greedy, "
            f"{np.median(ms(f'shape-free x{SAMPLES}')):.2f} ms with samples={SAMPLES}; "
            f"`partopt.solve(inst, 'dp')` {np.median(ms('dp')):.2f} ms. On one chain the DP is exact "
            "and cheaper: a learned policy earns its place on the shared edge."
        )
    return "\n".join(lines) + "\n"


#: The shipped checkpoint's training run: the mixture of ``partopt.learned.shapefree`` at scale 1, seed 0.
TRAINING = {"epochs": 12}


def train() -> None:
    """Rebuild ``partopt/data/checkpoints/shape-free.pt`` (the same as
    ``partopt train shape-free --config epochs=12 --out ...``, then slimmed for shipping)."""
    from partopt.learned.policy import slim_checkpoint
    from partopt.learned.shapefree import make_mixture, train_shape_free

    buckets, domain = make_mixture(1.0, seed=0)
    out = checkpoints_dir() / "shape-free.pt"
    out.unlink(missing_ok=True)
    train_shape_free(buckets, domain, out, curve=RESULTS / "shape-free-curve.csv", **TRAINING)
    slim_checkpoint(out)


FINETUNE_CELLS = [
    ("paper", {"network": n, "num_servers": k}) for n in ("vgg16", "resnet32", "alexnet") for k in (2, 5, 9)
] + [
    ("paper", {"network": "vgg16", "num_blocks": 18}),
    ("dil", {"num_subtasks": 12}),
    ("mobile", {"network": "resnet50-224", "num_servers": 3}),
]


def finetune_comparison(seconds: float, count: int = 150) -> None:
    """Fine-tune a copy of the shipped shape-free checkpoint by A3C for ``seconds`` (one worker)
    and write both policies' greedy gaps on held-out cells to ``shape-free-finetune.md``."""
    import tempfile
    from pathlib import Path

    from partopt.learned.shapefree import FinetuneConfig, finetune_shape_free

    shipped = checkpoints_dir() / "shape-free.pt"
    tuned_path = Path(tempfile.mkdtemp()) / "tuned.pt"
    record = finetune_shape_free(FinetuneConfig(updates=10**6, max_seconds=seconds, workers=1), shipped, tuned_path)
    base, tuned = load_policy(shipped, "shape-free", None), load_policy(tuned_path, "shape-free", None)
    lines = [
        header("Shape-free policy: greedy gap before and after A3C fine-tuning"),
        "",
        f"{record['updates']:,} updates of {FinetuneConfig.batch} tasks in {record['wall_seconds']:.0f} s (one "
        f"worker), from the shipped checkpoint; {count} held-out instances per cell (seeds 5,000,000).",
        "",
        "| generator | parameters | imitation only, mean gap % | after fine-tuning % |",
        "|---|---|---|---|",
    ]
    for generator, params in FINETUNE_CELLS:
        gen = get_generator(generator, **params)
        instances = [gen.generate(5_000_000, i) for i in range(count)]
        optimum = solve_batch(InstanceBatch.stack(instances), OBJECTIVE).values
        keep = [i for i, v in zip(instances, optimum) if np.isfinite(v)]
        best = optimum[np.isfinite(optimum)]
        gaps = []
        for policy in (base, tuned):
            placements = policy.decode(keep, allow_outside=True)[:, 0]
            values = np.array([_value(inst, list(p))[0] for inst, p in zip(keep, placements)])
            gaps.append(100 * float(np.mean(values / best - 1)))
        lines.append(f"| {generator} | {params} | {gaps[0]:.3f} | {gaps[1]:.3f} |")
    (RESULTS / "shape-free-finetune.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'shape-free-finetune.md'}")


def main() -> None:
    ap = learned_bench_parser(__doc__, 200, "instances per cell")
    ap.add_argument(
        "--finetune",
        type=float,
        metavar="SECONDS",
        help="only compare the shipped policy with a copy fine-tuned by A3C for SECONDS",
    )
    args = ap.parse_args()
    if args.finetune:
        finetune_comparison(args.finetune)
        return
    if args.train:
        train()
        args.fresh = True
    rows = CsvRows(RESULTS / "generalize.csv", FIELDS, args.fresh, parse)
    done = {r["cell"] for r in rows.rows}
    if not args.report_only:
        for index, (label, generator, params, _) in enumerate(cells()):
            if label in done:
                continue
            started = time.perf_counter()
            run_cell(label, generator, params, index, args.count, rows)
            print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
    (RESULTS / "generalize.md").write_text(report(rows.rows, args.count))
    print(f"wrote {RESULTS / 'generalize.md'}")


if __name__ == "__main__":
    main()
