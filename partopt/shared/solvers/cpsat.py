"""Exact shared-edge solver: CP-SAT over optional intervals.

Data (on an integer time grid of ``grid_s`` seconds; every duration, transfer, return,
release and availability rounded *up*, so that any schedule of the model is valid
in continuous time): tasks k with blocks m = 0..M_k-1, locations j = 0 (the task's
device) and 1..N (servers); p_{kmj} block durations, t_{kmij} input transfers,
q_{kj} result returns, r_k releases, b_j server availabilities, e_{kmij} device
energies (scaled per device so that its budget is 10^7 units, rounded up).

Variables: x_{kmj} in {0, 1} (block (k, m) runs on j); S_{km}, C_{km} integer start
and end; an optional interval [S_{km}, S_{km} + p_{kmj}) present iff x_{kmj};
D_k integer, the task's end-to-end delay.

    (1) sum_j x_{kmj} = 1                                    one location per block
    (2) C_{km} = S_{km} + sum_j p_{kmj} x_{kmj}
    (3) NoOverlap(intervals on server j), S_{km} >= b_j if x_{kmj}
    (4) NoOverlap(intervals on device d's CPU over d's tasks)
    (5) S_{k0} >= r_k + sum_j t_{k0,0j} x_{k0j}
    (6) S_{km} >= C_{k,m-1} + t_{kmij}   if x_{k,m-1,i} and x_{kmj}  (transfers on both ends)
    (7) D_k = C_{k,M-1} + sum_j q_{kj} x_{k,M-1,j} - r_k
    (8) hard: L_{km} = C_{km} - C_{k,m-1} (+ return for the last) <= tau_m / grid - 1,
        D_k <= tau_k / grid - 1 (one step kept for the rounding of the previous end)
    (9) per device: sum e x (+ y_{kmn} >= x_{k,m-1,0} + x_{kmn} - 1 for sends) <= budget
    minimize  sum_k D_k  (+ beta sum of deadline excesses under "penalty")

Strengthening, from the structure:

- D_k >= the task's own lower bound (earliest finish on an empty edge; its Part I
  optimum alone), so the search starts from a strong bound;
- sum_k D_k >= the work relaxation's bound (K >= 3; an LP over time buckets that sees
  tasks queueing for the same servers, :mod:`partopt.shared.solvers.relaxation`);
- the earliest-finish heuristic's solution as a hint, and as the incumbent returned
  if the solver finds nothing better in time;
- D_a + D_b >= the proven bound of tasks a and b solved as a scenario of their own
  (under "hard", K >= 3, each task with the next four in release order): the LP then
  sees part of the queueing that one task's bound ignores;
- every task's times end within its release plus the largest delay it can have in a
  solution no worse than the incumbent (under "hard": the incumbent's total less the
  other tasks' bounds), which tightens the big-M rows of the transfers (6);
- optionally (``symmetry=True``), identical tasks (same device and model, no end-to-end
  deadline) take their chain schedules in release order (:func:`_break_symmetry` says
  why an optimum is kept); off by default, as it slowed the proofs at K = 4;
- the best of the solver's schedule and its left-compacted copy (every block as early
  as its order allows, in continuous time) is returned.

"Optimal" means proven optimal on the grid. The reported lower bound is valid in
continuous time: the grid's bound less K (2 sum_k M_k + 1) grid steps (rounding can
delay every block by one step per block before it) and, under "penalty", beta
(2 sum_k M_k + 2) more per deadline excess (each excess grows with its end, and its deadline
is taken down to the grid; :func:`_objective_rounding_steps`), never below the sum of the
per-task bounds or the work relaxation's bound. Unproven from 6 to 127 tasks, it is at least
the chain-schedule LP's (:mod:`partopt.shared.solvers.columns`), solved in the time the search
leaves for it: the last fifth of the limit up to 16 tasks, 60% beyond
(:func:`partopt.shared.solvers.start.chain_lp_reserve`); from 128 tasks the work relaxation is
refined instead (:func:`partopt.shared.solvers.relaxation.refined_work_bound`).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from partopt.execution import usable_cores
from partopt.progress import current_watcher, is_watched, watching
from partopt.result import SolverOutput
from partopt.shared.evaluation import compact_schedule
from partopt.shared.kernels import PackedScenario
from partopt.shared.solvers.common import best_candidate, delay_caps
from partopt.shared.solvers.start import (
    exact_start,
    grid_rounding_steps,
    incumbent_output,
    reported_bound,
    search_seconds,
    vetted_answer,
    with_incumbent,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from partopt.objective import Objective
    from partopt.shared.model import Scenario
    from partopt.shared.solvers.start import ExactStart

__all__ = ["DEFAULT_GRID_S", "solve_shared_cpsat"]

#: Default time grid (s): 1 microsecond.
DEFAULT_GRID_S = 1e-6
_ENERGY_UNITS = 10**7


def _up(x: float, grid: float) -> int:
    """x / grid rounded up (a hair of float noise forgiven)."""
    return math.ceil(x / grid - 1e-6)


def _down(x: float, grid: float) -> int:
    return math.floor(x / grid + 1e-6)


@dataclass
class _GridData:
    """The scenario on the integer grid (see the module docstring): all rounded up."""

    grid: float
    dur: list  # [k][m][j]
    trans: list  # [k][m][i][j]
    ret: list  # [k][j]
    rel: list  # [k]
    avail: list  # [j], 0 for the device
    horizon: int

    @classmethod
    def of(cls, scenario: Scenario, grid: float) -> "_GridData":
        """The scenario's packed tables (:class:`~partopt.shared.kernels.PackedScenario`) on the grid."""
        p = PackedScenario(scenario)

        def up(seconds: np.ndarray) -> np.ndarray:  # as _up, elementwise
            return np.ceil(seconds / grid - 1e-6).astype(np.int64)

        dur = [up(p.dur[k, :m]).tolist() for k, m in enumerate(p.nblk)]
        trans = [up(p.trans[k, :m]).tolist() for k, m in enumerate(p.nblk)]
        ret, rel, avail = up(p.ret).tolist(), up(p.rel).tolist(), [0, *up(p.free0).tolist()]
        # Every block fits before the serial schedule of everything, run twice over.
        serial = sum(max(d) + max(max(r) for r in t) for dk, tk in zip(dur, trans) for d, t in zip(dk, tk))
        horizon = max(rel) + max(avail) + 2 * serial + max(max(r) for r in ret) + 1
        return cls(grid, dur, trans, ret, rel, avail, horizon)


