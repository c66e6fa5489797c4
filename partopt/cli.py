"""The ``partopt`` command line.

    partopt generate paper --seed 3 -o inst.json
    partopt solve inst.json --solver dp
    partopt evaluate inst.json 0 2 2 2 2 2
    partopt generate shared --param num_tasks=8 -o scenario.json
    partopt solve scenario.json --time-limit 60 --solution-out sol.json
    partopt evaluate scenario.json --solution sol.json
    partopt bench paper-default-v1 --solvers dp greedy apdi --out rows.csv
    partopt plot gaps rows.csv
    partopt suite build paper-default-v1
    partopt list

Bad input ends with one line on stderr and exit status 2; a failure while running,
exit status 1. ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from pathlib import Path

from partopt.names import key_values

EPILOGS = {
    "generate": """examples:
  partopt generate paper --seed 0                      # print one instance as JSON
  partopt generate paper --seed 3 -o inst.json         # one chain (M = 6 blocks), as a file
  partopt generate paper --seed 0 --count 10 -o dir/   # ten files dir/paper-s0-i0.json ...
  partopt generate random --param num_blocks=12 --param budget_fraction=0.3 -o i.json
  partopt generate paper --param num_servers=[2,9] --param network=resnet32
  partopt generate shared --param num_tasks=16 --param release_rate=90 -o scenario.json   # shared edge
  partopt generate shared --param num_tasks=8 --param mix=true -o mixed.json   # every model feature drawn
  partopt generate mobile --param device=rpi --param network=resnet18-224 -o phone.json
  partopt generate horizon --param slots=50 -o horizon.json          # slots sharing a battery
  partopt generate stream --param rate_per_s=100 -o stream.json      # a stream of tasks with batteries

Generators: paper, dil, random and mobile (one chain), shared (a shared-edge scenario),
horizon (slots sharing a battery), stream (the shared edge online); `partopt list` gives their
parameters.
--param values are JSON (numbers, [low, high] ranges, true/false, null) or plain strings.""",
    "solve": """examples:
  partopt solve inst.json                                  # DP, problem P (hard deadlines)
  partopt solve inst.json --solver milp-ortools --option backend=cp-sat --time-limit 60
  partopt solve inst.json --solver greedy --objective penalty --beta 2
  partopt solve --generate paper --seed 4 --json           # solve a generated instance
  partopt solve inst.json --solver milp-pulp --option export=model.lp
  partopt solve scenario.json --time-limit 30              # shared edge: exact, live incumbent/bound/gap
  partopt solve scenario.json --solver earliest-finish --solution-out sol.json

