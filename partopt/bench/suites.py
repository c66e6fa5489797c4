"""Named, versioned instance suites with their reference optima.

A suite is a generator, a list of *points* (parameter settings: one for a plain
suite, one per x-axis value for a sweep), a count per point and a seed. It is
saved as ``partopt/data/suites/<name>.jsonl``: a header line, then one line per
instance with its reference optimum under "hard" and "penalty" (beta = 1), computed
by DP and checked against the SCIP MILP when the suite is built.

Shared-edge suites (generator ``shared``, names ``shared-*``) store, in the manner of
MIPLIB and VRPLIB, the best known solution under "hard": its objective, its status
("optimal" when proven, else "feasible" with the best proven lower bound ``bound``),
the solver that found it, and the placement and schedule. The best known is the best
of the exact runs (the default front door, ``shared-exact``; up to 16 tasks, where it proves
nothing, CP-SAT and the branch and bound alone too; each within the suite's time limit, or
``partopt suite build --time-limit``) and the heuristics (:data:`SHARED_HEURISTICS`, among them the order search from
shared-learned's schedule); ``bound_version`` says which bounds made the bound
(:data:`BOUND_VERSION`: a rebuild drops older ones, and ``partopt suite check`` flags them).

Suite seeds are 1,000,000 and above; training streams of the learned solvers use
seeds below that, so suite instances are held out from training.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from partopt.api import solve
from partopt.execution import SerialExecutor, TaskFailure, map_unordered
from partopt.fields import number_field
from partopt.files import from_dict
from partopt.generation import HELD_OUT_SEED, get_generator
from partopt.names import did_you_mean
from partopt.problem import evaluate
from partopt.profiles import data_dir
from partopt.result import Status
from partopt.shared.generators import SHARED_MIX
from partopt.shared.model import Scenario

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from partopt.chain.model import Instance

__all__ = [
    "SUITES",
    "Suite",
    "SuiteEntry",
    "SuiteSpec",
    "build_suite",
    "check_suite",
    "fixed_heuristic_shares",
    "list_suites",
    "load_suite",
    "suite_spec",
]

FORMAT = "partopt.suite/1"
REFERENCE_BETA = 1.0
#: Heuristics whose best answer competes with the exact run for a shared suite's best known.
SHARED_HEURISTICS = (
    "earliest-finish",
    "shared-local-search",
    "as-if-alone",
    "shared-greedy",
    "shared-order-search",
    "shared-learned-search",
)
#: Options of the heuristics when they look for a best known solution (each set one run): the
#: local search runs to 20,000 moves under both dispatch rules, not to its default effort (a
#: budget of time, not of quality).
REFERENCE_OPTIONS: dict[str, list[dict[str, Any]]] = {
    "shared-local-search": [
        {"dispatch": d, "dispatches_per_task": None, "max_evaluations": 20_000} for d in ("list", "fifo")
    ],
    "shared-order-search": [{"seed": 0}],
    # The learned dispatch applies outside the servers it was trained on too, if less well.
    "shared-learned-search": [{"seed": 0, "allow_outside": True}],
}


@dataclass(frozen=True)
class SuiteSpec:
    """How to build a suite: generator, points (label, params), instances per point, seed."""

    name: str
    generator: str
    points: tuple[tuple[str, dict], ...]
    count: int
    seed: int
    axis: str | None = None
    description: str = ""
    time_limit: float | None = None

    @property
    def shared(self) -> bool:
        """True for a shared-edge suite (scenarios with best known solutions)."""
        return self.generator == "shared"


def _shared_point(tasks: int) -> Callable[[Any], dict]:
    """Generator parameters of a shared-edge suite point: K tasks released at a given rate."""
    return lambda rate: {**SHARED_MIX, "num_tasks": tasks, "release_rate": rate}


def _sweep(axis: str, values, make: Callable[[Any], dict]) -> tuple[tuple[str, dict], ...]:
    return tuple((f"{axis}={v}", make(v)) for v in values)


MOBILE_NETWORKS = ("resnet18-224", "resnet50-224", "mobilenetv2-224", "vgg16-224", "alexnet-224")
#: (label, mobile generator parameters, description) of the ImageNet-size suites.
MOBILE_REGIMES: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        "phone-wifi",
        {"device": "phone", "server": "cpu+gpu", "link": "wifi", "far_link": "lte"},
        "phone over Wi-Fi to a CPU edge box, GPU servers over LTE or the backhaul; 5 ImageNet networks",
    ),
    (
        "rpi-wifi",
        {"device": "rpi", "server": "cpu+gpu", "link": "wifi", "far_link": "lte"},
        "Raspberry Pi 4 over Wi-Fi to a CPU edge box, GPU servers over LTE or the backhaul; 5 ImageNet networks",
    ),
    (
        "jetson-5g",
        {"device": "jetson", "server": "cpu+gpu", "link": "5g", "far_link": "lte", "budget_fraction": 0.5},
        "Jetson Nano over 5G to a CPU edge server, GPU servers over LTE or the backhaul, a device budget halfway "
        "between the least energy and the optimum's; 5 ImageNet networks",
    ),
)
#: The sweeps' regime (Figs. 9, 12, 13 rerun): phone-wifi with three servers and no drawn deadlines.
MOBILE_SWEEP: dict[str, Any] = {
    **MOBILE_REGIMES[0][1],
    "network": "resnet50-224",
    "num_servers": 3,
    "deadline_share": 0.0,
}
#: The fixed heuristics whose share of optimal answers a chain suite reports.
FIXED_HEURISTICS = ("all-edge", "all-device", "single-split")

SUITES: dict[str, SuiteSpec] = {
    spec.name: spec
    for spec in [
        SuiteSpec(
            "paper-default-v1",
            "paper",
            (("default", {}),),
            200,
            HELD_OUT_SEED + 1,
            description="source paper's default: VGG16 in 6 blocks, N = 4 servers",
        ),
        SuiteSpec(
            "paper-servers-v1",
            "paper",
            _sweep("servers", range(2, 10), lambda n: {"num_servers": n}),
            25,
            HELD_OUT_SEED + 2,
            axis="servers",
            description="Figs. 8 and 11(a): N = 2..9, VGG16 in 6 blocks",
        ),
        SuiteSpec(
            "paper-blocks-v1",
            "paper",
            _sweep("blocks", range(3, 19), lambda m: {"num_blocks": m}),
            15,
            HELD_OUT_SEED + 3,
            axis="blocks",
            description="Figs. 9 and 11(b): VGG16 in M = 3..18 blocks, N = 4",
        ),
        SuiteSpec(
            "paper-deadline-v1",
            "paper",
            _sweep("deadline_s", [0.02, 0.05, 0.1, 0.2, 0.5, 1, 3, 5, 7], lambda t: {"deadline_s": t}),
            20,
            HELD_OUT_SEED + 4,
            axis="deadline_s",
            description="Fig. 12: every block's deadline set to one value (s), N = 4",
        ),
        SuiteSpec(
            "paper-link-v1",
            "paper",
            tuple(
                (f"{net},rate_MBps={r}", {"network": net, "rate_MBps": r})
                for net in ("nin", "alexnet", "vgg16", "resnet32")
                for r in (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
            ),
            10,
            HELD_OUT_SEED + 5,
            axis="rate_MBps",
            description="Fig. 13: device-server link capacity (MB/s) for the four DNNs, N = 4",
        ),
        *[
            SuiteSpec(
                f"mobile-{label}-v1",
                "mobile",
                tuple((net, {"network": net, **regime}) for net in MOBILE_NETWORKS),
                20,
                HELD_OUT_SEED + 20 + i,
                axis="network",
                description=text,
            )
            for i, (label, regime, text) in enumerate(MOBILE_REGIMES)
        ],
        SuiteSpec(
            "phone-blocks-v1",
            "mobile",
            _sweep("blocks", range(3, 20), lambda m: {**MOBILE_SWEEP, "num_blocks": m}),
            10,
            HELD_OUT_SEED + 30,
            axis="blocks",
            description="Fig. 9 in the phone-wifi regime: ResNet-50 at 224 cut into M = 3..19",
        ),
        SuiteSpec(
            "phone-deadline-v1",
            "mobile",
            _sweep(
                "deadline_s", [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0], lambda t: {**MOBILE_SWEEP, "deadline_s": t}
            ),
            15,
            HELD_OUT_SEED + 31,
            axis="deadline_s",
            description="Fig. 12 in the phone-wifi regime: every block's deadline one value (s), ResNet-50",
        ),
        SuiteSpec(
            "phone-link-v1",
            "mobile",
            tuple(
                (f"{net},link_mbps={r}", {**MOBILE_SWEEP, "network": net, "link_mbps": r})
                for net in ("resnet18-224", "resnet50-224", "mobilenetv2-224", "vgg16-224")
                for r in (2, 5, 10, 20, 50, 100, 200)
            ),
            8,
            HELD_OUT_SEED + 32,
            axis="link_mbps",
            description="Fig. 13 in the phone-wifi regime: the device's uplink (Mbit/s) for four networks",
        ),
        SuiteSpec(
            "dil-v1",
            "dil",
            (("default", {}),),
            1000,
            HELD_OUT_SEED + 6,
            description="deep-imitation paper's distribution: 6 subtasks, edge + cloud",
        ),
        *[
            SuiteSpec(
                f"shared-k{k}-v1",
                "shared",
                _sweep("release_rate", (30, 70, 110), _shared_point(k)),
                count,
                HELD_OUT_SEED + 10 + i,
                axis="release_rate",
                time_limit=limit,
                description=f"shared edge, K = {k} tasks at 30/70/110 per s, four DNNs, N = 2..9, 3 devices",
            )
            for i, (k, count, limit) in enumerate(
                ((2, 10, 20.0), (8, 5, 30.0), (16, 3, 30.0), (64, 1, 30.0), (256, 1, 30.0))
            )
        ],
        SuiteSpec(
            "shared-mix-k8-v1",
            "shared",
            _sweep(
                "release_rate",
                (30, 70, 110),
                lambda rate: {"networks": SHARED_MIX["networks"], "num_tasks": 8, "release_rate": rate, "mix": True},
            ),
            5,
            HELD_OUT_SEED + 15,
            axis="release_rate",
            time_limit=30.0,
            description="shared edge drawn with every model feature (mix=True): K = 8 at 30/70/110 per s, "
            "N = 2..9, 1..6 devices, mixed uplinks, busy servers, deadlines and budgets that bind",
        ),
    ]
}


@dataclass(frozen=True)
class SuiteEntry:
    """One instance of a suite, its point and its reference optima by objective."""

    id: str
    point: str
    params: dict
    instance: Instance | Scenario
    reference: dict[str, dict]


@dataclass
class Suite:
    """A loaded suite: its spec fields and entries."""

    name: str
    generator: str
    seed: int
    count: int
    axis: str | None
    description: str
    entries: list[SuiteEntry] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[SuiteEntry]:
        return iter(self.entries)

    def instances(self) -> list[Instance | Scenario]:
        """The instances, in order."""
        return [e.instance for e in self.entries]


def list_suites() -> list[str]:
    """Names of the defined suites."""
    return list(SUITES)


def suite_path(name: str) -> Path:
    """Where suite ``name`` is stored."""
    return data_dir() / "suites" / f"{name}.jsonl"


def suite_spec(name: str) -> SuiteSpec:
    """The spec of suite ``name``; an unknown name is refused with the names there are."""
    if name not in SUITES:
        raise ValueError(f"suite: unknown name {name!r}; available: {', '.join(SUITES)}." + did_you_mean(name, SUITES))
    return SUITES[name]


#: The version of the bounds a shared-edge entry stores. Version 1 came from exact solvers
#: whose work relaxation could cut off valid schedules (its e_kr took the direct upload only):
#: its bounds and "optimal" statuses are not trusted; a rebuild recomputes them.
BOUND_VERSION = 2


def _grid_slack(scenario: Scenario) -> float:
    """How far a grid-optimal answer may lie above the continuous optimum (s): the agreement
    rule of docs/model.md, 1 us grid steps, K (2 sum_k M_k + 1) of them."""
    from partopt.shared.solvers.cpsat import DEFAULT_GRID_S
    from partopt.shared.solvers.start import grid_rounding_steps

    return grid_rounding_steps(scenario) * DEFAULT_GRID_S


def _shared_reference(scenario: Scenario, time_limit: float | None) -> dict[str, dict]:
    """The best known "hard" solution: the exact runs (the default front door, ``shared-exact``;
    where it proves nothing at a size where it runs the branch and bound,
    :data:`~partopt.shared.solvers.portfolio.BNB_MAX_TASKS` tasks at most, also CP-SAT and the
    branch and bound alone, each with both cores, as the front door can lose a proof near its
    limit or end with a weaker schedule than CP-SAT alone) and every heuristic, the least wins;
    the bound is the highest the exact runs proved, "optimal" when an exact run proved an answer
    the best known does not beat by more than the grid's rounding."""
    from partopt.shared.solvers.portfolio import BNB_MAX_TASKS

    exact = [solve(scenario, "shared-exact", time_limit=time_limit)]
    if scenario.num_tasks <= BNB_MAX_TASKS and exact[0].status not in (Status.OPTIMAL, Status.INFEASIBLE):
        exact += [solve(scenario, name, time_limit=time_limit) for name in ("shared-cpsat", "shared-bnb")]
    if any(r.status == Status.INFEASIBLE for r in exact):
        return {
            "hard": {
                "status": "infeasible",
                "objective": None,
                "bound": None,
                "bound_version": BOUND_VERSION,
                "solver": next(r.solver for r in exact if r.status == Status.INFEASIBLE),
            }
        }
    best = min(exact, key=lambda r: r.objective)
    for name in SHARED_HEURISTICS:
        for options in REFERENCE_OPTIONS.get(name, [{}]):
            res = solve(scenario, name, time_limit=time_limit, **options)
            if res.feasible and res.objective < best.objective * (1 - 1e-12):
                best = res
    bounds = [r.lower_bound for r in exact if r.lower_bound is not None]
    proven = any(r.status == Status.OPTIMAL and r.objective <= best.objective + _grid_slack(scenario) for r in exact)
    return {
        "hard": {
            "status": "optimal" if proven else "feasible",
            "objective": best.objective if math.isfinite(best.objective) else None,
            "bound": max(bounds) if bounds else None,
            "bound_version": BOUND_VERSION,
            "solver": best.solver,
            "placement": None if best.placement is None else [list(r) for r in best.placement],
            "start_s": None if best.start_s is None else [list(r) for r in best.start_s],
        }
    }