class _Model:
    """The CP-SAT model of the module docstring, built piece by piece."""

    def __init__(
        self,
        scenario: Scenario,
        objective: Objective,
        data: _GridData,
        delay_low: list[float],
        delay_high: list[float] | None = None,
    ):
        from ortools.sat.python import cp_model

        self.scenario, self.objective, self.data = scenario, objective, data
        self.hard = objective.kind == "hard"
        self.n_loc = scenario.num_servers + 1
        self.cp = cp_model.CpModel()
        self.x: dict = {}
        self.start: dict = {}
        self.end: dict = {}
        self.delay: list = []
        self.excess: list = []
        self.intervals: dict = {}
        # A task's blocks all end within its release plus its largest possible delay (s).
        self.latest = [
            data.horizon
            if delay_high is None or not math.isfinite(delay_high[k])
            else min(data.horizon, data.rel[k] + _up(delay_high[k], data.grid) + 1)
            for k in range(scenario.num_tasks)
        ]
        for k in range(scenario.num_tasks):
            for m in range(len(data.dur[k])):
                self._block(k, m)
            self._task(k, delay_low[k])
        for ivs in self.intervals.values():  # (3), (4)
            if len(ivs) > 1:
                self.cp.add_no_overlap(ivs)
        _energy_budgets(self.cp, scenario, self.x)  # (9)

    def _block(self, k: int, m: int) -> None:
        """Variables (1)-(2) of block (k, m), its intervals, availability (3) and input (5)-(6)."""
        cp, d, n_loc = self.cp, self.data, self.n_loc
        start = self.start[k, m] = cp.new_int_var(d.rel[k], self.latest[k], f"S[{k},{m}]")
        end = self.end[k, m] = cp.new_int_var(d.rel[k], self.latest[k], f"C[{k},{m}]")
        lits = [cp.new_bool_var(f"x[{k},{m},{j}]") for j in range(n_loc)]
        for j, lit in enumerate(lits):
            self.x[k, m, j] = lit
        cp.add_exactly_one(lits)  # (1)
        cp.add(end == start + sum(d.dur[k][m][j] * lits[j] for j in range(n_loc)))  # (2)
        device = self.scenario.tasks[k].device
        for j in range(n_loc):
            if d.dur[k][m][j] > 0:
                iv = cp.new_optional_fixed_size_interval_var(start, d.dur[k][m][j], lits[j], f"I[{k},{m},{j}]")
                self.intervals.setdefault(("device", device) if j == 0 else ("server", j), []).append(iv)
            if j > 0 and d.avail[j] > d.rel[k]:
                cp.add(start >= d.avail[j]).only_enforce_if(lits[j])  # (3)
        if m == 0:  # (5)
            cp.add(start >= d.rel[k] + sum(d.trans[k][0][0][j] * lits[j] for j in range(n_loc)))
            return
        cp.add(start >= self.end[k, m - 1])  # (6)
        for i in range(n_loc):
            for j in range(n_loc):
                if d.trans[k][m][i][j] > 0:
                    cp.add(start >= self.end[k, m - 1] + d.trans[k][m][i][j]).only_enforce_if(
                        [self.x[k, m - 1, i], lits[j]]
                    )

    def _task(self, k: int, delay_low: float) -> None:
        """D_k (7) with its lower bound, and the deadlines (8) or their excesses."""
        cp, d, g = self.cp, self.data, self.data.grid
        last = len(d.dur[k]) - 1
        back = sum(d.ret[k][j] * self.x[k, last, j] for j in range(self.n_loc))
        low = max(0, _down(delay_low, g) - 1) if math.isfinite(delay_low) else 0
        d_k = cp.new_int_var(low, max(low, self.latest[k] - d.rel[k] + max(d.ret[k])), f"D[{k}]")
        cp.add(d_k == self.end[k, last] + back - d.rel[k])  # (7)
        self.delay.append(d_k)
        limits = [
            (
                self.end[k, m] - (d.rel[k] if m == 0 else self.end[k, m - 1]) + (back if m == last else 0),
                self.scenario.tables[k].deadline[m],
                f"{k},{m}",
            )
            for m in range(last + 1)
        ]
        task_deadline = self.scenario.tasks[k].deadline_s
        if task_deadline is not None:
            limits.append((d_k, task_deadline, f"{k}"))
        for expr, tau, label in limits:  # (8)
            if not math.isfinite(tau):
                continue
            if self.hard:
                cp.add(expr <= _down(tau, g) - 1)
            else:
                e = cp.new_int_var(0, d.horizon, f"E[{label}]")
                cp.add(e >= expr - _down(tau, g))
                self.excess.append(e)

    def set_objective(self) -> tuple[int, int]:
        """Minimize sum D_k (+ beta sum excess, beta as a fraction p/q); returns (q, p)."""
        if self.hard or not self.excess:
            self.cp.minimize(sum(self.delay))
            return (1, 0)
        beta = Fraction(self.objective.beta).limit_denominator(1000)
        self.cp.minimize(beta.denominator * sum(self.delay) + beta.numerator * sum(self.excess))
        return (beta.denominator, beta.numerator)

    def add_hint(self, placement, start_s) -> None:
        """A known solution as the search's first guess."""
        for k, row in enumerate(placement):
            for m, loc in enumerate(row):
                for j in range(self.n_loc):
                    self.cp.add_hint(self.x[k, m, j], j == loc)
                self.cp.add_hint(self.start[k, m], min(_up(start_s[k][m], self.data.grid), self.data.horizon))

    def solution(self, solver) -> tuple[list, list]:
        """The placement and the grid schedule (s) of the solver's best solution."""
        dur, g = self.data.dur, self.data.grid
        placement = [
            [next(j for j in range(self.n_loc) if solver.value(self.x[k, m, j])) for m in range(len(dur[k]))]
            for k in range(len(dur))
        ]
        starts = [[solver.value(self.start[k, m]) * g for m in range(len(dur[k]))] for k in range(len(dur))]
        return placement, starts