With no --solver: dp for an instance, shared-exact for a scenario (the branch and bound, then
CP-SAT), horizon-exact for a horizon, online-earliest-finish for a stream. An exact search
prints its incumbent, bound and gap every second on stderr.""",
    "evaluate": """examples:
  partopt evaluate inst.json 0 2 2 2 2 2          # per-block delays, energy and flags
  partopt evaluate inst.json 1 1 1 1 1 1 --json
  partopt evaluate scenario.json --solution sol.json  # a shared-edge solution (FIFO if it has no start_s)""",
    "simulate": """examples:
  partopt simulate stream.json                                   # earliest-finish at each arrival
  partopt simulate stream.json --policy lyapunov --option V=2 --solution-out plan.json
  partopt simulate stream.json --policy gap-filling --checkpoint run.json    # resumes after Ctrl-C
  partopt simulate stream.json --policy rolling-horizon --option batch_s=0.05 --option solver=shared-local-search

Policies: local, greedy-load, earliest-finish, gap-filling, lyapunov, rolling-horizon (see
docs/model.md, Part IV). With --checkpoint the run is saved every 10,000 tasks and on Ctrl-C;
the same command again resumes it. Progress goes to stderr.""",
    "bench": """examples:
  partopt bench paper-default-v1 --solvers dp greedy apdi rpdi all-device all-edge single-split local-search
  partopt bench dil-v1 --solvers greedy all-edge --objective penalty --limit 100
  partopt bench paper-default-v1 --solvers rpdi --seeds 0 1 2 --jobs 2 --out rpdi.csv

Rows go to --out as they finish (default: a new SUITE[-OBJECTIVE].csv in the working
directory, never an existing file); run again with --out naming that file and finished
rows are reused, not redone. A file that is not a rows CSV is refused untouched.""",
    "plot": """examples:
  partopt bench paper-servers-v1 --solvers dp greedy apdi --limit 40 --out servers.csv
  partopt plot gaps servers.csv     # gap distribution per solver
  partopt plot sweep servers.csv    # delay and energy against the sweep axis""",
    "profile": """examples:
  partopt profile torchvision.models:resnet18 --input-shape 3,224,224 -o resnet18.json
  partopt profile torchvision.models:mobilenet_v3_small --input-shape 3,96,96 --measure --repeats 5 -o mynet.json
  partopt generate mobile --param network=mynet.json --param num_blocks=6 -o mynet-inst.json
  partopt solve mynet-inst.json

Your own model: MODULE:FACTORY, a function of no arguments that returns the torch.nn.Module
(e.g. mypkg.nets:build_model).

Units are cut where exactly one tensor is alive in the traced graph (a residual block or a
transformer layer stays whole). With --measure each unit's time on this machine is stored;
a block's time on the device is then the measured one (docs/model.md).""",
    "train": """examples:
  partopt train imitation --config count=5000 --config epochs=10 --config data=dil-5k.npz --out imitation.pt
  partopt train imitation --config data=dil-5k.npz --config epochs=15 --out imitation.pt --resume  # 5 more
  partopt train distilled --config teacher=imitation.pt --config transfer=5000 --out distilled.pt
  partopt train distilled --config teacher=imitation.pt --config transfer=0 --out kd-1000.pt  # paper: 1,000 inputs
  partopt train mt-a3c --config max_seconds=30 --out mt-a3c.pt                # a 30 s budget
  partopt train mt-a3c --config max_seconds=30 --out mt-a3c.pt --resume       # 30 s more
  partopt train dqn --config episodes=50 --config workers=2 --out dqn.pt
  partopt train shape-free --config scale=0.01 --config epochs=2 --config data=mixture.npz --out shape-free.pt
  partopt train shape-free --config start=shape-free.pt --config updates=20 --out tuned.pt  # A3C fine-tuning
  partopt train shared-learned --config iterations=2 --config batch=2 --out shared-learned.pt  # shared edge
  partopt train online-learned --config iterations=1 --config population=4 --out online.json  # streams

These are short runs, seconds to a minute each on 2 cores; full-size runs raise the same
settings (the imitation checkpoint shipped was trained on count=300000; the commands behind
every shipped checkpoint are in bench/results/). max_seconds is a time budget: alone, the run
trains until it is spent; with episodes, whichever comes first. Checkpoints are written every
checkpoint_every seconds (30 for reinforcement learning, 60 for imitation) and at the end;
--resume continues the run at --out. A training curve CSV goes beside the checkpoint.

Settings are the fields of A3CConfig / DQNConfig (partopt.learned.a3c, .dqn; e.g. episodes, envs,
pool, lr, t_max, gamma, max_seconds, checkpoint_every; mt-a3c/a3c also entropy, replay, memory) or,
for imitation: generator, generator_params, count, seed, epochs, hidden, batch, lr, data,
checkpoint_every; for distilled: teacher, generator, labels, transfer, temperature, hard_weight,
epochs, hidden, batch, seed, checkpoint_every.""",
    "suite": """examples:
  partopt suite list
  partopt suite build paper-default-v1      # generate, solve by DP, check with MILP, save
  partopt suite check paper-default-v1      # regenerate from the seed and compare
  partopt suite check shared-k2-v1 --reprove --time-limit 10   # and solve each entry again
  partopt suite build shared-k64-v1 --time-limit 300   # rebuild; each entry keeps its better reference""",
}


def _instance(args):
    import partopt

    if args.instance and args.generate:
        raise ValueError("instance: give a file or --generate, not both")
    if args.generate:
        return partopt.generate(args.generate, seed=args.seed or 0, **key_values(args.param, "--param"))
    if not args.instance:
        raise ValueError("instance: give an instance file or --generate NAME")
    return partopt.read(args.instance)


