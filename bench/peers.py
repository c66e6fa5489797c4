"""The shared edge through a generic scheduler, PyJobShop (CP-SAT), beside partopt's front door
and each of its exact solvers.

    pip install -e ".[peers]"          # PyJobShop, an optional peer
    python bench/peers.py              # K = 4, 6, 8, 12, 16; both generators -> results/peers.md

**The encoding** (hard objective: minimize sum_k D_k within every deadline and budget). PyJobShop
schedules jobs of tasks with modes on machines; it cannot state a transfer whose time depends on
the locations of two blocks, so each transfer is a task of its own:

- a machine per server (busy until its ``available_s``: a break over [0, b_n)) and per device CPU;
  a consumable resource per device with an energy budget (its capacity, in integer units);
- per shared-edge task k a job, released at r_k, with a deadline at r_k plus its own deadline;
- per block (k, m) a task with one mode per location j: the machine of j, its duration p_{kmj};
- per block a *transfer task* before it with one mode per pair (i, j) of the previous block's and
  this block's locations (i = 0, the device, for the first block): no machine, duration
  t_{kmij}, and the device energy e_{kmij} of that step on the device's budget; *mode
  dependencies* tie it to both blocks (block m-1 on i needs a transfer mode (i, .); block m on j
  needs one (., j)), so exactly the pair chosen is charged;
- a *return task* after the last block, one mode per location j, lasting the return q_{kj};
- precedences block -> transfer -> block -> ... -> return; block deadlines tau_m as
  end(block m) - end(block m-1) <= tau_m (the return included for the last block);
- objective: total flow time, sum_k (end of k's job - r_k) = sum_k D_k.

Every time is on partopt's CP-SAT grid (1 us), rounded up, so each schedule the peer returns is
valid in continuous time; it is priced by ``partopt.evaluate`` (the objective reported here), and
its bound is made valid in continuous time as ``shared-cpsat``'s is (the grid bound less
K (2 sum M_k + 1) steps). Where both the peer and partopt prove an optimum, the two must agree to
that rounding; the table counts the cases and the run stops on a disagreement.

Rows are kept in ``results/peers.csv`` as they finish (``--fresh`` starts over).
"""

from __future__ import annotations

import math
import time

from _common import OWN_DRAW, RESULTS, CsvRows, add_limit_option, bench_parser, header, resumable_bench

import partopt
from partopt.shared.solvers.cpsat import DEFAULT_GRID_S, _down, _GridData
from partopt.shared.solvers.start import grid_rounding_steps

#: Each generator's scenarios: the project's speed-bench draw (VGG16 in 6 blocks, N = 4, two
#: devices, 60 tasks/s) and the mixed draw that varies every feature of the model.
GENERATORS = {
    "own": OWN_DRAW,
    "mixed": {"mix": True},
}
SEED = 4_000_000
FIELDS = ["generator", "tasks", "seed", "solver", "status", "objective", "bound", "seconds"]


def peer_model(scenario: partopt.Scenario, grid_s: float = DEFAULT_GRID_S):
    """The PyJobShop model of ``scenario`` (module docstring) and the block tasks [k][m]'s
    per-location modes, to read a placement back."""
    from pyjobshop import Model

    data = _GridData.of(scenario, grid_s)
    locations = range(scenario.num_servers + 1)
    model = Model()
    machines = [model.add_machine(name=f"device{d}") for d in range(scenario.num_devices)]
    servers = [
        model.add_machine(breaks=[(0, b)] if b > 0 else [], name=f"es{n + 1}") for n, b in enumerate(data.avail[1:])
    ]
    budgets = {}
    scale = {}
    for d, device in enumerate(scenario.devices):
        if device.energy_budget_j is not None:
            scale[d] = 10**7 / device.energy_budget_j if device.energy_budget_j > 0 else 1.0
            budgets[d] = model.add_consumable(capacity=10**7 if device.energy_budget_j > 0 else 0, name=f"energy{d}")
    block_modes = []
    for k, task in enumerate(scenario.tasks):
        tables = scenario.tables[k]
        limit = task.deadline_s
        job = model.add_job(
            release_date=data.rel[k],
            deadline=data.rel[k] + _down(limit, grid_s) - 1 if limit is not None else 2**42,
            name=f"task{k}",
        )
        resource = [machines[task.device], *servers]
        # The task's blocks, each with its per-location modes; None stands for the release.
        chain: list = [None]
        modes_k: list = []
        for m in range(len(data.dur[k])):
            move = model.add_task(job=job, name=f"t{k},{m}")
            block = model.add_task(job=job, name=f"b{k},{m}")
            here = [model.add_mode(block, resource[j], data.dur[k][m][j]) for j in locations]
            sources = [0] if m == 0 else list(locations)
            pairs = {}
            for i in sources:
                for j in locations:
                    energy = tables.energy[m][i][j]
                    on_budget = task.device in budgets and energy > 0
                    pairs[i, j] = model.add_mode(
                        move,
                        [budgets[task.device]] if on_budget else [],
                        data.trans[k][m][i][j],
                        [math.ceil(energy * scale[task.device] - 1e-9)] if on_budget else [],
                    )
            for j in locations:
                model.add_mode_dependency(here[j], [pairs[i, j] for i in sources])
            if m > 0:
                for i in sources:
                    model.add_mode_dependency(modes_k[-1][i], [pairs[i, j] for j in locations])
                model.add_end_before_start(chain[-1], move)
            model.add_end_before_start(move, block)
            chain.append(block)
            modes_k.append(here)
        back = model.add_task(job=job, name=f"r{k}")
        returns = [model.add_mode(back, [], data.ret[k][j]) for j in locations]
        for j in locations:
            model.add_mode_dependency(modes_k[-1][j], [returns[j]])
        model.add_end_before_start(chain[-1], back)
        # Block m's delay runs from the end of block m - 1 (the release for m = 0) to its own end,
        # the return included for the last block.
        ends = [*chain[1:-1], back]
        for m, (anchor, end) in enumerate(zip(chain[:-1], ends)):
            tau = tables.deadline[m]
            if not math.isfinite(tau):
                continue
            steps = _down(tau, grid_s) - 1
            if anchor is None:
                end.latest_end = min(end.latest_end, data.rel[k] + steps)
            else:
                model.add_end_before_end(end, anchor, -steps)
        block_modes.append(modes_k)
    model.set_objective(weight_total_flow_time=1)
    return model, block_modes


