"""``shared-order-search``: a search that changes the order of the blocks on every resource as
well as their placement.

The list schedules of earliest-finish and of the local search keep one order of tasks for every
resource (release order), which the optimum often breaks: on ``shared-k8-v1`` the local search
ends where earliest-finish starts. Here a schedule is a *block sequence* with a placement
(:class:`partopt.shared.kernels.SequenceScorer`): the sequence lists every task once per block,
and each block, in sequence order, starts as soon as its input has arrived and its resource is
free. Every sequence is valid and every semi-active schedule (so an optimal one) has a sequence,
its blocks by start time; the search space is complete.

The search draws one of five moves at
random (:data:`MOVE_SHARES`): one block to another location; a block and the rest of its chain
to one location (a migration mid-chain); two tasks exchanging two locations (a's blocks on x go
to y, b's on y to x: what two tasks competing for the same servers need, and no single move
reaches without first making both worse); one entry of the sequence shifted by up to a window
of positions (which reorders blocks on their resources); every block of one task shifted
together (a task overtaking another). It is record-to-record travel (Dueck,
1993): a candidate is accepted when it breaks the constraints no worse than the best schedule
found (:func:`search_key`: none, deadlines only, a budget) and costs at most a deviation above
the best's, the deviation falling to zero :data:`CYCLES` times over the budget. Its cost is the
objective, plus :data:`EXCESS_WEIGHT` times the deadlines' total excess while one is broken
under "hard": the excess leads the walk to schedules that keep every deadline where
earliest-finish and the local search keep none (on mixed K = 12 and 16 scenarios 21 of 24
answers keep every constraint, 17 with the objective alone: ``bench/order_search.py
--deadlines``). It starts from the best of
earliest-finish's schedule, the local search's and any ``starts`` given (e.g. a learned
dispatcher's), the best turned into its sequence (whose decoding starts no block later); the
answer is the best of the search's schedule and the starts. It stops after
``moves_per_task`` moves per task (a budget of work, so the answer is the same on every machine for a seed), or
at ``time_limit``. The answer is priced by :func:`partopt.evaluate` with its start times.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from partopt.result import SolverOutput
from partopt.shared.solvers.common import best_candidate
from partopt.shared.solvers.heuristics import check_effort, solve_shared_local_search

if TYPE_CHECKING:
    from partopt.objective import Objective
    from partopt.shared.evaluation import ScheduleSummary
    from partopt.shared.model import Scenario

__all__ = [
    "CYCLES",
    "DEVIATION",
    "EXCESS_WEIGHT",
    "MOVES_PER_TASK",
    "MOVE_SHARES",
    "exchanged",
    "order_search",
    "search_key",
    "shifted",
    "solve_shared_order_search",
    "task_shifted",
]

#: Record-to-record travel's first deviation: a candidate is accepted when its objective is at
#: most this fraction of the mean task's share above the best found (scale-free in K); the
#: deviation falls linearly to zero over each cycle.
DEVIATION = 0.2
#: The deviation falls to zero this many times over the budget (each cycle a new walk from
#: where the last ended, near the best).
CYCLES = 5
#: Cumulative shares of the moves: one block to another location; a block and the rest of its
#: chain to one location; two tasks exchanging two locations; one sequence entry shifted; every
#: block of one task shifted.
MOVE_SHARES = (0.3, 0.45, 0.6, 0.85)
#: The default effort: moves tried per task.
MOVES_PER_TASK = 10_000


def shifted(sequence: np.ndarray, i: int, j: int) -> np.ndarray:
    """A copy of ``sequence`` with its entry at position i moved to position j."""
    return np.insert(np.delete(sequence, i), j, sequence[i])


def task_shifted(sequence: np.ndarray, task: int, by: int) -> np.ndarray:
    """A copy of ``sequence`` with every entry of ``task`` moved ``by`` positions (later when
    positive), the task's own order and the others' kept."""
    keys = np.arange(sequence.size, dtype=np.float64)
    mine = sequence == task
    keys[mine] += by + (0.5 if by > 0 else -0.5)
    return sequence[np.argsort(keys, kind="stable")]


def exchanged(packed: np.ndarray, nblk: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A copy of the placement ``packed`` (tasks x blocks) in which two tasks exchange two
    locations: task a moves its blocks on x to y and task b its blocks on y to x, x and y drawn
    from a random block of each (None when they are the same location, or K = 1)."""
    tasks = packed.shape[0]
    if tasks < 2:
        return None
    a = int(rng.integers(tasks))
    b = (a + 1 + int(rng.integers(tasks - 1))) % tasks
    x, y = int(packed[a, rng.integers(nblk[a])]), int(packed[b, rng.integers(nblk[b])])
    if x == y:
        return None
    moved = packed.copy()
    row_a, row_b = packed[a, : nblk[a]], packed[b, : nblk[b]]
    moved[a, : nblk[a]] = np.where(row_a == x, y, row_a)
    moved[b, : nblk[b]] = np.where(row_b == y, x, row_b)
    return moved


