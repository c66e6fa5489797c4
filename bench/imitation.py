"""Imitation of DP optima and its distilled student: train, ship, validate (DIL paper's Fig. 5).

    python bench/imitation.py                 # label, train, ship checkpoints, validate; ~25 min on 2 cores
    python bench/imitation.py --validate-only # validate the shipped checkpoints
    python bench/imitation.py --student-only  # retrain the students from the shipped teachers

For each setting (``dil``: the DIL distribution, shape (6, 2); ``paper``: the source
paper's default, shape (6, 4)) it labels ``--count`` generated instances with the
batched DP (training seeds, below the suites' held-out seeds), trains the teacher
(5 x 256) and distils two students at T = 5: the shipped one (4 x 80, about 10x fewer
parameters than the teacher) on 1,000 inputs plus a transfer set of 200,000 unlabelled
instances that only the teacher labels, and, for comparison, the paper's protocol
(2 x 64 on the 1,000 inputs only, kept in ``bench/results/tmp/``). Validation runs on
the held-out suites ``dil-v1`` and ``paper-default-v1`` and writes
``bench/results/imitation.md`` with the normalized latency table (optimum = 1),
parameter counts and decision times.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import torch
from _common import RESULTS, bench_parser, header, previous_section

import partopt
from partopt.bench.suites import load_suite
from partopt.chain.solvers.dp import solve_batch
from partopt.learned.imitation import (
    TRANSFER_STUDENT,
    make_dataset,
    train_student,
    train_teacher,
    unlabelled_features,
)
from partopt.learned.policy import checkpoints_dir, describe_checkpoint, load_policy

if TYPE_CHECKING:
    from pathlib import Path

SETTINGS = {"dil": ("dil", {}, "dil-v1", (6, 2)), "paper": ("paper", {}, "paper-default-v1", (6, 4))}
TRANSFER = 200_000  # unlabelled inputs the teacher labels for the shipped student

#: The report this script writes (in RESULTS).
REPORT = "imitation.md"


def paper_student_path(shape) -> Path:
    """Where the student of the paper's protocol (1,000 inputs, no transfer set) is kept (not shipped)."""
    return RESULTS / "tmp" / f"distilled-1000-m{shape[0]}-n{shape[1]}.pt"


def train_students(setting: str, teacher, lines: list[str]) -> None:
    """The shipped student (transfer set) and the paper-protocol one (1,000 inputs only)."""
    generator, params, _, (m, n) = SETTINGS[setting]
    small = make_dataset(generator, 1000, seed=1, params=params, progress=False)
    start = time.perf_counter()
    transfer = unlabelled_features(generator, TRANSFER, seed=2, params=params)
    train_student(
        teacher,
        small,
        checkpoints_dir() / f"distilled-m{m}-n{n}.pt",
        transfer=transfer,
        **TRANSFER_STUDENT,
        curve=RESULTS / f"distilled-{setting}-curve.csv",
    )
    lines.append(
        f"  Student: {TRANSFER_STUDENT['hidden']} on 1,000 inputs + a transfer set of {TRANSFER:,} unlabelled "
        f"instances, {TRANSFER_STUDENT['epochs']} epochs, {time.perf_counter() - start:.0f} s."
    )
    paper_student_path((m, n)).parent.mkdir(exist_ok=True)
    train_student(teacher, small, paper_student_path((m, n)), progress=False)
    lines.append("  Paper-protocol student: 2 x 64 on the 1,000 inputs only (not shipped).")


def train(setting: str, count: int, epochs: int, lines: list[str], student_only: bool = False) -> None:
    generator, params, _, shape = SETTINGS[setting]
    m, n = shape
    lines.append(f"- `{setting}`:")
    if not student_only:
        start = time.perf_counter()
        data = make_dataset(generator, count, seed=0, params=params)
        label_time = time.perf_counter() - start
        lines.append(
            f"  labelled {count:,} instances by batched DP in {label_time:.1f} s "
            f"({count / label_time:,.0f} per second, generation included)."
        )
        start = time.perf_counter()
        train_teacher(
            data,
            checkpoints_dir() / f"imitation-m{m}-n{n}.pt",
            epochs=epochs,
            curve=RESULTS / f"imitation-{setting}-curve.csv",
        )
        lines.append(f"  Teacher: {epochs} epochs in {time.perf_counter() - start:.0f} s.")
    train_students(setting, load_policy(None, "imitation", shape).net, lines)


def edge_only(instance):
    """Every block on server 1 (the DIL paper's 'Edge')."""
    return [1] * instance.num_blocks


def cloud_only(instance):
    """Every block on the last server (the DIL paper's 'Cloud', server 2 of a dil instance)."""
    return [instance.num_servers] * instance.num_blocks


