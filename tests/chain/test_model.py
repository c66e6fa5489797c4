"""Instances: construction, JSON round-trip, and refusal of bad input."""

import json
import math
from pathlib import Path

import pytest
from helpers import field_of, instances
from hypothesis import given

import partopt
from partopt import Block, Device, Instance, InstanceError, InstanceTypeError, Server

BAD = Path(__file__).parent / "bad_instances"
EXPECTED = json.loads((BAD / "expected.json").read_text())


@pytest.mark.parametrize("filename", sorted(EXPECTED))
def test_bad_file_is_refused_naming_the_field(filename):
    """Each broken-on-purpose file raises its mapped error, whose message names the field."""
    expected = EXPECTED[filename]
    error_type = {"ValueError": ValueError, "TypeError": TypeError}[expected["error"]]
    with pytest.raises(error_type) as info:
        partopt.read(BAD / filename)
    if expected["field"]:
        assert field_of(info.value) == expected["field"]
        assert str(info.value).startswith(expected["field"] + ":")


def test_every_bad_file_is_mapped():
    """No broken file sits in the folder without its expected error."""
    files = {p.name for p in BAD.glob("*.json")} - {"expected.json"}
    assert files == set(EXPECTED)


def test_valid_file_reads(valid_instance):
    """The valid example reads with its shape, deadlines and optional fields."""
    assert valid_instance.shape == (4, 2)
    assert valid_instance.blocks[0].deadline_s == 2.5
    assert valid_instance.blocks[1].deadline_s is None
    assert valid_instance.energy_budget_j is None
    assert math.isinf(valid_instance.deadlines[2])


@given(instances())
def test_dict_round_trip_is_exact(inst):
    """from_dict(to_dict(x)) == x for any valid instance."""
    assert Instance.from_dict(inst.to_dict()) == inst


@given(instances())
def test_file_round_trip_is_exact(tmp_path_factory, inst):
    """write then read gives back the same instance, float for float."""
    path = tmp_path_factory.mktemp("rt") / "inst.json"
    partopt.write(inst, path)
    assert partopt.read(path) == inst


def test_optional_keys_take_defaults():
    """kappa, output_bits, energy_budget_j, names and deadlines are optional."""
    d = {
        "format": "partopt.instance/1",
        "blocks": [{"cycles": 1, "input_bits": 2, "param_bits": 3}],
        "device": {"cpu_hz": 1e9, "tx_power_w": 0.1},
        "servers": [{"cpu_hz": 1e9, "uplink_bps": 1e6}],
        "backhaul_bps": 1e8,
    }
    inst = Instance.from_dict(d)
    assert inst.device.kappa == 1e-26 and inst.output_bits == 0.0 and inst.energy_budget_j is None


def test_constructor_validates_like_the_reader():
    """Building the dataclasses directly applies the same checks."""
    with pytest.raises(InstanceError, match="cycles"):
        Block(cycles=-1, input_bits=0)
    with pytest.raises(InstanceTypeError, match="cpu_hz"):
        Device(cpu_hz="fast", tx_power_w=1)  # type: ignore[arg-type]  # deliberately the wrong type
    with pytest.raises(InstanceError, match="uplink_bps"):
        Server(cpu_hz=1e9, uplink_bps=float("nan"))
    with pytest.raises(InstanceError, match="servers"):
        Instance(blocks=(Block(1, 1),), device=Device(1e9, 1), servers=(), backhaul_bps=1)


def test_instances_are_frozen(valid_instance):
    """Data is immutable; variants come from replace()."""
    with pytest.raises(AttributeError):
        valid_instance.backhaul_bps = 1.0
    other = valid_instance.replace(energy_budget_j=1.0)
    assert other.energy_budget_j == 1.0 and valid_instance.energy_budget_j is None


@pytest.mark.parametrize(
    "placement, error, field",
    [
        ([0, 1, 2], ValueError, "placement"),
        ([0, 1, 2, 3], ValueError, "placement[3]"),
        ([0, -1, 0, 0], ValueError, "placement[1]"),
        ([0, 1.0, 0, 0], TypeError, "placement[1]"),
        ([0, True, 0, 0], TypeError, "placement[1]"),
        ("0120", TypeError, "placement"),
        (None, TypeError, "placement"),
    ],
)
def test_bad_placement_is_refused(valid_instance, placement, error, field):
    """Wrong length, out-of-range or non-int locations raise, naming the entry."""
    with pytest.raises(error) as info:
        partopt.evaluate(valid_instance, placement)
    assert info.value.field == field