def _chain_reference(instance: Instance, spec: SuiteSpec | None = None) -> dict[str, dict]:
    """The DP's optimum under both objectives ("hard", and "penalty" with :data:`REFERENCE_BETA`)."""
    out = {}
    for kind in ("hard", "penalty"):
        r = solve(instance, "dp", objective=kind, beta=REFERENCE_BETA)
        out[kind] = {
            "status": r.status.value,
            "objective": r.objective if math.isfinite(r.objective) else None,
            "placement": None if r.placement is None else list(r.placement),
        }
    return out


def _scenario_reference(scenario: Scenario, spec: SuiteSpec | None = None) -> dict[str, dict]:
    """The best known "hard" solution within the suite's time limit per exact run."""
    return _shared_reference(scenario, None if spec is None else spec.time_limit)


#: problem kind -> how a suite entry's reference is made; a suite holds problems of these kinds.
_REFERENCES = {"chain": _chain_reference, "scenario": _scenario_reference}


def _reference(problem: Instance | Scenario, spec: SuiteSpec | None = None) -> dict[str, dict]:
    """The stored reference of a suite entry (see :data:`_REFERENCES`)."""
    return _REFERENCES[problem.kind](problem, spec)  # type: ignore[operator]


def generate_entries(spec: SuiteSpec) -> Iterator[tuple[str, str, dict, Instance]]:
    """(id, point label, params, instance) for every instance of ``spec``, deterministic.

    Every point of a sweep draws from the same random stream (common random numbers):
    where the swept parameter does not change what is drawn (deadlines, link rates),
    instance i differs between points only in that parameter.
    """
    for p, (label, params) in enumerate(spec.points):
        gen = get_generator(spec.generator, **params)
        for i in range(spec.count):
            inst = gen.generate(spec.seed, i)
            ident = f"{spec.name}/{p:02d}-{i:04d}"
            yield ident, label, params, inst.replace(name=ident)