def solve_peer(scenario: partopt.Scenario, time_limit: float, grid_s: float = DEFAULT_GRID_S) -> dict:
    """PyJobShop's answer: status, objective (by ``partopt.evaluate``), a bound valid in continuous time."""
    begin = time.perf_counter()
    model, block_modes = peer_model(scenario, grid_s)
    result = model.solve(time_limit=time_limit, display=False, num_workers=2)
    seconds = time.perf_counter() - begin
    status = result.status.value
    found = status in ("Optimal", "Feasible")
    mode_index = {id(mode): index for index, mode in enumerate(model.modes)}
    objective = math.inf
    if found:
        tasks = result.best.tasks
        placement, start_s = [], []
        for k, modes_k in enumerate(block_modes):
            row, starts = [], []
            for here in modes_k:
                chosen = {mode_index[id(mode)]: j for j, mode in enumerate(here)}
                task = tasks[here[0].task]
                row.append(chosen[task.mode])
                starts.append(task.start * grid_s)
            placement.append(row)
            start_s.append(starts)
        evaluation = partopt.evaluate(scenario, placement, start_s)
        if not evaluation.feasible:
            raise AssertionError(f"{scenario.name}: PyJobShop's schedule fails partopt.evaluate: {evaluation}")
        objective = evaluation.total_delay
    slack = grid_rounding_steps(scenario)
    bound = max(0.0, (result.lower_bound - slack) * grid_s) if found else None
    proven = status == "Optimal"
    return {
        "status": "optimal" if proven else status.lower(),
        "objective": objective,
        "bound": bound,
        "seconds": seconds,
    }


def partopt_solver(name: str | None):
    """``partopt.solve(scenario, name, time_limit=...)`` as a row; ``None`` is the front door."""

    def solve(scenario: partopt.Scenario, time_limit: float) -> dict:
        result = partopt.solve(scenario, name, time_limit=time_limit)
        return {
            "status": str(result.status),
            "objective": result.objective,
            "bound": result.lower_bound,
            "seconds": result.runtime,
        }

    return solve


SOLVERS = {
    "partopt (default)": partopt_solver(None),
    "shared-bnb": partopt_solver("shared-bnb"),
    "shared-cpsat": partopt_solver("shared-cpsat"),
    "shared-milp": partopt_solver("shared-milp"),
    "PyJobShop": solve_peer,
}
PEER = "PyJobShop"
#: The MILP is partopt's second opinion on small cases; beyond 8 tasks its disjunctive model
#: proves nothing in a minute and is left out of the table.
MILP_MAX_TASKS = 8


def solvers_for(k: int) -> list[str]:
    """The solvers run on scenarios of ``k`` tasks."""
    return [name for name in SOLVERS if name != "shared-milp" or k <= MILP_MAX_TASKS]


def _parse(row: dict) -> dict:
    row = dict(row, tasks=int(row["tasks"]), seed=int(row["seed"]), seconds=float(row["seconds"]))
    row["objective"] = float(row["objective"])
    row["bound"] = float(row["bound"]) if row["bound"] not in ("", "None") else None
    return row


def run(sizes: list[int], count: int, limit: float, generators: list[str], fresh: bool) -> CsvRows:
    rows = CsvRows(RESULTS / "peers.csv", FIELDS, fresh, _parse)
    done = {(r["generator"], r["tasks"], r["seed"], r["solver"]) for r in rows.rows}
    for gen in generators:
        for k in sizes:
            for seed in range(count):
                scenario = partopt.generate("shared", seed=SEED + seed, **{**GENERATORS[gen], "num_tasks": k})
                for name in solvers_for(k):
                    if (gen, k, seed, name) in done:
                        continue
                    answer = SOLVERS[name](scenario, limit)
                    row = rows.append({"generator": gen, "tasks": k, "seed": seed, "solver": name, **answer})
                    print(
                        f"{gen} K={k} seed {seed} {name}: {row['status']} {row['objective']:.4f} "
                        f"bound {row['bound']} in {row['seconds']:.1f} s",
                        flush=True,
                    )
                _check_agreement(
                    scenario, [r for r in rows.rows if (r["generator"], r["tasks"], r["seed"]) == (gen, k, seed)]
                )
    return rows


