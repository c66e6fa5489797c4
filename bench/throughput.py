"""Throughput of the exact chain kernel against this machine's measured limits.

    python bench/throughput.py            # -> bench/results/throughput.md

Everything is measured in one run, so the ratios hold on a noisy machine:

- **Bounds.** Memory: a compiled loop that reads a 512 MiB array once (best of 3),
  in GB/s; a batched DP reads each instance's step tensor (M (N+1)^2 doubles) once,
  so bandwidth / bytes per instance is the memory-bound rate. Compute: the same DP
  kernel on 200 instances that stay in the core's cache (240 kB), solved over and
  over: no memory traffic, only the kernel's adds, compares and stores.
- **Per call** at three shapes (median of ``--calls``, variants interleaved): the bare
  compiled kernel (arrays allocated beforehand), its Python wrapper
  (``compiled.bellman``), ``chain_dp``, the DP solver (cost tensors and the path) and
  ``partopt.solve(inst, "dp")`` (checks, solver, pricing by ``evaluate``, the Result).
- **Batched** at M = 6, N = 4: ``chain_dp`` on a (B, M, L, L) step tensor, and
  ``solve_batch`` from stacked instances (cost tensors built inside).
- **Long chain** M = 1000, N = 200: ``chain_dp`` against reading its 323 MB step
  tensor once.

Targets (issue: the exact core at the hardware limit): solve within 20x of the bare
kernel; batched DP >= 2,000,000 instances/s per core; the long chain within 2x of one
read of its step tensor.
"""

from __future__ import annotations

import statistics
import time

import numba
import numpy as np
from _common import RESULTS, bench_parser, best_of, header

import partopt
from partopt.chain import kernels as compiled
from partopt.chain.costs import InstanceBatch
from partopt.chain.solvers.dp import chain_dp, solve_batch, solve_dp


@numba.njit(cache=True, fastmath=True)
def _read_once(values):  # pragma: no cover  (fastmath: the sum may be reordered, so it vectorizes)
    total = 0.0
    for k in range(values.size):
        total += values[k]
    return total


def memory_bandwidth() -> float:
    """Bytes per second of one compiled pass that reads a 512 MiB array."""
    values = np.ones(2**26)
    _read_once(values[:10])
    return values.nbytes / best_of(lambda: _read_once(values), 3)


def kernel_in_cache(step: np.ndarray, rounds: int) -> float:
    """Instances per second of the DP kernel on a batch that stays in cache."""
    placements = np.zeros(step.shape[:2], dtype=np.int64)
    values = np.empty(step.shape[0])
    compiled._bellman_into(step, step, 0.0, placements, values)

    def run():
        for _ in range(rounds):
            compiled._bellman_into(step, step, 0.0, placements, values)

    return step.shape[0] * rounds / best_of(run, 3)


#: Shapes of the per-call table: the paper's default, a longer chain, a large case.
CALL_SHAPES = [(6, 4), (24, 4), (100, 9)]