def _jsonable(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ----------------------------------------------------------------- commands
def cmd_generate(args) -> int:
    import partopt

    if args.count < 1:
        raise ValueError(f"--count: must be >= 1, got {args.count}")
    if args.seed < 0:
        raise ValueError(f"--seed: must be >= 0, got {args.seed}")
    gen = partopt.get_generator(args.name, **key_values(args.param, "--param"))
    instances = [gen.generate(args.seed, i) for i in range(args.count)]
    if args.output is None:
        if args.count != 1:
            raise ValueError("--output: give a folder to write more than one instance")
        print(json.dumps(instances[0].to_dict(), indent=1))
        return 0
    out = Path(args.output)
    if args.count == 1 and out.suffix == ".json":
        partopt.write(instances[0], out)
        print(f"wrote {out}")
        return 0
    if out.suffix == ".json" or (out.exists() and not out.is_dir()):
        raise ValueError(f"--output: {out} names a file; {args.count} instances go to a folder (give one)")
    out.mkdir(parents=True, exist_ok=True)
    for inst in instances:
        partopt.write(inst, out / f"{inst.name}.json")
    print(f"wrote {len(instances)} instances to {out}/")
    return 0


#: The CLI's time limit for an exact scenario solve when --time-limit is not given (s).
CLI_SCENARIO_LIMIT_S = 60.0


def cmd_solve(args) -> int:
    import partopt

    inst = _instance(args)
    limit = args.time_limit
    if isinstance(inst, partopt.Scenario):
        solver = args.solver or inst.default_solver
        if limit is None and partopt.registry.solver_spec(solver).kind == "exact":
            limit = CLI_SCENARIO_LIMIT_S  # an exact search can run for hours: the CLI never waits unasked
        print(
            f"[solve] {solver}: {inst.num_tasks} tasks, {inst.num_servers} servers"
            + (f", at most {limit:g} s (--time-limit to change)" if limit is not None else "")
            + " ...",
            file=sys.stderr,
            flush=True,
        )
    from partopt.progress import SearchLine, watching

    with watching(SearchLine()):  # exact searches print incumbent, bound and gap
        result = partopt.solve(
            inst,
            args.solver,
            objective=args.objective,
            beta=args.beta,
            time_limit=limit,
            seed=args.solver_seed,
            **key_values(args.option, "--option"),
        )
    if args.solution_out:
        if result.placement is None:
            raise ValueError(f"--solution-out: {result.solver} returned no placement ({result.status})")
        nested = not isinstance(result.placement[0], int)  # a scenario's tasks or a horizon's slots
        placement = result.placement if nested else (result.placement,)
        partopt.write(partopt.Solution(placement, result.start_s), args.solution_out)
    if args.json:
        print(json.dumps({k: _jsonable(v) for k, v in result.to_dict().items()}, indent=1))
    else:
        print(f"instance   {inst!r}")
        print(result.summary())
    return 0


def _solution_of(args, kind: str):
    """The ``--solution`` file's solution, refused naming the option when missing or not one."""
    import partopt

    if not args.solution:
        raise ValueError(f"--solution: a {kind} is evaluated from a partopt.solution/1 file")
    solution = partopt.read(args.solution)
    if not isinstance(solution, partopt.Solution):
        raise ValueError(f"--solution: {args.solution} holds a {type(solution).__name__}, not a solution")
    return solution


def _evaluate_scenario(scenario, args) -> int:
    import partopt

    solution = _solution_of(args, "scenario")
    ev = partopt.evaluate(scenario, solution.placement, solution.start_s)
    if args.json:
        keys = (
            "placement",
            "start_s",
            "finish_s",
            "block_delay",
            "task_delay",
            "device_energy",
            "total_delay",
            "penalty",
            "energy",
            "local_delay",
            "edge_delay",
            "waiting_delay",
            "schedule",
            "problems",
        )
        d = {k: getattr(ev, k) for k in keys}
        d.update(deadlines_met=ev.deadlines_met, budget_kept=ev.budget_kept, valid=ev.valid, feasible=ev.feasible)
        print(json.dumps(d, indent=1))
        return 0
    print(f"{'task':>4} {'device':>6} {'release s':>10} {'delay s':>10} {'waiting s':>10}  placement")
    for k, task in enumerate(scenario.tasks):
        wait = sum(max(s - r, 0.0) for s, r in zip(ev.start_s[k], ev.ready_s[k]))
        late = "" if ev.task_deadline_met[k] and all(ev.deadline_met[k]) else " LATE"
        print(
            f"{k:>4} {task.device:>6} {task.release_s:>10.4g} {ev.task_delay[k]:>10.4g} {wait:>10.4g}  "
            f"{list(ev.placement[k])}{late}"
        )
    print(
        f"total delay {ev.total_delay:.6g} s (waiting {ev.waiting_delay:.4g}, transmission "
        f"{ev.transmission_delay:.4g}, computation {ev.computation_delay:.4g}), energy {ev.energy:.6g} J, "
        f"psi {ev.penalty:.4g} s; schedule {ev.schedule}"
    )
    for problem in ev.problems:
        print(f"INVALID {problem}")
    print(
        f"deadlines met: {ev.deadlines_met}; budgets kept: {ev.budget_kept}; valid: {ev.valid}; feasible: {ev.feasible}"
    )
    return 0


def _evaluate_stream(stream, args) -> int:
    """``partopt evaluate`` of a stream: its schedule (``--solution`` with ``start_s``) and batteries."""
    import partopt

    solution = _solution_of(args, "stream")
    ev = partopt.evaluate(stream, solution.placement, solution.start_s)
    lowest = [min(row) if row else math.inf for row in ev.battery_j]
    if args.json:
        d = {
            "placement": ev.placement,
            "start_s": ev.start_s,
            "task_delay": ev.schedule.task_delay,
            "task_energy": ev.task_energy,
            "battery_j": ev.battery_j,
            "total_delay": ev.total_delay,
            "penalty": ev.penalty,
            "energy": ev.energy,
            "deadline_misses": ev.deadline_misses,
            "problems": ev.problems,
            "valid": ev.valid,
            "budget_kept": ev.budget_kept,
            "feasible": ev.feasible,
        }
        print(json.dumps(d, indent=1, default=lambda x: None if isinstance(x, float) and math.isinf(x) else x))
        return 0
    n = len(ev.placement)
    print(
        f"{n} tasks: total delay {ev.total_delay:.6g} s (mean {1e3 * ev.total_delay / n:.4g} ms), "
        f"psi {ev.penalty:.4g} s, {ev.deadline_misses} deadline misses, device energy {ev.energy:.6g} J"
    )
    for device, (low, cap) in enumerate(zip(lowest, ev.capacity_j)):
        if math.isfinite(cap):
            print(f"device {device}: battery of {cap:.4g} J, lowest {low:.4g} J")
    for problem in ev.problems:
        print(f"INVALID {problem}")
    print(
        f"deadlines met: {ev.deadlines_met}; batteries kept: {ev.budget_kept}; valid: {ev.valid}; "
        f"feasible: {ev.feasible}"
    )
    return 0


def _evaluate_horizon(horizon, args) -> int:
    """``partopt evaluate`` of a horizon: one placement per slot from ``--solution``."""
    import partopt

    solution = _solution_of(args, "horizon (one placement per slot)")
    ev = partopt.evaluate(horizon, solution.placement)
    if args.json:
        d = {
            k: getattr(ev, k)
            for k in (
                "placement",
                "slot_delay",
                "slot_energy",
                "slot_penalty",
                "remaining_energy",
                "total_delay",
                "energy",
                "penalty",
                "energy_max_j",
            )
        }
        d.update(
            deadlines_met=ev.deadlines_met, battery_kept=ev.battery_kept, empty_slot=ev.empty_slot, feasible=ev.feasible
        )
        print(json.dumps(d, indent=1))
        return 0
    print(f"{'slot':>5} {'delay s':>10} {'energy J':>10} {'left J':>10}  placement")
    for t, pl in enumerate(ev.placement):
        print(
            f"{t:>5} {ev.slot_delay[t]:>10.4g} {ev.slot_energy[t]:>10.4g} {ev.remaining_energy[t]:>10.4g}  {list(pl)}"
        )
    print(
        f"total delay {ev.total_delay:.6g} s, energy {ev.energy:.6g} J of {ev.energy_max_j:.6g} J, "
        f"psi {ev.penalty:.4g} s"
    )
    empty = "never" if ev.empty_slot is None else f"after slot {ev.empty_slot}"
    print(
        f"deadlines met: {ev.deadlines_met}; battery kept: {ev.battery_kept} (runs out {empty}); "
        f"feasible: {ev.feasible}"
    )
    return 0


def cmd_evaluate(args) -> int:
    import partopt
    from partopt.problem import is_problem

    partopt.Objective("penalty", args.beta)  # refuses a beta that is not a finite number >= 0
    inst = partopt.read(args.instance)
    if not is_problem(inst):
        raise ValueError(f"instance: {args.instance} holds a {type(inst).__name__}, not a problem to evaluate")
    return _EVALUATE_BY_KIND[inst.kind](inst, args)


def _evaluate_chain(inst, args) -> int:
    """`partopt evaluate` on one chain: a placement (or a solution file; one with a schedule is
    checked as a one-task scenario), printed per block or as JSON."""
    import partopt

    if args.solution:
        solution = partopt.read(args.solution)
        if not isinstance(solution, partopt.Solution) or len(solution.placement) != 1:
            raise ValueError(f"--solution: {args.solution} must hold one placement for one chain")
        if solution.start_s is not None:  # a schedule is checked, never ignored: the chain as a one-task scenario
            return _evaluate_scenario(partopt.Scenario.from_instance(inst), args)
        args.placement = list(solution.placement[0])
    if not args.placement:
        raise ValueError("placement: give one location per block (0 device, 1..N servers) or --solution")
    ev = partopt.evaluate(inst, args.placement)
    if args.json:
        d = {
            k: getattr(ev, k)
            for k in (
                "placement",
                "transmission_delay",
                "computation_delay",
                "return_delay",
                "block_delay",
                "block_energy",
                "deadline_met",
                "total_delay",
                "energy",
                "penalty",
                "local_delay",
                "edge_delay",
            )
        }
        d.update(
            deadlines_met=ev.deadlines_met,
            budget_kept=ev.budget_kept,
            feasible=ev.feasible,
            reward=ev.reward(args.beta),
        )
        print(json.dumps(d, indent=1))
        return 0
    _print_chain_evaluation(inst, ev, args.beta)
    return 0


#: `partopt evaluate` per problem kind (the kinds of :data:`partopt.problem.KINDS`).
_EVALUATE_BY_KIND = {
    "chain": _evaluate_chain,
    "scenario": _evaluate_scenario,
    "horizon": _evaluate_horizon,
    "stream": _evaluate_stream,
}


def _print_chain_evaluation(inst, ev, beta: float) -> None:
    """One chain's evaluation as a table of blocks and its totals."""
    print(f"{'block':>5} {'loc':>4} {'trans s':>10} {'comp s':>10} {'delay s':>10} {'deadline':>9} {'energy J':>10}")
    for m, blk in enumerate(inst.blocks):
        tau = "-" if blk.deadline_s is None else f"{blk.deadline_s:.4g}"
        flag = "" if ev.deadline_met[m] else " LATE"
        print(
            f"{m:>5} {ev.placement[m]:>4} {ev.transmission_delay[m]:>10.4g} {ev.computation_delay[m]:>10.4g} "
            f"{ev.block_delay[m]:>10.4g} {tau:>9} {ev.block_energy[m]:>10.4g}{flag}"
        )
    print(
        f"total delay {ev.total_delay:.6g} s (return {ev.return_delay:.4g} s), energy {ev.energy:.6g} J, "
        f"psi {ev.penalty:.4g} s, reward(beta={beta:g}) {ev.reward(beta):.6g}"
    )
    print(f"deadlines met: {ev.deadlines_met}; budget kept: {ev.budget_kept}; feasible: {ev.feasible}")


def cmd_bench(args) -> int:
    from partopt.bench.cluster import scheduler_executor
    from partopt.bench.harness import benchmark

    suite_label = Path(args.suite).stem if args.suite.endswith(".jsonl") else args.suite
    out = (
        Path(args.out)
        if args.out
        else _new_rows_file(suite_label + ("" if args.objective == "hard" else f"-{args.objective}"))
    )
    options: dict[str, dict] = {}
    for item in args.option or []:
        solver, _, pair = item.partition(":")
        options.setdefault(solver, {}).update(key_values([pair], "--option"))
    solvers = args.solvers or _default_solvers(args.suite)
    with scheduler_executor(args.scheduler) as executor:
        run = benchmark(
            args.suite,
            solvers,
            reference=args.reference,
            objective=args.objective,
            beta=args.beta,
            seeds=args.seeds,
            out=out,
            jobs=args.jobs,
            time_limit=args.time_limit,
            limit=args.limit,
            options=options,
            redo=args.redo,
            progress=not args.quiet,
            executor=executor,
        )
    if args.json:
        print(json.dumps([{k: _jsonable(v) for k, v in s.items()} for s in run.summary], indent=1))
    else:
        print(
            f"{args.suite}: {len({r['instance'] for r in run.rows})} instances, objective {args.objective}"
            + (f" (beta={args.beta:g})" if args.objective == "penalty" else "")
            + (
                ", reference: the suite's stored optima (or best known, with a bound)"
                if _suite_problem(args.suite) == "scenario" and args.reference == "dp"
                else f", reference {args.reference}"
            )
            + f"; {run.new_rows} new rows"
            + (f", {len(run.rows) - run.new_rows} reused from {out}" if len(run.rows) > run.new_rows else "")
        )
        print(run.table())
        print(f"rows: {out}")
    with open(out.with_name(out.stem + "-summary.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(run.summary[0]) if run.summary else ["solver"])
        writer.writeheader()
        writer.writerows(run.summary)
    return 0


def _new_rows_file(stem: str) -> Path:
    """A rows file in the working directory that does not exist yet: STEM.csv, else STEM-2.csv, ...
    (a run without --out never resumes, nor writes into the package or bench/results)."""
    k = 1
    while True:
        path = Path(f"{stem}.csv" if k == 1 else f"{stem}-{k}.csv")
        if not path.exists() and not path.with_name(path.stem + "-summary.csv").exists():
            return path
        k += 1


def _suite_problem(suite: str) -> str:
    """ "scenario" for a shared-edge suite (by name or file name), else "chain"."""
    from partopt.bench.suites import SUITES

    return (
        "scenario" if (suite in SUITES and SUITES[suite].shared) or Path(suite).name.startswith("shared-") else "chain"
    )


def _default_solvers(suite: str) -> list[str]:
    """The exact and heuristic solvers of the suite's kind (chain or scenario), but brute force, the MILPs and
    the shared edge's branch and bound (all for small cases) and CP-SAT (both are in the default, shared-exact)."""
    from partopt.registry import list_solvers

    problem = _suite_problem(suite)
    return [
        s
        for kind in ("exact", "heuristic")
        for s in list_solvers(kind, problem=problem)
        if s not in ("brute-force", "milp-ortools", "milp-pulp", "shared-milp", "shared-bnb", "shared-cpsat")
    ]


def cmd_plot(args) -> int:
    from partopt.bench import plots

    rows = Path(args.rows)
    out = Path(args.out) if args.out else rows.with_suffix("")
    if args.kind == "gaps":
        paths = plots.plot_gaps(rows, out.with_name(out.name + "-gaps"))
    else:
        paths = plots.plot_sweep(rows, out.with_name(out.name + "-sweep"), axis=args.axis)
    for p in paths:
        print(f"wrote {p}")
    return 0


def cmd_suite(args) -> int:
    from partopt.bench import suites

    if args.action == "list":
        for name, spec in suites.SUITES.items():
            built = "built" if suites.suite_path(name).exists() else "not built"
            print(f"{name:20} {len(spec.points) * spec.count:5} instances  ({built})  {spec.description}")
        return 0
    if not args.names:
        raise ValueError("suite: name the suites to build or check (see `partopt suite list`)")
    names = list(suites.SUITES) if args.names == ["all"] else args.names
    for name in names:
        suites.suite_spec(name)  # an unknown name is refused before any work, with the names there are
    from partopt.bench.cluster import scheduler_executor

    with scheduler_executor(args.scheduler) as executor:
        return _suite_actions(suites, names, args, executor)


def _suite_actions(suites, names, args, executor) -> int:
    from partopt.progress import Progress

    for name in names:
        bar = Progress(f"{args.action} {name}", len(suites.SUITES[name].points) * suites.SUITES[name].count)
        if args.action == "build":
            path = suites.build_suite(
                name,
                verify_with=None if args.no_verify else "milp-ortools",
                progress=lambda k, total: bar.update(k),
                executor=executor,
                time_limit=args.time_limit,
            )
            print(f"wrote {path}")
            if not suites.SUITES[name].shared:
                shares = suites.fixed_heuristic_shares(name)
                print(
                    f"{name}: optimal answers of fixed heuristics: "
                    + ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items())
                )
        else:
            problems = suites.check_suite(
                name, progress=lambda k, total: bar.update(k), reprove=args.reprove, time_limit=args.time_limit
            )
            if problems:
                print(f"{name}: {len(problems)} differences", *problems[:20], sep="\n  ")
                return 1
            print(f"{name}: regenerated from its seed, instances and references match")
    return 0


def cmd_profile(args) -> int:
    import importlib

    import partopt
    from partopt.profiles import with_latency_table

    module_name, _, attr = args.factory.partition(":")
    if not module_name or not attr:
        raise ValueError(f"factory: must be PACKAGE.MODULE:FACTORY, got {args.factory!r}")
    try:
        shape = tuple(int(v) for v in args.input_shape.split(","))
    except ValueError:
        raise ValueError(
            f"--input-shape: must be integers separated by commas (e.g. 3,224,224), got {args.input_shape!r}"
        ) from None
    if not shape or any(v <= 0 for v in shape) or math.prod(shape) > 2**31:
        raise ValueError(f"--input-shape: must be positive sizes of at most 2^31 elements in all, got {shape}")
    sys.path.insert(0, os.getcwd())  # PACKAGE.MODULE as `python -m` would find it
    if module_name.split(".")[0] == "torchvision":  # its model definitions, without its compiled operators
        from partopt.profiling import torchvision_models

        torchvision_models()
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"factory: cannot load {args.factory!r}: {error}") from None
    import torch

    model = target if isinstance(target, torch.nn.Module) else target()
    prof = partopt.profile(
        model, torch.randn(1, *shape), name=args.name, measure=args.measure, repeats=args.repeats, threads=args.threads
    )
    if args.latency_table:
        prof = with_latency_table(prof, args.latency_table)
    print(prof.summary())
    print(f"wrote {prof.save(args.output)}")
    return 0


def cmd_simulate(args) -> int:
    import partopt

    stream = partopt.read(args.stream)
    if not isinstance(stream, partopt.Stream):
        raise ValueError(f"stream: {args.stream} holds a {type(stream).__name__}, not a stream (partopt.stream/1)")
    report = partopt.simulate(
        stream,
        args.policy,
        progress=not args.json,
        checkpoint=args.checkpoint,
        **key_values(args.option, "--option"),
    )
    if args.solution_out:
        partopt.write(partopt.Solution(report.placement, report.start_s), args.solution_out)
    if args.json:
        print(
            json.dumps(
                {
                    "policy": report.policy,
                    "tasks": len(report.placement),
                    "mean_delay_s": report.mean_delay_s,
                    "p95_delay_s": report.delay_quantile(0.95),
                    "p99_delay_s": report.delay_quantile(0.99),
                    "deadline_misses": report.deadline_misses,
                    "energy_j": report.energy_j,
                    "server_utilization": report.server_utilization,
                    "problems": report.problems,
                    "tasks_per_second": report.tasks_per_second,
                }
            )
        )
    else:
        print(report.summary())
    return 0


def cmd_list(args) -> int:
    import partopt
    from partopt.bench.suites import SUITES
    from partopt.generation import GENERATORS
    from partopt.profiles import list_profiles, load_profile
    from partopt.registry import solver_spec

    print("solvers:")
    for name in partopt.list_solvers():
        spec = solver_spec(name)
        print(f"  {name:20} {spec.kind:9} {spec.problem:8} {spec.description}")
    print("generators: " + ", ".join(GENERATORS))
    print("suites:     " + ", ".join(SUITES))
    print("profiles:")
    for name in list_profiles():
        prof = load_profile(name)
        print(
            f"  {name:16} {prof.total_flops / 1e9:7.2f} GFLOPs {prof.total_params / 1e6:7.2f} M params, "
            f"{prof.natural_blocks:2} blocks: {prof.definition}"
        )
    return 0


def cmd_train(args) -> int:
    from partopt.registry import require

    require(("torch", "gymnasium"), "partopt train")  # the install hint, before anything imports them
    from partopt.learned.cli import train_main

    return train_main(args)


# ------------------------------------------------------------------- parser
def _scheduler_option(p: argparse.ArgumentParser) -> None:
    """``--scheduler``: where a command's solves run."""
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster: tcp://HOST:PORT, or local:N for N local workers (extra [dask])",
    )