def _check_grid(grid_s) -> float:
    if isinstance(grid_s, bool) or not isinstance(grid_s, (int, float)) or not (0 < grid_s <= 1):
        raise ValueError(f"grid_s: must be a number in (0, 1] seconds, got {grid_s!r}")
    return float(grid_s)


def _configure(
    solver, time_left: float | None, workers: int | None, seed: int | None, log: bool, params: dict | None
) -> None:
    sat = solver.parameters
    if time_left is not None:
        sat.max_time_in_seconds = time_left
    sat.num_workers = int(workers) if workers else usable_cores()
    sat.random_seed = 0 if seed is None else int(seed) % (2**31)
    sat.log_search_progress = bool(log)
    for key, value in dict(params or {}).items():
        if not hasattr(sat, key):
            raise ValueError(f"params: {key!r} is not a CP-SAT parameter")
        try:
            if isinstance(value, (list, tuple)):  # a repeated field, e.g. "subsolvers"
                field = getattr(sat, key)
                field.clear()
                field.extend(value)
            else:
                setattr(sat, key, value)
        except (AttributeError, TypeError, ValueError) as err:
            raise ValueError(f"params: {key!r} cannot be set to {value!r} ({str(err).splitlines()[0]})") from None


def solve_shared_cpsat(
    scenario: Scenario,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    grid_s: float = DEFAULT_GRID_S,
    workers: int | None = None,
    hint: bool = True,
    symmetry: bool = False,
    task_bounds: bool = True,
    log: bool = False,
    params: dict | None = None,
    pair_bounds: bool = True,
    incumbent: tuple | None = None,
    chain_lp: bool = True,
    stop: threading.Event | None = None,
    on_schedule: Callable[[list, list], None] | None = None,
) -> SolverOutput:
    """Solve ``scenario`` exactly with CP-SAT (see the module docstring for the model).

    grid_s: the time grid (s); workers: CP-SAT search workers (default: the cores);
    hint, task_bounds, pair_bounds: the strengthenings (on by default; pair bounds under
    "hard" with K >= 3, spending at most a quarter of the time limit); symmetry: order
    identical tasks by release (off by default, see the module docstring); log:
    print the solver's search log; params: further CP-SAT parameters by name (e.g.
    ``{"linearization_level": 2}``); incumbent: a known solution (placement, start_s or None
    for FIFO dispatch), e.g. another solver's, the hint and incumbent when it beats
    earliest-finish's; chain_lp: keep a share of the limit for the chain-schedule LP's bound
    (on by default; off where the caller has that bound already, as the default solver does);
    stop: an event another thread sets to end the search early (the answer is then as at a time
    limit), as the default solver does when its branch and bound, running beside, proves;
    on_schedule: called with each schedule CP-SAT finds (placement, start times on the grid (s),
    valid in continuous time), from CP-SAT's own thread, as the default solver hands them to its
    branch and bound.
    """
    from ortools.sat.python import cp_model

    begin = time.perf_counter()
    g = _check_grid(grid_s)
    start = exact_start(scenario, objective, time_limit)
    if isinstance(start, SolverOutput):
        return start
    if incumbent is not None:
        start = with_incumbent(start, scenario, objective, incumbent)
    model, weight, groups = _built(
        scenario, objective, start, g, time_limit, task_bounds=task_bounds, pair_bounds=pair_bounds, symmetry=symmetry
    )
    if hint:
        model.add_hint(*_in_release_order(scenario, start.incumbent, groups))

    remaining = search_seconds(scenario, time_limit, begin, chain_lp and objective.feasible(start.known))
    info: dict[str, Any] = {
        "grid_s": g,
        "build_s": time.perf_counter() - begin,
        "beta_used": weight[1] / weight[0] or None,
    }
    if remaining is not None and remaining <= 0:  # no time to search: the time kept for the bound is still spent
        bound = start.lower
        if chain_lp:
            bound = reported_bound(start, scenario, objective, start.known, bound, False, time_limit, begin, info)
        return incumbent_output(start, info, bound)
    bound_s = start.lower
    solver = cp_model.CpSolver()
    _configure(solver, remaining, workers, seed, log, params)
    watch = (
        _watch(
            objective.value(start.known),
            bound_s,
            weight[0],
            g,
            _bound_in_seconds(scenario, objective, model, weight),
            None if on_schedule is None else (model, on_schedule),
        )
        if is_watched() or on_schedule is not None
        else None
    )
    if watch is not None and is_watched():
        solver.best_bound_callback = watch.on_bound
    with _stopped_by(stop, solver):
        status = solver.solve(model.cp, watch)
    info.update(
        termination=solver.status_name(status),
        solve_s=solver.wall_time,
        branches=solver.num_branches,
        conflicts=solver.num_conflicts,
    )
    return _answer(
        scenario, objective, start, model, solver, status, weight, time_limit, begin, info, chain_lp=chain_lp
    )