def per_call(m: int, n: int, calls: int) -> dict[str, float]:
    """Median seconds of each variant on fresh copies of one (M, N) instance, variants
    interleaved so that machine noise hits them alike."""
    inst = partopt.generate(
        "random", seed=m * 100 + n, num_blocks=m, num_servers=n, deadline_prob=0.5, deadline_tightness=1.5
    )
    goal = partopt.Objective()
    step = np.ascontiguousarray(goal.step_cost(inst.costs))
    placements, values = np.zeros((1, inst.num_blocks), dtype=np.int64), np.empty(1)
    variants = {
        "bare kernel": lambda fresh: compiled._bellman_into(step, step, 0.0, placements, values),
        "compiled.bellman": lambda fresh: compiled.bellman(step),
        "chain_dp": lambda fresh: chain_dp(step),
        "solve_dp": lambda fresh: solve_dp(fresh, goal),
        "solve": lambda fresh: partopt.solve(fresh, "dp"),
    }
    for fn in variants.values():
        fn(inst.replace())
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(calls):
        for name, fn in variants.items():
            fresh = inst.replace()
            start = time.perf_counter()
            fn(fresh)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--calls", type=int, default=3000, help="single calls per variant")
    parser.add_argument("--batch", type=int, default=200_000, help="instances in the batched runs")
    args = parser.parse_args()
    goal = partopt.Objective()

    bandwidth = memory_bandwidth()
    insts = partopt.RandomGenerator(num_blocks=6, num_servers=4).generate_many(args.batch, seed=0)
    batch = InstanceBatch.stack(insts)
    step = np.ascontiguousarray(goal.step_cost(partopt.chain.costs.cost_tensors(batch)))
    bytes_per = step[0].nbytes
    memory_rate = bandwidth / bytes_per
    compute_rate = kernel_in_cache(np.ascontiguousarray(step[:200]), 2000)
    batched = args.batch / best_of(lambda: chain_dp(step), 5)
    end_to_end = args.batch / best_of(lambda: solve_batch(batch), 3)

    shapes = {shape: per_call(*shape, args.calls) for shape in CALL_SHAPES}
    calls = shapes[(6, 4)]
    bare = calls["bare kernel"]

    long_inst = partopt.generate(
        "random", seed=7, num_blocks=1000, num_servers=200, deadline_prob=0.5, deadline_tightness=1.5
    )
    long_step = np.ascontiguousarray(goal.step_cost(long_inst.costs))
    flat = long_step.reshape(-1)
    _read_once(flat[:10])
    chain_dp(long_step[:, :2])
    read = best_of(lambda: _read_once(flat), 5)
    long_dp = best_of(lambda: chain_dp(long_step), 5)

    lines = [
        header("The exact chain kernel against the machine's limits"),
        "",
        f"Numba {numba.__version__}; one core (the kernels run in one thread).",
        "",
        "## Bounds",
        "",
        "| what | measured |",
        "|---|---|",
        f"| memory read bandwidth (one compiled pass over 512 MiB) | {bandwidth / 1e9:.1f} GB/s |",
        f"| bytes read per M = 6, N = 4 instance (its step tensor) | {bytes_per:,} |",
        f"| memory-bound DP rate (bandwidth / bytes) | {memory_rate:,.0f} instances/s |",
        f"| compute-bound DP rate (the kernel on 200 instances in cache) | {compute_rate:,.0f} instances/s |",
        "",
        "## Per call (median µs on fresh instances)",  # noqa: RUF001 - the micro sign
        "",
        '`solve` is `partopt.solve(inst, "dp")`: the option checks, the DP solver (`solve_dp`: cost '
        "tensors and the path), pricing by `evaluate` and the Result.",
        "",
        "| M | N | " + " | ".join(calls) + " | solve / solve_dp | solve / bare kernel |",
        "|---|---|" + "---|" * (len(calls) + 2),
    ]
    for (m, n), t in shapes.items():
        lines.append(
            f"| {m} | {n} | "
            + " | ".join(f"{v * 1e6:.2f}" for v in t.values())
            + f" | x{t['solve'] / t['solve_dp']:.2f} | x{t['solve'] / t['bare kernel']:.0f} |"
        )
    lines += [
        "",
        "## Batched, M = 6, N = 4",
        "",
        "| what | instances/s | share of the compute bound | share of the memory bound |",
        "|---|---|---|---|",
        f"| `chain_dp` on a ({args.batch:,}, 6, 5, 5) step tensor | {batched:,.0f} | "
        f"{100 * batched / compute_rate:.0f}% | {100 * batched / memory_rate:.0f}% |",
        f"| `solve_batch` from stacked instances (cost tensors built inside) | {end_to_end:,.0f} | "
        f"{100 * end_to_end / compute_rate:.0f}% | {100 * end_to_end / memory_rate:.0f}% |",
        "",
        "## Long chain, M = 1000, N = 200",
        "",
        "| what | ms |",
        "|---|---|",
        f"| read the step tensor once ({1000 * 201 * 201 * 8 / 1e6:.0f} MB) | {read * 1e3:.1f} |",
        f"| `chain_dp` | {long_dp * 1e3:.1f} (x{long_dp / read:.2f} the read) |",
        "",
        "## Targets",
        "",
        f'- `solve(inst, "dp")` within 20x of the bare kernel: x{calls["solve"] / bare:.0f} '
        f"({'met' if calls['solve'] <= 20 * bare else 'not met'}); the compiled wrapper alone is "
        f"x{calls['compiled.bellman'] / bare:.1f}, the DP solver (cost tensors and the path) "
        f"x{calls['solve_dp'] / bare:.0f}.",
        f"- batched DP >= 2,000,000 instances/s per core: {batched:,.0f} "
        f"({'met' if batched >= 2e6 else 'not met'}); from instances, cost tensors included, {end_to_end:,.0f}.",
        f"- M = 1000, N = 200 within 2x of one read of its step tensor: x{long_dp / read:.2f} "
        f"({'met' if long_dp <= 2 * read else 'not met'}).",
        "",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "throughput.md").write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {RESULTS / 'throughput.md'}")


if __name__ == "__main__":
    main()