def _agree(a: float, b: float, slack_s: float) -> bool:
    """Two proven optima equal to 1e-6 relative plus ``slack_s`` (the grid's rounding, s)."""
    return abs(a - b) <= 1e-6 * max(a, b) + slack_s


def _check_agreement(scenario: partopt.Scenario, answers: list[dict]) -> None:
    """Stop the run when two solvers prove different optima of one scenario."""
    proven = [r for r in answers if r["status"] == "optimal"]
    slack_s = grid_rounding_steps(scenario) * DEFAULT_GRID_S
    for a in proven:
        for b in proven:
            if not _agree(a["objective"], b["objective"], slack_s):
                raise AssertionError(f"{scenario.name}: {a['solver']} and {b['solver']} prove different optima")


def _agreement(by_seed: dict, name: str, slack_s: float) -> tuple[int, int]:
    """(scenarios proved by ``name`` and by the other side, how many of them with the same optimum):
    the other side of a partopt solver is the peer; of the peer, every partopt solver that proved."""
    both = same = 0
    for answers in by_seed.values():
        if answers[name]["status"] != "optimal":
            continue
        others = [PEER] if name != PEER else [n for n in answers if n != PEER]
        proven = [answers[o]["objective"] for o in others if answers[o]["status"] == "optimal"]
        if proven:
            both += 1
            same += all(_agree(answers[name]["objective"], o, slack_s) for o in proven)
    return both, same


def report(rows: CsvRows, limit: float) -> str:
    lines = [
        header("The shared edge through PyJobShop, beside partopt's front door and each exact solver"),
        "",
        f"Each scenario solved with a {limit:g} s limit on 2 cores (PyJobShop: CP-SAT with 2 workers; the",
        "encoding is in `bench/peers.py`'s docstring). *proven*: optimal within the limit. *gap %*: the",
        "solver's objective above the best schedule any found (`partopt.evaluate`; *none*: scenarios",
        "where it found no schedule that keeps every constraint); *bound gap %*:",
        "that best schedule above the solver's bound, valid in continuous time. *agree*: scenarios",
        "this solver and the peer both proved (for the peer: it and any partopt solver), and how many",
        f"of them have the same optimum to the grid's rounding. `shared-milp` runs up to K = {MILP_MAX_TASKS}.",
        "",
        "| generator | K | scenarios | solver | proven | mean s | mean gap % | mean bound gap % | agree |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict = {}
    for r in rows.rows:
        groups.setdefault((r["generator"], r["tasks"]), {}).setdefault(r["seed"], {})[r["solver"]] = r
    for (gen, k), by_seed in sorted(groups.items()):
        complete = {s: v for s, v in by_seed.items() if set(solvers_for(k)) <= set(v)}
        if not complete:
            continue
        best = {s: min(r["objective"] for r in v.values()) for s, v in complete.items()}
        complete = {s: v for s, v in complete.items() if math.isfinite(best[s])}  # none found: no gap
        if not complete:
            continue
        # The grid's rounding, K (2 sum M_k + 1) steps, taken at M_k <= 12 for every task.
        slack_s = k * 25 * DEFAULT_GRID_S
        for name in solvers_for(k):
            answers = [complete[s][name] for s in complete]
            both, same = _agreement(complete, name, slack_s)
            gaps = [100 * (r["objective"] - best[r["seed"]]) / best[r["seed"]] for r in answers]
            found = [g for g in gaps if math.isfinite(g)]
            gap = (f"{sum(found) / len(found):.2f}" if found else "-") + (
                f" ({len(gaps) - len(found)} none)" if len(found) < len(gaps) else ""
            )
            bound_gaps = [100 * (best[r["seed"]] - (r["bound"] or 0.0)) / best[r["seed"]] for r in answers]
            proven = sum(r["status"] == "optimal" for r in answers)
            lines.append(
                f"| {gen} | {k} | {len(answers)} | {name} | {proven} | "
                f"{sum(r['seconds'] for r in answers) / len(answers):.1f} | {gap} | "
                f"{sum(bound_gaps) / len(bound_gaps):.2f} | {same}/{both} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = bench_parser(__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 6, 8, 12, 16], help="numbers of tasks K")
    ap.add_argument("--count", type=int, default=3, help="scenarios per size and generator (default 3)")
    add_limit_option(ap)
    ap.add_argument("--generators", nargs="+", default=list(GENERATORS), choices=list(GENERATORS))
    resumable_bench(
        ap,
        "peers",
        FIELDS,
        _parse,
        lambda a: run(a.sizes, a.count, a.limit, a.generators, a.fresh),
        lambda rows, a: report(rows, a.limit),
    )


if __name__ == "__main__":
    main()
