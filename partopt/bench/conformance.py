"""``check_solver``: the properties every registered solver must have."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from partopt.api import solve
from partopt.chain.generators import RandomGenerator
from partopt.horizon.model import Horizon
from partopt.objective import Objective
from partopt.problem import evaluate, validate_placement
from partopt.registry import solver_spec
from partopt.result import Status
from partopt.shared.model import Scenario
from partopt.stream.model import Battery, Stream

if TYPE_CHECKING:
    from partopt.chain.model import Instance

__all__ = ["ConformanceReport", "check_solver", "default_check_instances"]

REL = 1e-6


@dataclass
class ConformanceReport:
    """What :func:`check_solver` saw: instances and objectives checked, and any failures."""

    solver: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def default_check_instances(count: int = 12, seed: int = 0) -> list[Instance]:
    """Small random instances, some with tight deadlines, budgets and output return."""
    loose = RandomGenerator(num_blocks=(1, 5), num_servers=(1, 3), output_bits=(0.0, 1e6))
    tight = RandomGenerator(
        num_blocks=(1, 5), num_servers=(1, 3), deadline_prob=0.8, deadline_tightness=0.7, budget_fraction=(0.05, 0.8)
    )
    half = count // 2
    return loose.generate_many(half, seed) + tight.generate_many(count - half, seed + 1)


def _as_problem(chain: Instance, problem: str) -> Instance | Scenario | Horizon | Stream:
    """The chain as the kind of problem a solver takes: itself, a scenario of one task, a horizon
    of one slot whose battery is the chain's budget (or more than any placement spends), or a
    stream of one task whose device's battery is that budget."""
    if problem == "scenario":
        return Scenario.from_instance(chain)
    if problem == "stream":  # one task at time 0, its budget the device's battery
        scenario = Scenario.from_instance(chain)
        device = dataclasses.replace(scenario.devices[0], energy_budget_j=None)
        battery = Battery(chain.budget) if math.isfinite(chain.budget) else None
        return Stream(scenario.replace(devices=(device,)), batteries=(battery,), horizon_s=1.0)
    if problem == "horizon":
        energy_max = (
            chain.budget if math.isfinite(chain.budget) else float(chain.costs.energy[0].max(axis=(1, 2)).sum())
        )
        return Horizon(slots=(chain,), energy_max_j=energy_max)
    return chain


def _invalid_placement(problem: Instance | Scenario | Horizon | Stream, placement) -> str | None:
    """Why ``placement`` is not a placement of ``problem``, or None when it is one."""
    try:
        validate_placement(problem, placement)
    except (ValueError, TypeError) as error:
        return str(error)
    return None


def check_solver(
    name: str,
    instances: Iterable[Instance] | None = None,
    objectives: Iterable[str] = ("hard", "penalty"),
    *,
    seed: int = 0,
    raise_on_failure: bool = True,
    **options,
) -> ConformanceReport:
    """Check that solver ``name`` has the properties every registered solver must have.

    A valid placement; an objective equal to :func:`partopt.evaluate`'s; a status
    consistent with feasibility and, for OPTIMAL and INFEASIBLE, with the DP; the same
    answer for the same seed. A shared-edge solver is checked on each instance as a
    scenario of one task (model Part II with K = 1 is Part I), against the DP of the
    instance, to within the solvers' time grid of 1 microsecond per block; a horizon
    solver on a horizon of one slot whose battery is the instance's budget (Part III
    with T = 1 is Part I); a stream solver on a stream of that one task, its battery the budget.

    Parameters
    ----------
    name : str
        A registered solver.
    instances : iterable of Instance, optional
        Default: a fixed mix of feasible, infeasible and budget-bound instances.
    objectives : iterable of str
        The objectives to check under.
    seed : int
        Passed to every solve.
    raise_on_failure : bool
        Raise AssertionError listing the failures (default) instead of only reporting them.
    **options
        Passed to the solver.

    Returns
    -------
    ConformanceReport
        How many (instance, objective) pairs were checked, and the failures.
    """
    report = ConformanceReport(name)
    instances = default_check_instances() if instances is None else list(instances)
    problem = solver_spec(name).problem
    shared = problem in ("scenario", "stream")
    for chain in instances:
        inst = _as_problem(chain, problem)
        slack = 1e-6 * chain.num_blocks if shared else 0.0
        for kind in objectives:
            goal = Objective(kind, 1.0)
            where = f"{chain.name or 'instance'} [{kind}]"
            first = solve(inst, name, objective=kind, seed=seed, **options)
            again = solve(inst, name, objective=kind, seed=seed, **options)
            reference = solve(chain, "dp", objective=kind)
            report.checked += 1
            if first.placement != again.placement or first.status != again.status:
                report.failures.append(f"{where}: same seed gave {first.placement} then {again.placement}")
            if first.placement is None:
                if first.status not in (Status.INFEASIBLE, Status.TIME_LIMIT):
                    report.failures.append(f"{where}: no placement with status {first.status}")
                if first.status == Status.INFEASIBLE and reference.status != Status.INFEASIBLE:
                    report.failures.append(f"{where}: says infeasible, DP found {reference.objective}")
                if not math.isinf(first.objective):
                    report.failures.append(f"{where}: no placement but objective {first.objective}")
                continue
            invalid = _invalid_placement(inst, first.placement)
            if invalid:
                report.failures.append(f"{where}: invalid placement ({invalid})")
                continue
            ev = evaluate(inst, first.placement, first.start_s) if shared else evaluate(inst, first.placement)
            expected = goal.value(ev)
            if not (first.objective == expected or math.isclose(first.objective, expected, rel_tol=REL)):
                report.failures.append(f"{where}: objective {first.objective} != evaluate's {expected}")
            feasible = goal.feasible(ev)
            if feasible != (first.status in (Status.OPTIMAL, Status.FEASIBLE)):
                report.failures.append(f"{where}: status {first.status} but feasible={feasible}")
            if first.status == Status.OPTIMAL and not math.isclose(
                first.objective, reference.objective, rel_tol=REL, abs_tol=slack
            ):
                report.failures.append(f"{where}: OPTIMAL {first.objective} but DP optimum {reference.objective}")
            if feasible and first.objective < reference.objective * (1 - REL) - slack:
                report.failures.append(f"{where}: objective {first.objective} below DP optimum {reference.objective}")
    if raise_on_failure and report.failures:
        raise AssertionError(f"solver {name!r} fails conformance:\n  " + "\n  ".join(report.failures))
    return report