@dataclass(frozen=True)
class Neighbourhood:
    """The search's moves on one scenario (the module docstring): its tasks' block counts, the
    owner task and block index of each sequence entry, the locations and the shift window."""

    nblk: np.ndarray
    owners: np.ndarray
    blocks: np.ndarray
    locations: int
    window: int

    @classmethod
    def of(cls, nblk: np.ndarray, locations: int) -> Neighbourhood:
        """The moves over tasks of ``nblk`` blocks each and ``locations`` locations (N + 1)."""
        size = int(np.sum(nblk))
        return cls(
            nblk=nblk,
            owners=np.repeat(np.arange(len(nblk)), nblk),
            blocks=np.concatenate([np.arange(m) for m in nblk]),
            locations=locations,
            window=min(size - 1, 4 * locations),
        )

    def draw(
        self, sequence: np.ndarray, packed: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """One random move from (``sequence``, placement ``packed``): the moved pair, copies
        where changed, or None when the move drawn changes nothing."""
        draw = rng.random()
        if self.window < 1 or draw < MOVE_SHARES[1]:  # a block, or a block and the rest of its chain
            b = int(rng.integers(sequence.size))
            k, m = int(self.owners[b]), int(self.blocks[b])
            moved = packed.copy()
            if self.window < 1 or draw < MOVE_SHARES[0]:
                moved[k, m] = (packed[k, m] + 1 + int(rng.integers(self.locations - 1))) % self.locations
            else:
                moved[k, m : self.nblk[k]] = int(rng.integers(self.locations))
            return None if np.array_equal(moved[k], packed[k]) else (sequence, moved)
        if draw < MOVE_SHARES[2]:
            exchange = exchanged(packed, self.nblk, rng)
            return None if exchange is None else (sequence, exchange)
        if draw < MOVE_SHARES[3]:  # one sequence entry shifted
            i = int(rng.integers(sequence.size))
            j = min(sequence.size - 1, max(0, i + int(rng.integers(-self.window, self.window + 1))))
            return None if sequence[i] == sequence[j] else (shifted(sequence, i, j), packed)
        task = int(rng.integers(len(self.nblk)))
        moved_sequence = task_shifted(sequence, task, int(rng.integers(-self.window, self.window + 1)))
        return None if np.array_equal(moved_sequence, sequence) else (moved_sequence, packed)


#: While a deadline is broken under "hard", the search minimizes the total delay plus this many
#: times the deadlines' total excess (both s): the excess leads the walk towards keeping them,
#: the delay keeps it among good schedules on the way.
EXCESS_WEIGHT = 10.0


def search_key(objective: Objective, summary: ScheduleSummary) -> tuple[int, float]:
    """What the search minimizes, in order: how a schedule breaks the objective's constraints
    (0 none, 1 deadlines only, 2 a budget), then its objective (s), plus
    :data:`EXCESS_WEIGHT` times the deadlines' total excess psi (s) while any is broken under "hard"."""
    value = objective.raw_value(summary)
    if objective.feasible(summary):
        return (0, value)
    excess = EXCESS_WEIGHT * summary.penalty if objective.kind == "hard" else 0.0
    return (1 if summary.budget_kept else 2, value + excess)


def _accepted(trial: tuple[int, float], best: tuple[int, float], deviation: float) -> bool:
    """Record-to-record acceptance of ``trial`` against ``best`` (:func:`search_key`s)."""
    if trial[0] != best[0]:
        return trial[0] < best[0]
    return trial[1] <= best[1] + deviation * abs(best[1])


def solve_shared_order_search(
    scenario: Scenario,
    objective: Objective,
    *,
    time_limit=None,
    seed=None,
    moves_per_task: int | None = MOVES_PER_TASK,
    starts: Sequence[tuple[list, list]] = (),
) -> SolverOutput:
    """Block order and placement by record-to-record travel (see the module docstring), from
    the local search's schedule (itself no worse than earliest-finish's) and ``starts``
    ((placement, start times (s)) pairs). moves_per_task: moves tried per task (None: until
    ``time_limit``, which must then be given); seed: the moves' random stream."""
    check_effort("moves_per_task", moves_per_task)
    if moves_per_task is None and time_limit is None:
        raise ValueError("moves_per_task: None needs a time_limit, or the search never stops")
    begin = time.perf_counter()
    first = solve_shared_local_search(
        scenario, objective, time_limit=None if time_limit is None else float(time_limit) / 4
    )
    schedules = [(first.placement, first.start_s)] if first.placement is not None else []
    for pair in starts:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or pair[1] is None:
            raise ValueError(f"starts: each must be a (placement, start_s) pair, got {pair!r}")
        schedules.append((pair[0], pair[1]))
    left = None if time_limit is None else max(0.0, float(time_limit) - (time.perf_counter() - begin))
    moves = None if moves_per_task is None else moves_per_task * scenario.num_tasks
    return order_search(scenario, objective, schedules, left, moves, seed)


def order_search(
    scenario: Scenario,
    objective: Objective,
    starts: Sequence[tuple[Any, Any]],
    time_limit: float | None = None,
    max_moves: int | None = None,
    seed: int | None = None,
) -> SolverOutput:
    """Record-to-record travel over (block sequence, placement) from the best of ``starts``
    ((placement, start times (s)) pairs), for ``max_moves`` moves or ``time_limit`` s (None: no
    such limit)."""
    from partopt.shared.kernels import SequenceScorer  # Numba loads on first use

    placement0, start0, _ = best_candidate(scenario, objective, list(starts))
    scorer = SequenceScorer(scenario)
    sequence = scorer.sequence_of(start0)
    packed = scorer.packed(placement0)

    best = search_key(objective, scorer.score(sequence, packed))
    best_sequence, best_packed = sequence, packed  # never changed in place: each move copies
    rng = np.random.default_rng(seed)
    neighbourhood = Neighbourhood.of(scorer.nblk, scenario.num_servers + 1)
    begin = time.perf_counter()
    deadline = math.inf if time_limit is None else begin + time_limit
    most = math.inf if max_moves is None else max_moves
    moves, timed_out = 0, False
    while moves < most:
        if moves % 64 == 0 and time.perf_counter() > deadline:
            timed_out = True
            break
        moves += 1
        moved = neighbourhood.draw(sequence, packed, rng)
        if moved is None:
            continue
        moved_sequence, moved_packed = moved
        trial = search_key(objective, scorer.score(moved_sequence, moved_packed))
        spent = moves / most if math.isfinite(most) else (time.perf_counter() - begin) / max(time_limit or 1.0, 1e-9)
        if _accepted(trial, best, DEVIATION * max(0.0, 1.0 - (spent * CYCLES) % 1.0) / scenario.num_tasks):
            sequence, packed = moved_sequence, moved_packed
            if trial < best:
                best, best_sequence, best_packed = trial, sequence, packed
    scorer.score(best_sequence, best_packed)
    found = (scorer.rows(best_packed), scorer.rows(scorer.start))
    placement, start_s, _ = best_candidate(scenario, objective, [found, *starts])
    return SolverOutput(
        placement=placement,
        start_s=start_s,
        timed_out=timed_out,
        info={"moves": moves, "dispatched": scorer.dispatched},
    )