@contextlib.contextmanager
def _stopped_by(stop: threading.Event | None, solver) -> Iterator[None]:
    """While in the block, a watcher thread asks ``solver`` to stop searching once ``stop`` is set
    (again every 50 ms, in case the first request came before its search began)."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(0.05):
                solver.stop_search()
                done.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _built(
    scenario: Scenario,
    objective: Objective,
    start: ExactStart,
    g: float,
    time_limit: float | None,
    *,
    task_bounds: bool,
    pair_bounds: bool,
    symmetry: bool,
) -> tuple[_Model, tuple, list]:
    """The grid model of ``scenario`` on grid ``g`` (s) with its strengthenings, its objective's
    weights (:meth:`_Model.set_objective`) and the groups of identical tasks ordered by release
    (with ``symmetry``)."""
    # Under "hard" an optimum costs no more than the incumbent (plus the grid's rounding), and
    # every other task at least its own bound: that caps each task's delay and every time.
    hard = objective.kind == "hard"
    upper = math.inf
    if hard and objective.feasible(start.known):
        upper = objective.raw_value(start.known) + grid_rounding_steps(scenario) * g
    delay_low = start.delay_low if task_bounds else [0.0] * scenario.num_tasks
    caps = delay_caps(upper, delay_low)
    model = _Model(scenario, objective, _GridData.of(scenario, g), delay_low, caps)
    if pair_bounds and hard and scenario.num_tasks >= 3:
        budget = None if time_limit is None else time_limit / 4
        for (a, b), low in _pair_bounds(scenario, objective, g, budget).items():
            model.cp.add(model.delay[a] + model.delay[b] >= _down(low, g) - 2)
    if task_bounds and start.work_bound is not None:  # valid on the grid too: rounding only lengthens
        model.cp.add(sum(model.delay) >= _down(start.work_bound, g))
    groups = _break_symmetry(model, scenario, caps) if symmetry else []
    return model, model.set_objective(), groups


def _answer(
    scenario: Scenario,
    objective: Objective,
    start: ExactStart,
    model: _Model,
    solver,
    status,
    weight: tuple,
    time_limit: float | None,
    begin: float,
    info: dict,
    *,
    chain_lp: bool,
) -> SolverOutput:
    """CP-SAT's answer after its solve (``status``): the better of its grid schedule (as found and
    compacted) and the incumbent, with its bound in continuous time (the grid bound less the
    rounding, raised, with ``chain_lp``, by the chain-schedule LP where nothing is proven)."""
    from ortools.sat.python import cp_model

    g = model.data.grid
    if status == cp_model.INFEASIBLE and objective.feasible(start.known):
        # Rounding up to the grid can leave no grid solution (or none within the caps) when
        # deadlines bind to within a few grid steps; the incumbent is feasible in continuous
        # time: return it, proving nothing.
        info["termination"] = "no grid solution (deadlines within the grid's rounding); the incumbent is returned"
        return incumbent_output(start, info)
    if status == cp_model.INFEASIBLE:
        return SolverOutput(placement=None, proven_infeasible=True, info=info)
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"shared-cpsat built an invalid model: {model.cp.validate()}")
    proven = status == cp_model.OPTIMAL
    candidates: list = [start.incumbent]
    bound_s = start.lower
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        found, grid_start = model.solution(solver)
        candidates = [(found, grid_start), (found, compact_schedule(scenario, found, grid_start))] + (
            [] if proven else candidates
        )
        bound_s = max(bound_s, _bound_in_seconds(scenario, objective, model, weight)(solver.best_objective_bound))
    placement, start_s, known = best_candidate(scenario, objective, candidates)
    slack_s = _objective_rounding_steps(scenario, model, weight) * g
    proven, bound_s = vetted_answer(
        "shared-cpsat", proven, bound_s, known, objective, [start.known, known], sum(start.bounds), slack_s
    )
    if chain_lp:
        bound_s = reported_bound(start, scenario, objective, known, bound_s, proven, time_limit, begin, info)
    return SolverOutput(
        placement=placement,
        start_s=start_s,
        proven_optimal=proven,
        timed_out=not proven,
        lower_bound=bound_s,
        info=info,
    )


def _objective_rounding_steps(scenario: Scenario, model, weight: tuple) -> float:
    """How many grid steps CP-SAT's objective (sum D_k + beta' sum excess, in steps of D) may lose
    to the grid: rounding a continuous schedule up to it delays every end by at most
    2 sum_k M_k + 1 steps, so each D_k by that much and each deadline excess by that much plus one
    (its deadline is taken down to the grid): K (2 sum_k M_k + 1) + beta' (excesses) (2 sum_k M_k + 2)."""
    return grid_rounding_steps(scenario) + weight[1] / weight[0] * len(model.excess) * (
        2 * sum(scenario.block_counts) + 2
    )


