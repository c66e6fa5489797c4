"""Hostile input: malformed instances and scenarios end in an error naming the field, never another exception."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import partopt
from partopt.files import from_dict
from partopt.model import InstanceError, InstanceTypeError

NAMED = (InstanceError, InstanceTypeError)

hostile = st.one_of(
    st.none(), st.booleans(), st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.just(10**400),
    st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just([0.0] * 100_000),
)


def _leaves(doc, path=()):
    """Every (path, value) of a JSON document, containers included."""
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _leaves(value, path + (i,))


def _mutated(doc, data):
    doc = json.loads(json.dumps(doc))
    paths = [p for p, _ in _leaves(doc) if p]
    path = data.draw(st.sampled_from(paths))
    target = doc
    for key in path[:-1]:
        target = target[key]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "delete":
        del target[path[-1]]
    elif action == "add" and isinstance(target, dict):
        target[data.draw(st.sampled_from(["extra", "cycles", "device", "deadline_s"]))] = data.draw(hostile)
    else:
        target[path[-1]] = data.draw(hostile)
    return doc


def _check(doc):
    try:
        obj = from_dict(doc)
    except NAMED as error:
        assert isinstance(error.field, str)
        assert len(str(error)) < 600, "messages quote values shortened"
        return
    assert isinstance(obj, (partopt.Instance, partopt.Scenario))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100), data=st.data())
def test_malformed_instance_gets_a_named_field_error(seed, data):
    """Any one-field corruption of a valid instance is refused naming a field, or still valid."""
    _check(_mutated(partopt.generate("random", seed=seed).to_dict(), data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100), data=st.data())
def test_malformed_scenario_gets_a_named_field_error(seed, data):
    """Any one-field corruption of a valid scenario is refused naming a field, or still valid."""
    doc = partopt.generate("shared", seed=seed, num_tasks=3, num_servers=2, task_deadline_s=1.0).to_dict()
    _check(_mutated(doc, data))


@settings(max_examples=100, deadline=None)
@given(blob=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_naming_the_file(tmp_path_factory, blob):
    """Random bytes as a file: a named refusal, never a decode error or a traceback of another kind."""
    path = tmp_path_factory.mktemp("hostile") / "x.json"
    path.write_bytes(blob)
    try:
        partopt.read(path)
    except NAMED:
        pass
