"""What the tests share: data paths, the thoroughness switch and hypothesis strategies
(imported as ``from helpers import ...``; pytest's fixtures stay in conftest.py)."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
from hypothesis import assume
from hypothesis import strategies as st

import partopt
from partopt import Block, Device, Instance, Server
from partopt.shared.model import ChainModel, EdgeDevice, EdgeServer, Scenario, Task
from partopt.shared.solvers.start import ExactStart

if TYPE_CHECKING:
    from partopt.result import Result

DATA = Path(__file__).parent / "data"

#: With PARTOPT_THOROUGH=1 the costliest property tests draw their full count of random cases;
#: the default run draws half of it, to stay within its time budget on 2 cores.
THOROUGH = os.environ.get("PARTOPT_THOROUGH") == "1"


E = TypeVar("E")


def evaluation_of(res: Result, kind: type[E]) -> E:
    """``res.evaluation``, asserted to be a ``kind`` (the answer was placed and priced as that kind)."""
    assert isinstance(res.evaluation, kind), f"{res.solver} ({res.status}): no {kind.__name__}"
    return res.evaluation


def placement_of(res: Result) -> tuple:
    """``res.placement``, asserted present (the solver placed the problem)."""
    assert res.placement is not None, f"{res.solver} ({res.status}): no placement"
    return res.placement


def bound_of(res: Result) -> float:
    """``res.lower_bound``, asserted present."""
    assert res.lower_bound is not None, f"{res.solver} ({res.status}): no bound"
    return res.lower_bound


def field_of(error: BaseException) -> str | None:
    """The field a partopt input error names (None for any other error)."""
    return getattr(error, "field", None)


def start_of(found: object) -> ExactStart:
    """``exact_start``'s answer, asserted to be a start (no task proven infeasible alone)."""
    assert isinstance(found, ExactStart), f"no exact start: {found}"
    return found