def _bound_in_seconds(scenario: Scenario, objective: Objective, model, weight: tuple) -> Callable[[float], float]:
    """The map from CP-SAT's bound on its grid objective (q sum D_k + p sum excess, beta' = p/q)
    to a bound on the objective in continuous time (s): the bound less the grid's rounding
    (:func:`_objective_rounding_steps`), scaled by beta / beta' where beta' > beta
    (L + beta psi >= (beta / beta') (L + beta' psi) for L, psi >= 0)."""
    g = model.data.grid
    beta_used = weight[1] / weight[0]
    steps = _objective_rounding_steps(scenario, model, weight)
    scale = min(1.0, objective.beta / beta_used) if beta_used > 0 else 1.0

    def to_seconds(grid_bound: float) -> float:
        return (grid_bound / weight[0] - steps) * g * scale

    return to_seconds


def _watch(
    known: float,
    bound: float,
    weight: float,
    grid_s: float,
    to_seconds: Callable[[float], float],
    schedules: tuple[_Model, Callable[[list, list], None]] | None = None,
):
    """A solution callback that reports CP-SAT's progress to the CLI's live line
    (:func:`partopt.progress.watching`): each new solution's objective and each new bound, taken
    from grid units to seconds like the answer's (a solution's grid objective is at least its
    schedule's cost; a bound less the rounding). Its ``on_bound`` is the bound callback. CP-SAT
    calls both from its own threads, so the watcher is taken here, in the caller's context.
    With ``schedules`` (the model and a function), each solution's placement and grid schedule
    (s) go to the function as well."""
    from ortools.sat.python import cp_model

    watcher = current_watcher()

    def report(incumbent: float, bound: float) -> None:
        if watcher is not None:
            watcher("shared-cpsat", incumbent, bound)

    class Watch(cp_model.CpSolverSolutionCallback):
        def __init__(self):
            super().__init__()
            self.known, self.bound = known, bound

        def on_solution_callback(self) -> None:
            self.known = min(self.known, self.objective_value / weight * grid_s)
            report(self.known, self.bound)
            if schedules is not None:
                schedules[1](*schedules[0].solution(self))

        def on_bound(self, value: float) -> None:
            self.bound = max(self.bound, to_seconds(value))
            report(self.known, self.bound)

    return Watch()


