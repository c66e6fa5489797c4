"""Online policies of the stream (model Part IV), each deciding one task at its arrival.

Every policy takes an :class:`~partopt.stream.simulate.Arrival` (the task, the time, when each
location is next free, its device's battery) and answers one location per block:

- ``local``: every block on the device.
- ``greedy-load``: the source paper's greedy by load: each block to the server free earliest.
- ``earliest-finish``: the earliest-finish DP against the locations' free times (the offline
  heuristic's step, taken at arrival), keeping block deadlines where it can.
- ``lyapunov``: drift-plus-penalty over the battery: the same DP with each joule charged
  V (1 - E^r/E^max) seconds, so energy is free on a full battery and dear on an empty one.
- ``gap-filling``: earliest-finish where a block may go into an idle gap of its resource
  before blocks committed earlier (and is put there).
- ``rolling-horizon``: a batch policy: the tasks released in each epoch wait for its end and
  are placed together by an offline scenario solver under a time limit per epoch.

A policy whose placement would draw more than the battery holds takes the least-energy
placement instead (``earliest-finish``, ``gap-filling``, ``lyapunov`` and ``rolling-horizon``);
if even that overdraws, the simulation reports it. Each is also a solver of streams (:mod:`partopt.stream.solvers`):
``partopt.solve(stream, "online-earliest-finish")`` and so on.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Callable, Sequence

from partopt import formulas as f
from partopt.shared.solvers.common import earliest_finish_chain
from partopt.stream.evaluation import task_energy

if TYPE_CHECKING:
    from partopt.shared.model import Scenario, TaskTables
    from partopt.stream.simulate import Arrival, Policy

__all__ = ["POLICIES", "least_energy_placement", "make_policy", "priced_chain", "priced_placement", "within_battery"]


def local_policy(seen: Arrival) -> list[int]:
    """Every block on the device."""
    return [0] * len(seen.tables.duration)


def greedy_load_policy(seen: Arrival) -> list[int]:
    """Each block, in chain order, to the server free earliest (ties: the faster for the block)."""
    tab = seen.tables
    free = list(seen.free_s)
    row, prev_loc, prev_end = [], 0, seen.now_s
    for m in range(len(tab.duration)):
        loc = min(range(1, len(free)), key=lambda j: (free[j], tab.duration[m][j], j))
        begin = max(prev_end + tab.transfer[m][prev_loc][loc], free[loc])
        free[loc] = prev_end = begin + tab.duration[m][loc]
        prev_loc = loc
        row.append(loc)
    return row


def least_energy_placement(tab: TaskTables) -> list[int]:
    """The placement of least device energy (J), by a DP over (block, location)."""
    locs = len(tab.duration[0])
    cost = [tab.energy[0][0][j] for j in range(locs)]
    parent: list[list[int]] = [[0] * locs]
    for m in range(1, len(tab.duration)):
        step = [min(range(locs), key=lambda i: cost[i] + tab.energy[m][i][j]) for j in range(locs)]
        cost = [cost[i] + tab.energy[m][i][j] for j, i in enumerate(step)]
        parent.append(step)
    j = min(range(locs), key=cost.__getitem__)
    row = [0] * len(tab.duration)
    for m in range(len(tab.duration) - 1, -1, -1):
        row[m] = j
        j = parent[m][j]
    return row


def priced_chain(
    tab: TaskTables,
    release_s: float,
    free: Sequence[float],
    price_s_per_j: float,
    keep_deadlines: bool,
    work_price: Sequence[float] | None = None,
) -> list[int] | None:
    """The placement of least finish time plus ``price_s_per_j`` x device energy (plus, if given,
    ``work_price[j]`` x each block's seconds of work on location j) against the free times
    ``free`` (index 0 the device): the earliest-finish DP with prices, one label per (block,
    location), a heuristic (exact with no prices). None when deadlines leave no placement."""
    chain = earliest_finish_chain(tab, release_s, free, keep_deadlines, price=work_price, energy_price=price_s_per_j)
    return None if chain is None else list(chain.placement)


def priced_placement(seen: Arrival, work_price: Sequence[float] | None = None, energy_price: float = 0.0) -> list[int]:
    """The arriving task's placement by the earliest-finish DP against its locations' free times
    (into the idle gaps when the arrival has a ``fit``), with optional prices per second of work
    on each location and per joule (s/J); block deadlines kept where it can, else dropped."""
    tab = seen.tables
    for keep in (True, False):
        chain = earliest_finish_chain(
            tab, seen.now_s, seen.free_s, keep, price=work_price, energy_price=energy_price, fit=seen.fit
        )
        if chain is not None:
            return list(chain.placement)
    raise AssertionError("without deadlines every placement is open")


def within_battery(seen: Arrival, row: list[int]) -> list[int]:
    """``row`` if the battery holds its energy, else the least-energy placement."""
    tab = seen.tables
    if math.isinf(seen.battery_j) or f.within(task_energy(tab, row), seen.battery_j):
        return row
    return least_energy_placement(tab)


def earliest_finish_policy(seen: Arrival) -> list[int]:
    """The earliest-finish DP against the free times, keeping block deadlines where it can."""
    return within_battery(seen, priced_placement(seen))


class GapFillingPolicy:
    """Earliest-finish into the gaps: the earliest-finish DP where a block may start in any idle
    gap of its resource that holds it (before blocks committed earlier), and is put there.
    Deadlines kept where it can; the battery guarded as earliest-finish guards it."""

    fills_gaps = True

    def __call__(self, seen: Arrival) -> list[int]:
        return earliest_finish_policy(seen)  # the arrival's ``fit`` finds the gaps


class LyapunovPolicy:
    """Drift-plus-penalty over the battery: each joule costs V (1 - E^r/E^max) seconds.

    Parameters
    ----------
    V : float
        The price of a joule when the battery is empty (s/J, >= 0); 0 gives earliest-finish.
    """

    def __init__(self, V: float = 1.0):  # noqa: N803 - V is the method's own name
        if isinstance(V, bool) or not isinstance(V, (int, float)) or not math.isfinite(V) or V < 0:
            raise ValueError(f"V: must be a number >= 0 (s/J), got {V!r}")
        self.V = float(V)

    def __call__(self, seen: Arrival) -> list[int]:
        drained = 0.0 if math.isinf(seen.capacity_j) or seen.capacity_j <= 0 else 1.0 - seen.battery_j / seen.capacity_j
        price = self.V * min(max(drained, 0.0), 1.0)
        return within_battery(seen, priced_placement(seen, energy_price=price))


class RollingHorizonPolicy:
    """Re-optimize each epoch's waiting tasks together with an offline solver.

    The tasks released in [e batch_s, (e + 1) batch_s) wait for the epoch's end and are then
    one Part II scenario: released at once (each task's deadline less its wait), or when its
    device's CPU frees if later (a scenario has no device backlog), the servers free from their
    commitments. ``solver`` (any scenario solver, default the exact portfolio)
    places them within ``time_limit`` s, under the penalty objective (deadlines priced at
    ``beta``); its plan's order of first blocks is the order of commitment. Where it finds
    nothing, earliest-finish places the epoch's tasks in arrival order. The simulation then
    appends the plan's blocks after every commitment, in the plan's order of first blocks.
    Under a time limit the plan, and so the run, depends on the machine's speed.

    Parameters
    ----------
    batch_s : float
        The epoch (s, > 0): what a task may wait for its decision.
    solver : str
        A registered scenario solver.
    time_limit : float
        Its limit per epoch (s).
    beta : float
        The penalty weight of a second of deadline excess.
    """

    def __init__(self, batch_s: float = 0.02, solver: str = "shared-exact", time_limit: float = 0.2, beta: float = 1.0):
        for key, value in (("batch_s", batch_s), ("time_limit", time_limit), ("beta", beta)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{key}: must be a number >= 0, got {value!r}")
        if batch_s <= 0:
            raise ValueError(f"batch_s: must be > 0 s, got {batch_s!r}")
        from partopt.registry import solver_spec

        if solver_spec(solver).problem != "scenario":
            raise ValueError(f"solver (window_solver of online-rolling-horizon): {solver!r} does not solve a scenario")
        self.batch_s, self.solver, self.time_limit, self.beta = float(batch_s), solver, float(time_limit), float(beta)

    def __call__(self, seen: Arrival) -> list[int]:
        return earliest_finish_policy(seen)

    def _plan(self, arrivals: Sequence[Arrival], now_s: float, waiting: Scenario) -> list[tuple[int, list[int]]] | None:
        """The solver's placements in its order of first blocks, or None when it finds none."""
        from partopt.objective import Objective
        from partopt.registry import get_solver
        from partopt.result import SolverOutput
        from partopt.shared.evaluation import evaluate_scenario

        first = arrivals[0]
        servers = first.free_s[1:]
        tasks = []
        for a in arrivals:
            # A scenario has no device backlog: a task whose device is still busy is released
            # when it frees (a heuristic plan; its uploads could start sooner).
            release = max(a.free_s[0] - now_s, 0.0)
            deadline = a.task.deadline_s
            if deadline is not None:
                deadline = max(deadline - (now_s - a.task.release_s) - release, 1e-9)
            tasks.append(dataclasses.replace(a.task, release_s=release, deadline_s=deadline))
        window = waiting.replace(
            tasks=tuple(tasks),
            servers=tuple(
                dataclasses.replace(srv, available_s=max(free - now_s, 0.0))
                for srv, free in zip(waiting.servers, servers)
            ),
            name=None,
        )
        out = get_solver(self.solver)(window, Objective("penalty", self.beta), time_limit=self.time_limit, seed=0)
        if not isinstance(out, SolverOutput):  # a user's solver may answer a bare placement
            out = SolverOutput(placement=out)
        if out.placement is None:
            return None
        placement = out.placement
        starts = out.start_s if out.start_s is not None else evaluate_scenario(window, placement).start_s
        order = sorted(range(len(arrivals)), key=lambda i: (starts[i][0], i))
        return [(arrivals[i].index, list(placement[i])) for i in order]

    def decide_batch(self, arrivals: Sequence[Arrival], now_s: float, waiting: Scenario) -> list[tuple[int, list[int]]]:
        """(task, placement) for every waiting task, in the order to commit them; ``waiting`` is
        the scenario of the waiting tasks alone (its devices, models and servers)."""
        plan = self._plan(arrivals, now_s, waiting)
        if plan is None:
            plan = [(a.index, earliest_finish_policy(a)) for a in arrivals]
        by_task = {a.index: a for a in arrivals}
        level: dict[int, float] = {}
        out = []
        for k, row in plan:  # the battery guard, as the single-task policies keep it
            a = by_task[k]
            held = level.get(a.task.device, a.battery_j)
            if not (math.isinf(held) or f.within(task_energy(a.tables, row), held)):
                row = least_energy_placement(a.tables)
            level[a.task.device] = held - task_energy(a.tables, row)
            out.append((k, row))
        return out


#: Policy name -> its factory (options as keyword arguments).
POLICIES: dict[str, Callable[..., Policy]] = {
    "local": lambda: local_policy,
    "greedy-load": lambda: greedy_load_policy,
    "earliest-finish": lambda: earliest_finish_policy,
    "lyapunov": LyapunovPolicy,
    "gap-filling": GapFillingPolicy,
    "rolling-horizon": RollingHorizonPolicy,
}


def make_policy(policy: Any, **options) -> tuple[str, Policy]:
    """(name, callable) of a policy given by name (with its options) or as a callable."""
    if callable(policy):
        if options:
            raise ValueError(f"options {sorted(options)}: only a named policy takes options")
        return getattr(policy, "__name__", type(policy).__name__), policy
    if policy not in POLICIES:
        raise ValueError(f"policy: must be one of {', '.join(POLICIES)} or a callable, got {policy!r}")
    try:
        return policy, POLICIES[policy](**options)
    except TypeError:
        raise ValueError(f"options {sorted(options)}: policy {policy!r} does not take them") from None