def build_suite(
    name: str,
    *,
    verify_with: str | None = "milp-ortools",
    progress: Callable | None = None,
    executor: Executor | None = None,
    time_limit: float | None = None,
) -> Path:
    """Generate suite ``name``, compute its references, check them with ``verify_with``, save it.

    Chain suites: references by DP, checked by ``verify_with``. Shared-edge suites: best
    known solutions (see the module docstring). Finished entries go to
    ``<name>.jsonl.partial`` as they are done; an interrupted build resumes from there.
    ``executor``: where the entries' ground truth is computed (default: this process),
    e.g. a Dask cluster's (:func:`partopt.bench.cluster.connect`); each entry is one task.
    ``time_limit``: seconds per time-limited solve of a shared-edge entry (default: the suite's
    own); a rebuild keeps each entry's better reference either way.
    """
    spec = suite_spec(name)
    if time_limit is not None:
        spec = dataclasses.replace(spec, time_limit=number_field(time_limit, "time_limit", lower="positive"))
    path = suite_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    done: dict[str, str] = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            try:
                done[json.loads(line)["id"]] = line
            except (json.JSONDecodeError, KeyError):
                break  # a torn last line: that entry is redone
    header = json.dumps(
        {
            "format": FORMAT,
            "name": spec.name,
            "generator": spec.generator,
            "seed": spec.seed,
            "count": spec.count,
            "axis": spec.axis,
            "description": spec.description,
            "points": [[label, params] for label, params in spec.points],
        }
    )
    order = []
    jobs = []
    for ident, label, params, inst in generate_entries(spec):
        order.append(ident)
        if ident not in done:
            jobs.append(_EntryJob(ident, label, params, inst.to_dict(), spec.name, verify_with, spec.time_limit))
    total = len(order)
    with open(partial, "w") as fh:
        fh.writelines(line + "\n" for line in done.values())
        fh.flush()
        for job, line in map_unordered(executor or SerialExecutor(), _entry_line, jobs):
            if isinstance(line, TaskFailure):
                raise RuntimeError(f"{job.ident}: {line.reason}; finished entries are kept in {partial}")
            done[job.ident] = line
            fh.write(line + "\n")
            fh.flush()
            if progress:
                progress(len(done), total)
    if spec.shared and path.exists():
        done = _keep_best_known(path, done)
    path.write_text("\n".join([header] + [done[ident] for ident in order]) + "\n")
    partial.unlink()
    return path