#: Each task is paired with this many tasks released after it (pairs far apart barely interact).
PAIR_WINDOW = 4


def _pair_bounds(scenario: Scenario, objective: Objective, grid_s: float, budget: float | None) -> dict:
    """Proven lower bounds on D_a + D_b for pairs of tasks close in release order (each task
    with the next :data:`PAIR_WINDOW`): each pair solved alone (dropping the other tasks only
    frees the edge), nearest pairs first, as long as ``budget`` seconds last."""
    stop = math.inf if budget is None else time.perf_counter() + budget
    order = sorted(range(scenario.num_tasks), key=lambda k: (scenario.tasks[k].release_s, k))
    pairs = [(order[i], order[i + gap]) for gap in range(1, PAIR_WINDOW + 1) for i in range(len(order) - gap)]
    out: dict[tuple[int, int], float] = {}
    for a, b in pairs:
        left = stop - time.perf_counter()
        if left <= 0.05:
            break
        pair = scenario.replace(tasks=(scenario.tasks[a], scenario.tasks[b]))
        with watching(None):  # a pair's search is not the scenario's: the live line does not show it
            res = solve_shared_cpsat(
                pair, objective, time_limit=min(left, 5.0), grid_s=grid_s, workers=1, pair_bounds=False
            )
        if res.lower_bound is not None:
            out[a, b] = res.lower_bound
    return out


