"""Shared fixtures and hypothesis strategies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import partopt
from partopt import Block, Device, Instance, Server

DATA = Path(__file__).parent / "data"

#: With PARTOPT_THOROUGH=1 the costliest property tests draw their full count of random cases;
#: the default run draws half of it, to stay within its time budget on 2 cores.
THOROUGH = os.environ.get("PARTOPT_THOROUGH") == "1"


def examples(full: int) -> int:
    """How many random cases a costly property test draws: ``full`` when thorough, else half."""
    return full if THOROUGH else max(1, full // 2)


settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


@pytest.fixture(scope="session")
def valid_instance() -> Instance:
    """The small valid instance of tests/data/valid.json (M=4, N=2)."""
    return partopt.read(DATA / "valid.json")


@pytest.fixture(scope="session")
def paper_instance() -> Instance:
    """The paper generator's instance for seed 0 (VGG16, 6 blocks, 4 servers)."""
    return partopt.generate("paper", seed=0)


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