def _keep_best_known(path: Path, lines: dict[str, str]) -> dict[str, str]:
    """The new entry ``lines`` (by id) with each shared-edge reference no worse than the one
    stored in ``path`` for the same scenario: the better solution (with its solver) and the
    higher of the two proven bounds are kept, so a rebuild, whose time-limited runs differ
    from one run to the next, never loses a best known solution."""
    stored = {}
    for line in path.read_text().splitlines()[1:]:
        try:
            entry = json.loads(line)
            stored[entry["id"]] = entry
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    out = {}
    for ident, line in lines.items():
        entry, before = json.loads(line), stored.get(ident)
        if before is not None and before.get("instance") == entry["instance"]:
            entry["reference"]["hard"] = _better_reference(before["reference"]["hard"], entry["reference"]["hard"])
            line = json.dumps(entry)
        out[ident] = line
    return out


def _better_reference(old: dict, new: dict) -> dict:
    """Of two "hard" references of one scenario, the better solution with the higher valid
    bound and the strongest status: on a tie (to 1e-9) a proven entry wins. An entry whose
    bounds predate :data:`BOUND_VERSION` keeps its schedule (a valid schedule stays valid)
    but neither its bound nor its status."""
    if old.get("objective") is None or new.get("objective") is None:
        return new  # infeasible (proven by the exact solver either time)
    if old.get("bound_version", 1) < BOUND_VERSION:
        old = {**old, "bound": None, "status": "feasible"}
    if new.get("bound_version", 1) < BOUND_VERSION:
        new = {**new, "bound": None, "status": "feasible"}
    tie = math.isclose(old["objective"], new["objective"], rel_tol=1e-9)
    if tie:
        best = old if old["status"] == "optimal" and new["status"] != "optimal" else new
    else:
        best = old if old["objective"] < new["objective"] else new
    proven = old["status"] == "optimal" or new["status"] == "optimal"
    bounds = [b for b in (old.get("bound"), new.get("bound")) if b is not None]
    return {
        **best,
        "bound": max(bounds) if bounds else None,
        "bound_version": BOUND_VERSION,
        "status": "optimal" if best["status"] == "optimal" or (proven and tie) else "feasible",
    }