def _generate_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt generate`."""
    p.add_argument(
        "name",
        help="generator: paper, dil, random, mobile (one chain), shared (a shared-edge "
        "scenario), horizon (slots sharing a battery) or stream (the shared edge online)",
    )
    p.add_argument("--seed", type=int, default=0, help="stream seed (default 0)")
    p.add_argument("--count", type=int, default=1, help="how many instances (default 1)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="generator parameter (repeatable)")
    p.add_argument("-o", "--output", help="a .json file (one instance) or a folder; default: print JSON")


def _solve_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt solve`."""
    p.add_argument("instance", nargs="?", help="instance or scenario file (partopt.instance/1, partopt.scenario/1)")
    p.add_argument("--generate", metavar="NAME", help="solve a generated instance instead of a file")
    p.add_argument("--seed", type=int, default=0, help="with --generate: the instance seed")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="with --generate: generator parameter")
    p.add_argument("--solver", help="solver name (see `partopt list`; default dp, or shared-exact for a scenario)")
    p.add_argument(
        "--objective",
        choices=["hard", "penalty"],
        default="hard",
        help="hard: problem P with deadlines as constraints; penalty: L + beta psi (default hard)",
    )
    p.add_argument("--beta", type=float, default=1.0, help="penalty weight beta (default 1)")
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds, for solvers that take one (an exact scenario solve: 60 by default; inf for none)",
    )
    p.add_argument("--solver-seed", type=int, help="seed of a randomized solver")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="solver option, e.g. backend=cp-sat")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--solution-out", metavar="FILE", help="write the placement (and schedule) as partopt.solution/1")


def _evaluate_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt evaluate`."""
    p.add_argument("instance", help="instance or scenario file")
    p.add_argument("placement", nargs="*", type=int, help="location of each block: 0 device, 1..N servers")
    p.add_argument("--solution", metavar="FILE", help="a partopt.solution/1 file (required for a scenario)")
    p.add_argument("--beta", type=float, default=1.0, help="beta for the reward (default 1)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _simulate_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt simulate`."""
    p.add_argument("stream", help="a stream file (partopt.stream/1; `partopt generate stream`)")
    p.add_argument("--policy", default="earliest-finish", help="online policy (default earliest-finish)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="policy option, e.g. V=2")
    p.add_argument("--checkpoint", metavar="FILE", help="save the run here as it goes; resume from it if it exists")
    p.add_argument("--solution-out", metavar="FILE", help="write the schedule as partopt.solution/1")
    p.add_argument("--json", action="store_true", help="print the figures as JSON (no progress line)")


def _bench_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt bench`."""
    p.add_argument("suite", help="suite name (see `partopt suite list`) or .jsonl file")
    p.add_argument(
        "--solvers", nargs="+", help="solver names (default: every exact and heuristic solver of the suite's kind)"
    )
    p.add_argument("--reference", default="dp", help="solver giving the optimum (default dp)")
    p.add_argument("--objective", choices=["hard", "penalty"], default="hard")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds for randomized solvers")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--limit", type=int, help="only the first N instances")
    p.add_argument("--time-limit", type=float, help="seconds per solve")
    p.add_argument("--option", action="append", metavar="SOLVER:KEY=VALUE", help="option for one solver")
    p.add_argument(
        "--out",
        help="rows CSV; rows already in it are reused (resumed), others appended "
        "(default: a new SUITE.csv, SUITE-2.csv, ... in the working directory)",
    )
    p.add_argument(
        "--redo",
        nargs="+",
        default=[],
        metavar="SOLVER",
        help="drop these solvers' stored rows and run them again (e.g. after retraining)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    _scheduler_option(p)


def _plot_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt plot`."""
    p.add_argument("kind", choices=["gaps", "sweep"])
    p.add_argument("rows", help="rows CSV written by `partopt bench`")
    p.add_argument("--axis", help="sweep axis (default: the suite's own)")
    p.add_argument("--out", help="output path prefix (default: beside the rows)")


def _suite_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt suite`."""
    p.add_argument("action", choices=["list", "build", "check"])
    p.add_argument("names", nargs="*", help="suite names, or 'all'")
    p.add_argument("--no-verify", action="store_true", help="build without the MILP check of the references")
    p.add_argument(
        "--reprove",
        action="store_true",
        help="check: solve each shared-edge entry again; a better schedule refutes a stored optimum",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="shared-edge build, or check --reprove: seconds per time-limited solve (default: the suite's own)",
    )
    _scheduler_option(p)


def _profile_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt profile`."""
    p.add_argument(
        "factory",
        help="PACKAGE.MODULE:FACTORY, a function returning the torch.nn.Module (or a module-level model object)",
    )
    p.add_argument("--input-shape", required=True, metavar="C,H,W", help="one input's shape, without the batch")
    p.add_argument("--name", help="the profile's name (default: the model's class)")
    p.add_argument("--measure", action="store_true", help="time every unit on this machine")
    p.add_argument("--repeats", type=int, default=20, help="with --measure: timed runs per unit (median kept)")
    p.add_argument("--threads", type=int, default=1, help="with --measure: torch threads")
    p.add_argument(
        "--latency-table",
        metavar="CSV",
        help="unit times from another profiler (columns unit,latency_s[,output_bytes])",
    )
    p.add_argument("-o", "--output", required=True, help="the profile file to write (.json)")


def _list_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt list`: none."""


def _train_options(p: argparse.ArgumentParser) -> None:
    """The options of `partopt train`."""
    p.add_argument(
        "agent",
        choices=["mt-a3c", "a3c", "dqn", "imitation", "distilled", "shape-free", "shared-learned", "online-learned"],
    )
    p.add_argument("--config", action="append", metavar="KEY=VALUE", help="training setting (repeatable)")
    p.add_argument("--out", help="checkpoint path")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")


#: The subcommands: (name, one-line help, handler, function adding its options).
COMMANDS = [
    (
        "generate",
        "write instances drawn from a generator (paper, dil, random, mobile; shared; horizon; stream)",
        cmd_generate,
        _generate_options,
    ),
    ("solve", "solve one instance or shared-edge scenario with a named solver", cmd_solve, _solve_options),
    (
        "evaluate",
        "price one placement or schedule: delays, energy, deadlines, budgets",
        cmd_evaluate,
        _evaluate_options,
    ),
    (
        "simulate",
        "run a stream task by task under an online policy (model Part IV)",
        cmd_simulate,
        _simulate_options,
    ),
    ("bench", "run solvers over a suite and report optimality gaps", cmd_bench, _bench_options),
    (
        "plot",
        "draw benchmark rows: gap distribution, or delay/energy against a sweep axis",
        cmd_plot,
        _plot_options,
    ),
    ("suite", "list, build or check the named instance suites", cmd_suite, _suite_options),
    (
        "profile",
        "profile your own PyTorch model into a chain of units (a partopt.profile/2 file)",
        cmd_profile,
        _profile_options,
    ),
    ("list", "list solvers, generators, suites and DNN profiles", cmd_list, _list_options),
    (
        "train",
        "train a learned solver (mt-a3c, a3c, dqn, imitation, distilled, shape-free, shared-learned)",
        cmd_train,
        _train_options,
    ),
]


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per entry of :data:`COMMANDS`, each with its options."""
    parser = argparse.ArgumentParser(
        prog="partopt",
        description="Place DNN blocks on an IoT device or edge servers: solve, evaluate, benchmark, train.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `partopt COMMAND --help` for the options and examples of each command.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text, fn, options in COMMANDS:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EPILOGS.get(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(fn=fn)
        options(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 2
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("partopt: interrupted; finished work is saved", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError, ImportError) as error:
        if args.debug:
            raise
        print(f"partopt: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if args.debug:
            raise
        print(f"partopt: {type(error).__name__}: {error} (run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