def examples(full: int) -> int:
    """How many random cases a costly property test draws: ``full`` when thorough, else half."""
    return full if THOROUGH else max(1, full // 2)


#: A small stream of the shared edge online: its environment's and its policies' tests.
SMALL_STREAM = {
    "rate_per_s": 50.0,
    "horizon_s": 1.0,
    "num_servers": 3,
    "num_devices": 2,
    "shared_params": {"networks": ("vgg16", "alexnet"), "num_blocks": 4, "deadline_s": None},
}


positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def instances(
    draw,
    max_blocks: int = 5,
    max_servers: int = 3,
    deadlines: bool = True,
    budgets: bool = True,
    output: bool = True,
    shape: tuple[int, int] | None = None,
) -> Instance:
    """Random valid instances, with zero-size edge cases, tight deadlines and budgets
    so that infeasible instances occur."""
    m, n = shape if shape else (draw(st.integers(1, max_blocks)), draw(st.integers(1, max_servers)))
    cycles = draw(st.lists(st.one_of(st.just(0.0), st.floats(1e6, 3e9)), min_size=m, max_size=m))
    bits = draw(st.lists(st.one_of(st.just(0.0), st.floats(1e3, 5e7)), min_size=m, max_size=m))
    device = Device(
        cpu_hz=draw(st.floats(1e8, 3e9)),
        tx_power_w=draw(st.floats(0.05, 2.0)),
        kappa=draw(st.sampled_from([0.0, 1e-27, 1e-26])),
    )
    servers = tuple(Server(cpu_hz=draw(st.floats(5e8, 3e10)), uplink_bps=draw(st.floats(1e5, 1e8))) for _ in range(n))
    measured = draw(st.booleans())  # blocks timed on each server (server_cycles), as Instance.from_profiles gives
    blocks = []
    for c, b in zip(cycles, bits):
        deadline = None
        if deadlines and draw(st.booleans()):
            deadline = draw(st.floats(0.05, 1.5)) * (c / 5e9 + b / 1e7) + draw(st.floats(1e-4, 0.3))
        on_servers = None
        if measured:
            on_servers = tuple(draw(st.one_of(st.just(0.0), st.floats(1e6, 3e10))) for _ in range(n))
        blocks.append(Block(cycles=c, input_bits=b, param_bits=0.0, deadline_s=deadline, server_cycles=on_servers))
    budget = None
    if budgets and draw(st.booleans()):
        local = device.kappa * device.cpu_hz**2 * sum(cycles)
        budget = draw(st.floats(0.0, 1.2)) * local + draw(st.sampled_from([0.0, 1e-3, 0.05]))
    out_bits = draw(st.one_of(st.just(0.0), st.floats(1.0, 1e6))) if output else 0.0
    return Instance(
        blocks=tuple(blocks),
        device=device,
        servers=servers,
        backhaul_bps=draw(st.floats(1e6, 1e9)),
        output_bits=out_bits,
        energy_budget_j=budget,
    )


@st.composite
def instance_and_placement(draw, **kw):
    """An instance with a random valid placement of it."""
    inst = draw(instances(**kw))
    placement = draw(st.lists(st.integers(0, inst.num_servers), min_size=inst.num_blocks, max_size=inst.num_blocks))
    return inst, placement


# ------------------------------------------------------------- the shared edge
def interleavings(counts: tuple[int, ...]):
    """Every sequence of task indices in which task k appears counts[k] times."""
    slots = [k for k, c in enumerate(counts) for _ in range(c)]
    return set(itertools.permutations(slots))


def _append_schedule(sc: Scenario, placement, order) -> tuple[list[list[float]], list[float]]:
    """The start times (s) of blocks appended to their resources in ``order`` (task indices), and
    each task's delay D_k (s)."""
    free = {("server", n + 1): s.available_s for n, s in enumerate(sc.servers)}
    last_end = [t.release_s for t in sc.tasks]
    last_loc = [0] * sc.num_tasks
    nxt = [0] * sc.num_tasks
    start: list[list[float]] = [[0.0] * m for m in sc.block_counts]
    for k in order:
        m, j, tab = nxt[k], placement[k][nxt[k]], sc.tables[k]
        res = ("server", j) if j else ("device", sc.tasks[k].device)
        begin = max(last_end[k] + tab.transfer[m][last_loc[k]][j], free.get(res, 0.0))
        start[k][m] = begin
        free[res] = last_end[k] = begin + tab.duration[m][j]
        last_loc[k], nxt[k] = j, m + 1
    delays = [last_end[k] + sc.tables[k].return_s[last_loc[k]] - t.release_s for k, t in enumerate(sc.tasks)]
    return start, delays


def brute_force(sc: Scenario, objective: partopt.Objective):
    """The optimum (value, placement, start_s) over every semi-active schedule, or None when no
    schedule keeps every budget (and, under "hard", every task deadline). Schedules are priced
    here (sum of D_k, plus beta times the task deadlines' excess under "penalty"); the winner is
    priced again by :func:`partopt.evaluate`, which must agree."""
    best = None
    orders = interleavings(sc.block_counts)
    limits = [math.inf if t.deadline_s is None else t.deadline_s for t in sc.tasks]
    for flat in itertools.product(range(sc.num_servers + 1), repeat=sum(sc.block_counts)):
        it = iter(flat)
        placement = [[next(it) for _ in range(m)] for m in sc.block_counts]
        if not partopt.evaluate(sc, placement).budget_kept:
            continue
        for order in orders:
            start, delays = _append_schedule(sc, placement, order)
            excess = sum(max(0.0, d - tau) for d, tau in zip(delays, limits))
            if objective.kind == "hard" and excess > 1e-9 * sum(delays):
                continue
            value = sum(delays) + (objective.beta * excess if objective.kind == "penalty" else 0.0)
            if best is None or value < best[0]:
                best = (value, placement, start)
    if best is not None:
        ev = partopt.evaluate(sc, best[1], best[2])
        assert objective.feasible(ev) and objective.raw_value(ev) == pytest.approx(best[0], rel=1e-9)
    return best


@st.composite
def mixed_scenarios(draw, max_work: int = 6, block_deadlines: bool = False) -> Scenario:
    """Small scenarios drawing every feature of the model: 1..4 devices (one may carry every
    task), mixed uplinks (the triangle inequality of transfers often fails), busy servers,
    outputs sent back, task deadlines and budgets that bind, optionally block deadlines."""
    n = draw(st.integers(1, 3))
    m = draw(st.integers(1, 3))
    k = draw(st.integers(2, max(2, max_work // m)))
    assume(k * m <= max_work)
    rate = st.one_of(st.sampled_from([2e5, 2e6, 5e7, 2e8]), st.floats(2e5, 5e7))  # far apart: mixed networks
    devices = tuple(
        EdgeDevice(
            cpu_hz=draw(st.floats(3e8, 3e9)),
            tx_power_w=draw(st.floats(0.1, 1.0)),
            uplink_bps=tuple(draw(st.lists(rate, min_size=n, max_size=n))),
            kappa=1e-27,
            energy_budget_j=draw(st.sampled_from([None, None, 0.02, 0.2])),
            name=f"d{i}",
        )
        for i in range(draw(st.integers(1, 4)))
    )
    servers = tuple(
        EdgeServer(
            cpu_hz=draw(st.floats(1e9, 2e10)), available_s=draw(st.sampled_from([0.0, 0.0, 0.01, 0.05])), name=f"s{i}"
        )
        for i in range(n)
    )
    models = {}
    for name in ("a", "b"):
        measured = draw(st.booleans())  # timed on each server: its own cycles there (Instance.from_profiles)
        blocks = tuple(
            partopt.Block(
                cycles=draw(st.floats(2e6, 3e8)),
                input_bits=draw(st.floats(1e3, 3e6)),
                deadline_s=draw(st.sampled_from([None, 0.05, 0.2])) if block_deadlines else None,
                server_cycles=tuple(draw(st.floats(1e6, 3e9)) for _ in range(n)) if measured else None,
            )
            for _ in range(m)
        )
        models[name] = ChainModel(blocks, output_bits=draw(st.sampled_from([0.0, 1e4, 1e6])))
    shared = draw(st.booleans())  # one device carries every task
    tasks = tuple(
        Task(
            device=0 if shared else draw(st.integers(0, len(devices) - 1)),
            model=draw(st.sampled_from(["a", "b"])),
            release_s=draw(st.floats(0.0, 0.03)),
            deadline_s=draw(st.sampled_from([None, None, 0.1, 0.4])),
            name=f"t{i}",
        )
        for i in range(k)
    )
    backhaul = draw(st.one_of(st.sampled_from([1e6, 1e9]), st.floats(1e6, 1e9)))
    return Scenario(models=models, devices=devices, servers=servers, backhaul_bps=backhaul, tasks=tasks)