@dataclass(frozen=True)
class _EntryJob:
    """One suite entry's ground truth to compute: what travels to a worker."""

    ident: str
    label: str
    params: dict
    problem: dict
    suite: str
    verify_with: str | None
    time_limit: float | None = None


def _entry_line(job: _EntryJob) -> str:
    """The stored line of one entry: its instance and references (checked when asked)."""
    spec = dataclasses.replace(suite_spec(job.suite), time_limit=job.time_limit)
    inst = from_dict(job.problem)
    if getattr(inst, "kind", None) not in _REFERENCES:
        raise TypeError(f"{job.ident}: holds a {type(inst).__name__}, not an instance or scenario")
    ref = _reference(inst, spec)
    if job.verify_with and not spec.shared:
        _verify(job.ident, inst, ref, job.verify_with)
    return json.dumps(
        {"id": job.ident, "point": job.label, "params": job.params, "instance": job.problem, "reference": ref}
    )


def fixed_heuristic_shares(name: str, objective: str = "hard") -> dict[str, float]:
    """How often each fixed heuristic is optimal on a chain suite (share of its instances), and
    how often the optimum beats the best single split ("multi-cut"); infeasible instances
    count as not optimal for any heuristic."""
    suite = load_suite(name)
    if suite.generator == "shared":
        raise ValueError(f"suite: {name} is a shared-edge suite; fixed heuristics are for one chain")
    counts = dict.fromkeys((*FIXED_HEURISTICS, "multi-cut", "infeasible"), 0)
    for entry in suite.entries:
        best = entry.reference[objective]["objective"]
        if best is None:
            counts["infeasible"] += 1
            continue
        for heuristic in FIXED_HEURISTICS:
            r = solve(entry.instance, heuristic, objective=objective, beta=REFERENCE_BETA)
            if r.feasible and r.objective <= best * (1 + 1e-9):
                counts[heuristic] += 1
            elif heuristic == "single-split":
                counts["multi-cut"] += 1
    return {k: v / len(suite.entries) for k, v in counts.items()}