def _energy_budgets(cp, scenario: Scenario, x: dict) -> None:
    """(9): each device's energy within its budget, in units of budget / 10^7 rounded up."""
    for d, dev in enumerate(scenario.devices):
        if dev.energy_budget_j is None:
            continue
        unit = dev.energy_budget_j / _ENERGY_UNITS if dev.energy_budget_j > 0 else 1.0
        cap = _ENERGY_UNITS if dev.energy_budget_j > 0 else 0
        terms = []
        for k, task in enumerate(scenario.tasks):
            if task.device != d:
                continue
            energy = scenario.tables[k].energy
            for m in range(len(energy)):
                local = math.ceil(energy[m][0][0] / unit - 1e-9)
                if local > 0:
                    terms.append(local * x[k, m, 0])
                for j in range(1, len(energy[m])):
                    send = math.ceil(energy[m][0][j] / unit - 1e-9)
                    if send <= 0:
                        continue
                    if m == 0:
                        terms.append(send * x[k, 0, j])
                    else:
                        y = cp.new_bool_var(f"y[{k},{m},{j}]")
                        cp.add(y >= x[k, m - 1, 0] + x[k, m, j] - 1)
                        terms.append(send * y)
        if terms:
            cp.add(sum(terms) <= cap)


def _break_symmetry(model: "_Model", scenario: Scenario, caps: list[float]) -> list[list[int]]:
    """Identical tasks (one device and model, no end-to-end deadline) take their chain
    schedules in release order: the one released first gets the schedule whose first block
    needs its input earliest (start of block 0 less its upload).

    Why it keeps an optimum: swapping two such tasks' whole chain schedules keeps every
    resource's use, the device's energy, every block delay but the first one's and the sum
    of the D_k; sorting the schedules by the release they need and giving them out in
    release order keeps every release (a matching argument). Block 0's delay changes, so
    the rule is added only when block 0 has no deadline, or when it cannot bind in any
    solution no worse than the incumbent: no task's block 0 can end later than its release
    plus its delay's cap ``caps`` (:func:`partopt.shared.solvers.common.delay_caps`).
    Returns the groups ordered (each in release order)."""
    d, cp = model.data, model.cp
    ordered: list[list[int]] = []
    groups: dict = {}
    for k, t in enumerate(scenario.tasks):
        if t.deadline_s is None:
            groups.setdefault((t.device, t.model), []).append(k)
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda k: (scenario.tasks[k].release_s, k))
        tau = scenario.tables[members[0]].deadline[0]
        latest_end = max(scenario.tasks[k].release_s + caps[k] for k in members)
        if math.isfinite(tau) and not latest_end - scenario.tasks[members[0]].release_s <= 0.99 * tau:
            continue
        need = {
            k: model.start[k, 0] - sum(d.trans[k][0][0][j] * model.x[k, 0, j] for j in range(model.n_loc))
            for k in members
        }
        for a, b in itertools.pairwise(members):
            cp.add(need[a] <= need[b])
        ordered.append(members)
    return ordered


def _in_release_order(scenario: Scenario, solution: tuple, groups: list[list[int]]) -> tuple[list, list]:
    """``solution`` (placement, start_s) with each group's chain schedules given out in
    release order, as :func:`_break_symmetry` requires: the same objective, and a hint the
    model accepts."""
    placement, start_s = [list(r) for r in solution[0]], [list(r) for r in solution[1]]
    for members in groups:
        tab = scenario.tables[members[0]]
        rows = sorted(
            ((start_s[k][0] - tab.transfer[0][0][placement[k][0]], placement[k], start_s[k]) for k in members),
            key=lambda item: item[0],
        )
        for k, (_, row, begin) in zip(members, rows):
            placement[k], start_s[k] = row, begin
    return placement, start_s