def validate(setting: str, lines: list[str], samples: int) -> None:
    generator, _, suite_name, shape = SETTINGS[setting]
    suite = load_suite(suite_name)
    insts = suite.instances()
    ref = np.array([e.reference["hard"]["objective"] for e in suite], dtype=float)
    partopt.register_solver("edge-only", edge_only, replace=True)
    partopt.register_solver("cloud-only", cloud_only, replace=True)
    rows = [
        ("all-device", {}),
        ("edge-only", {}),
        ("cloud-only", {}),
        ("all-edge", {}),
        ("rpdi", {}),
        ("greedy", {}),
        ("single-split", {}),
        ("local-search", {}),
    ]
    for agent in ("dqn", "mt-a3c", "imitation", "distilled"):
        path = checkpoints_dir() / f"{agent}-m{shape[0]}-n{shape[1]}.pt"
        if path.exists() and load_policy(path, agent, None).generator == generator:  # the N = 2 mt-a3c: paper
            rows.append((agent, {}))
            if agent in ("imitation", "distilled"):
                rows.append((agent, {"samples": samples}))
                rows.append((agent, {"polish": True}))
                rows.append((agent, {"samples": 4 * samples, "polish": True}))
    if paper_student_path(shape).exists():
        rows += [
            ("distilled", {"checkpoint": str(paper_student_path(shape))}),
            ("distilled", {"checkpoint": str(paper_student_path(shape)), "polish": True}),
        ]
    lines += [
        f"### `{suite_name}` ({len(insts)} held-out instances, shape {shape})",
        "",
        "| solver | decoding | mean latency / optimum | mean of per-instance ratios | exactly optimal | parameters |",
        "|---|---|---|---|---|---|",
    ]
    for solver, opts in rows:
        lat = np.array(
            [partopt.solve(i, solver, objective="penalty", seed=0, **opts).evaluation.total_delay for i in insts]
        )
        shown = {k: v for k, v in opts.items() if k != "checkpoint"}
        decoding = (
            ", ".join(f"{k}={v}" for k, v in shown.items())
            or "greedy" * (solver in ("dqn", "mt-a3c", "imitation", "distilled"))
            or "-"
        )
        if "checkpoint" in opts:
            decoding += " (paper protocol: 1,000 inputs, no transfer set)"
        params = "-"
        if solver in ("dqn", "mt-a3c", "imitation", "distilled"):
            params = f"{load_policy(opts.get('checkpoint'), solver, shape).parameters:,}"
        lines.append(
            f"| {solver} | {decoding} | {lat.mean() / ref.mean():.4f} | {(lat / ref).mean():.4f} | "
            f"{np.isclose(lat, ref, rtol=1e-9).mean():.1%} | {params} |"
        )
    lines.append("")
    # Decision time: one instance at a time and the whole suite as one batch, next to DP.
    batch = partopt.InstanceBatch.stack(insts)
    timing = []
    for agent in ("imitation", "distilled"):
        try:
            pol = load_policy(None, agent, shape)
        except ValueError:
            continue
        torch.set_num_threads(1)
        start = time.perf_counter()
        for inst in insts:
            pol.greedy([inst])
        single = (time.perf_counter() - start) / len(insts)
        start = time.perf_counter()
        pol.greedy(insts)
        batched = (time.perf_counter() - start) / len(insts)
        timing.append((agent, single, batched))
    start = time.perf_counter()
    for inst in insts:
        partopt.solve(inst.replace(), "dp")
    dp_single = (time.perf_counter() - start) / len(insts)
    start = time.perf_counter()
    solve_batch(batch)
    dp_batched = (time.perf_counter() - start) / len(insts)
    lines += ["| decision | one instance (us) | batched, per instance (us) |", "|---|---|---|"]
    for agent, single, batched in timing:
        lines.append(f"| {agent} (greedy forward pass, features included) | {single * 1e6:.0f} | {batched * 1e6:.1f} |")
    lines.append(f"| dp (exact; solve() one by one, batched DP) | {dp_single * 1e6:.0f} | {dp_batched * 1e6:.1f} |")
    if timing:
        net_single = min(t[1] for t in timing)
        net_batched = min(t[2] for t in timing)
        one = "the networks are faster" if net_single < dp_single else "the DP is faster"
        many = "the networks are faster" if net_batched < dp_batched else "the DP is faster"
        lines.append(
            f"\nOne instance at a time {one} ({net_single * 1e6:.0f} us for the quicker network "
            f"against {dp_single * 1e6:.0f} us for solve(..., 'dp'), whose time is mostly Python "
            f"overhead); in batches {many} ({net_batched * 1e6:.1f} us against {dp_batched * 1e6:.1f} us "
            "per instance), and only the DP is exact."
        )
    lines.append("")


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=300_000, help="labelled training instances per setting")
    parser.add_argument("--epochs", type=int, default=30, help="teacher epochs")
    parser.add_argument("--samples", type=int, default=8, help="K for best-of-K decoding rows")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--validate-only", action="store_true")
    parser.add_argument("--student-only", action="store_true", help="retrain only the students")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lines = [header("Imitation of exact optima and knowledge distillation"), ""]
    if not args.validate_only:
        lines += ["## Training", ""]
        for setting in args.settings:
            train(setting, args.count, args.epochs, lines, student_only=args.student_only)
        lines.append("")
    else:
        lines += previous_section(RESULTS / REPORT, "Training")
    lines += ["## Shipped checkpoints", ""]
    for setting in args.settings:
        m, n = SETTINGS[setting][3]
        for agent in ("imitation", "distilled"):
            path = checkpoints_dir() / f"{agent}-m{m}-n{n}.pt"
            if path.exists():
                lines.append(f"- {describe_checkpoint(path)}")
    lines.append("")
    lines += ["## Validation on held-out suites (objective: latency; penalty beta = 1 where deadlines exist)", ""]
    for setting in args.settings:
        validate(setting, lines, args.samples)
    (RESULTS / REPORT).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
