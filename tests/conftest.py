"""Pytest's settings and fixtures; shared helpers and strategies are in helpers.py."""

from __future__ import annotations

import pytest
from helpers import DATA
from hypothesis import HealthCheck, settings

import partopt
from partopt import Instance

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