def _verify(ident: str, inst: Instance | Scenario, ref: dict, verify_with: str) -> None:
    for kind, r in ref.items():
        check = solve(inst, verify_with, objective=kind, beta=REFERENCE_BETA)
        if check.status.value != r["status"] or (
            r["objective"] is not None and not math.isclose(check.objective, r["objective"], rel_tol=1e-6)
        ):
            raise RuntimeError(f"{ident} [{kind}]: DP {r} but {verify_with} {check.status} {check.objective}")


#: The largest suite file read (bytes).
MAX_SUITE_BYTES = 512 * 2**20


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a saved suite by name (``partopt/data/suites/<name>.jsonl``) or path.

    A suite file is untrusted: it must be a regular file of at most :data:`MAX_SUITE_BYTES`,
    every line JSON, every entry a valid instance or scenario with a unique id, and every stored
    reference objective and bound a finite number > 0 (or null); errors name ``file:line``."""
    path = Path(name_or_path)
    if not path.suffix:
        suite_spec(str(name_or_path))
        path = suite_path(str(name_or_path))
        if not path.exists():
            raise FileNotFoundError(
                f"suite {name_or_path!r} is not built yet: run `partopt suite build {name_or_path}`"
            )
    if not path.is_file():
        raise ValueError(f"suite: {path} is not a regular file")
    if path.stat().st_size > MAX_SUITE_BYTES:
        raise ValueError(f"suite: {path} is larger than {MAX_SUITE_BYTES // 2**20} MiB")
    with open(path, encoding="utf-8-sig") as fh:
        head = _suite_line(path, 1, fh.readline())
        if head.get("format") != FORMAT:
            raise ValueError(f"{path}:1: format must be {FORMAT!r}, got {head.get('format')!r}")
        try:
            suite = Suite(
                str(head["name"]),
                str(head["generator"]),
                int(head["seed"]),
                int(head["count"]),
                head.get("axis"),
                str(head.get("description", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}:1: the header needs name, generator, seed and count ({error})") from None
        seen: set[str] = set()
        for number, line in enumerate(fh, start=2):
            if line.strip():
                suite.entries.append(_suite_entry(path, number, _suite_line(path, number, line), seen))
    return suite


def _suite_line(path: Path, number: int, line: str) -> dict:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{number}: not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}:{number}: must be a JSON object, got {type(value).__name__}")
    return value


def _suite_entry(path: Path, number: int, d: dict, seen: set[str]) -> SuiteEntry:
    """One suite line as an entry, checked (see :func:`load_suite`)."""
    where = f"{path}:{number}"
    for key in ("id", "point", "params", "instance", "reference"):
        if key not in d:
            raise ValueError(f"{where}: the entry has no {key!r}")
    if not isinstance(d["id"], str) or d["id"] in seen:
        raise ValueError(f"{where}: id {d['id']!r} must be a string, once per suite")
    seen.add(d["id"])
    try:
        problem = from_dict(d["instance"])
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: instance: {error}") from None
    if getattr(problem, "kind", None) not in _REFERENCES:
        raise ValueError(f"{where}: entry {d['id']} holds no instance or scenario")
    if not isinstance(d["reference"], dict):
        raise ValueError(f"{where}: reference must be an object")
    for kind, ref in d["reference"].items():
        if not isinstance(ref, dict):
            raise ValueError(f"{where}: reference.{kind} must be an object")
        for key in ("objective", "bound"):
            value = ref.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
            ):
                raise ValueError(f"{where}: reference.{kind}.{key} must be a finite number > 0 or null, got {value!r}")
    return SuiteEntry(d["id"], str(d["point"]), d["params"], problem, d["reference"])


def check_suite(
    name: str, *, progress: Callable | None = None, reprove: bool = False, time_limit: float | None = None
) -> list[str]:
    """Rebuild suite ``name`` from its seed and compare with the stored one; returns the differences.

    Shared-edge entries: the stored schedule must be valid, feasible and priced as stored, the
    bound valid for it (at most its objective; computed by the current bounds,
    :data:`BOUND_VERSION`), and an "optimal" entry's bound must meet its objective. With
    ``reprove``, each entry is solved again by the exact solvers (``time_limit`` s each, default
    the suite's): a schedule better than a stored "optimal" (beyond the grid's rounding) or below
    the stored bound refutes it."""
    spec = suite_spec(name)
    stored = {e.id: e for e in load_suite(name)}
    problems = []
    fresh = list(generate_entries(spec))
    if len(fresh) != len(stored):
        problems.append(f"{len(stored)} stored instances, the spec makes {len(fresh)}")
    for k, (ident, _, _, inst) in enumerate(fresh):
        entry = stored.get(ident)
        if entry is None:
            problems.append(f"{ident}: missing")
            continue
        if entry.instance != inst:
            problems.append(f"{ident}: instance differs from its regeneration")
        if spec.shared:  # time-limited references are not re-solved unless asked
            problems += _check_shared_entry(entry)
            if reprove:
                problems += _reprove_shared_entry(entry, spec.time_limit if time_limit is None else time_limit)
            if progress:
                progress(k + 1, len(fresh))
            continue
        ref = _reference(inst)
        for kind in ("hard", "penalty"):
            a, b = ref[kind], entry.reference[kind]
            if a["status"] != b["status"] or (
                a["objective"] is not None and not math.isclose(a["objective"], b["objective"], rel_tol=1e-9)
            ):
                problems.append(
                    f"{ident} [{kind}]: stored {b['status']} {b['objective']}, now {a['status']} {a['objective']}"
                )
        if progress:
            progress(k + 1, len(fresh))
    return problems


def _check_shared_entry(entry: SuiteEntry) -> list[str]:
    """The stored best known solution is valid, feasible and priced at its stored objective; its
    bound is current, below it, and meets it when the entry says "optimal"."""
    ref = entry.reference["hard"]
    if ref["objective"] is None:
        return []
    assert isinstance(entry.instance, Scenario)
    ev = evaluate(entry.instance, ref["placement"], ref["start_s"])
    if not ev.feasible:
        return [f"{entry.id}: stored solution is not feasible ({'; '.join(ev.problems) or 'deadline or budget'})"]
    if not math.isclose(ev.total_delay, ref["objective"], rel_tol=1e-9):
        return [f"{entry.id}: stored objective {ref['objective']} but the stored solution prices at {ev.total_delay}"]
    problems = []
    if ref["bound"] is not None and ref["bound"] > ref["objective"] * (1 + 1e-9):
        problems.append(f"{entry.id}: stored bound {ref['bound']} exceeds the best known {ref['objective']}")
    if ref.get("bound_version", 1) < BOUND_VERSION and (ref["bound"] is not None or ref["status"] == "optimal"):
        problems.append(
            f"{entry.id}: its bound and status come from bounds version {ref.get('bound_version', 1)}, "
            f"whose work relaxation could cut off valid schedules; rebuild the suite"
        )
    slack = _grid_slack(entry.instance) + 1e-6 * ref["objective"]
    if ref["status"] == "optimal" and (ref["bound"] is None or ref["bound"] < ref["objective"] - slack):
        problems.append(
            f"{entry.id}: stored as optimal, but its bound {ref['bound']} does not meet its objective "
            f"{ref['objective']}"
        )
    return problems


def _reprove_shared_entry(entry: SuiteEntry, time_limit: float | None) -> list[str]:
    """Solve ``entry`` again with the exact solvers; the fresh answers must not refute the stored one."""
    ref = entry.reference["hard"]
    assert isinstance(entry.instance, Scenario)
    fresh = _shared_reference(entry.instance, time_limit)["hard"]
    if ref["objective"] is None or fresh["objective"] is None:
        return (
            []
            if (ref["objective"] is None) == (fresh["objective"] is None)
            else [f"{entry.id}: stored {ref['status']}, now {fresh['status']}"]
        )
    problems = []
    slack = _grid_slack(entry.instance) + 1e-6 * ref["objective"]
    if ref["status"] == "optimal" and fresh["objective"] < ref["objective"] - slack:
        problems.append(
            f"{entry.id}: stored optimal {ref['objective']}, but a schedule of {fresh['objective']} "
            f"is found ({fresh['solver']})"
        )
    if ref["bound"] is not None and fresh["objective"] < ref["bound"] * (1 - 1e-9):
        problems.append(
            f"{entry.id}: stored bound {ref['bound']} lies above a schedule of {fresh['objective']} ({fresh['solver']})"
        )
    return problems
