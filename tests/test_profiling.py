"""partopt.profile: any PyTorch model as a chain of units, checked against torch itself."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import placement_of

import partopt
from partopt.profiles import load_profile, with_latency_table

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402 - after the torch skip

from partopt.profiling import ProfileError, torchvision_models  # noqa: E402 - after the torch skip


def _torch_flops(model, x) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return int(counter.get_total_flops())


class Residual(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.a, self.b = nn.Conv2d(width, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x):
        return torch.relu(x + self.b(torch.relu(self.a(x))))


class Shared(nn.Module):
    """One linear layer used twice: its parameters count once."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return self.lin(torch.relu(self.lin(x)))


def _stack():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 8 * 8, 10),
    )


def _check_against_torch(model, x, prof) -> None:
    """Parameters exact, counted FLOPs equal to torch's for the whole model, and the units run in
    turn give the model's own output."""
    assert prof.total_params == sum(p.numel() for p in model.parameters())
    assert sum(u.params for u in prof.units) == prof.total_params
    assert sum(u.counted_flops for u in prof.units) == _torch_flops(model, x)
    assert all(u.flops == u.counted_flops + u.elementwise_flops for u in prof.units)
    assert prof.units[-1].output_elements == model(x).numel()


def test_a_plain_stack_is_cut_after_every_layer_and_each_unit_outputs_what_the_model_passes():
    """Sequential layers: a cut after each; a unit's output shape is the tensor the layer really
    passes on (forward hooks)."""
    model, x = _stack().eval(), torch.randn(1, 3, 16, 16)
    seen = []
    hooks = [layer.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[1:]))) for layer in model]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    prof = partopt.profile(model, x, name="stack")
    assert len(prof.units) == len(model) and prof.cut_points == len(model) - 1
    assert [u.output_shape for u in prof.units] == seen
    assert prof.input_shape == (3, 16, 16) and prof.bits_per_element == 32
    _check_against_torch(model, x, prof)


def test_a_residual_block_stays_one_unit_and_shared_parameters_count_once():
    """Two values are alive inside a residual block: no cut there (only after its addition, so its
    last ReLU is a unit of its own); it is flagged as branching."""
    model = nn.Sequential(nn.Conv2d(3, 8, 1), Residual(8), Residual(8), nn.Flatten(), nn.Linear(8 * 16, 4)).eval()
    x = torch.randn(1, 3, 4, 4)
    prof = partopt.profile(model, x)
    residual = [u for u in prof.units if u.branches]
    assert len(residual) == 2 and len(prof.units) == 7  # conv, block, relu, block, relu, flatten, linear
    _check_against_torch(model, x, prof)
    shared = partopt.profile(Shared().eval(), torch.randn(1, 8))
    assert shared.total_params == 72 and sum(u.params for u in shared.units) == 72


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "vit", "googlenet"])
def test_torchvision_networks_match_torch(name):
    """CNNs, an Inception network and a vision transformer from torchvision's definitions."""
    try:
        tv = torchvision_models()
    except ImportError:
        pytest.skip("torchvision is not installed")
    model, x = {
        "resnet18": lambda: (tv.resnet18(), torch.randn(1, 3, 64, 64)),
        "mobilenet_v2": lambda: (tv.mobilenet_v2(), torch.randn(1, 3, 64, 64)),
        "vit": lambda: (
            tv.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64),
            torch.randn(1, 3, 32, 32),
        ),
        "googlenet": lambda: (tv.googlenet(aux_logits=False, init_weights=False), torch.randn(1, 3, 64, 64)),
    }[name]()
    model.eval()
    prof = partopt.profile(model, x, name=name)
    _check_against_torch(model, x, prof)
    assert prof.cut_points == len(prof.units) - 1 >= 5
    assert 0 < prof.largest_unit_share() <= 1 and name in prof.summary()


def test_measured_times_are_stored_with_the_machine_and_compared_with_the_whole_pass(tmp_path):
    model, x = _stack().eval(), torch.randn(1, 3, 16, 16)
    prof = partopt.profile(model, x, measure=True, repeats=3, threads=1)
    assert prof.measured and all(u.time_s > 0 for u in prof.units)
    assert prof.machine["threads"] == 1 and prof.whole_time_s > 0 and prof.measured_ratio > 0
    path = prof.save(tmp_path / "stack.json")
    assert json.loads(path.read_text())["format"] == "partopt.profile/2"
    again = load_profile(path)
    assert (
        again == prof
        and again.measured
        and again.blocks(3)[0].time_s
        == pytest.approx(sum(u.time_s for u in prof.units[: len(again.blocks(3)[0].units)]))
    )


def test_a_measured_profile_gives_the_device_its_measured_block_times(tmp_path):
    """generate("mobile", network=a measured profile): each block's time on the device is the
    measured one (its cycles at the device's clock); unmeasured, FLOPs as before."""
    prof = partopt.profile(_stack().eval(), torch.randn(1, 3, 16, 16), measure=True, repeats=3)
    inst = partopt.generate("mobile", seed=1, network=prof.save(tmp_path / "p.json"), num_blocks=3, deadline_share=0.0)
    times = [b.time_s for b in prof.blocks(3)]
    assert list(inst.cycles / inst.device.cpu_hz) == pytest.approx(times, rel=1e-12)
    assert partopt.solve(inst).status == partopt.Status.OPTIMAL


def _timed(prof, path, seconds):
    """``prof`` with unit k timed at ``seconds(k)`` through a latency table (as another profiler gives)."""
    path.write_text("unit,latency_s\n" + "".join(f"{u.name},{seconds(k)}\n" for k, u in enumerate(prof.units)))
    return with_latency_table(prof, path)


def test_times_measured_on_each_server_are_the_blocks_times_there(tmp_path):
    """Instance.from_profiles: a block runs on the device and on each profiled server in the sum of
    its units' times measured there; an unprofiled server runs the device's cycles at its clock; the
    instance round-trips through JSON, and every exact solver agrees on it."""
    prof = partopt.profile(_stack().eval(), torch.randn(1, 3, 16, 16))
    on_device = _timed(prof, tmp_path / "d.csv", lambda k: 1e-3 * (k + 1))
    on_gpu = _timed(prof, tmp_path / "g.csv", lambda k: 2e-5 * (k % 3 + 1))
    device = partopt.Device(cpu_hz=1.5e9, tx_power_w=0.8)
    servers = [partopt.Server(cpu_hz=2e10, uplink_bps=4e7), partopt.Server(cpu_hz=6e9, uplink_bps=9e7)]
    inst = partopt.Instance.from_profiles(
        on_device, device, servers, [on_gpu.save(tmp_path / "g.json"), None], num_blocks=3
    )
    bounds = prof.boundaries(3)
    comp = inst.costs.computation[0]
    for m, (lo, hi) in enumerate(bounds):
        dev_t = sum(1e-3 * (k + 1) for k in range(lo, hi))
        assert comp[m, 0] == pytest.approx(dev_t, rel=1e-12)
        assert comp[m, 1] == pytest.approx(sum(2e-5 * (k % 3 + 1) for k in range(lo, hi)), rel=1e-12)
        assert comp[m, 2] == pytest.approx(dev_t * 1.5e9 / 6e9, rel=1e-12)
    again = partopt.Instance.from_dict(json.loads(json.dumps(inst.to_dict())))
    assert again == inst
    answers = [partopt.solve(inst, s) for s in ("dp", "brute-force", "milp-pulp")]
    assert all(a.objective == pytest.approx(answers[0].objective, rel=1e-9) for a in answers)
    ev = partopt.evaluate(inst, placement_of(answers[0]))
    assert ev.total_delay == pytest.approx(answers[0].objective, rel=1e-12)


def test_server_profiles_of_another_model_or_unmeasured_are_refused(tmp_path):
    prof = partopt.profile(_stack().eval(), torch.randn(1, 3, 16, 16))
    other = partopt.profile(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)).eval(), torch.randn(1, 4))
    device = partopt.Device(cpu_hz=1e9, tx_power_w=0.5)
    servers = [partopt.Server(cpu_hz=1e10, uplink_bps=1e7)]
    for server_networks, match in [
        (other, r"server_networks\[0\]: .* does not have"),
        (prof, r"server_networks\[0\]: is not measured"),
        ([prof, prof], r"server_networks: has 2 entries"),
    ]:
        with pytest.raises(partopt.InstanceError, match=match):
            partopt.Instance.from_profiles(prof, device, servers, server_networks)


def test_models_that_cannot_be_profiled_get_the_reason():
    class Branchy(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    x = torch.randn(1, 4)
    with pytest.raises(ProfileError, match="cannot be traced by torch.fx.*data-dependent"):
        partopt.profile(Branchy(), x)
    with pytest.raises(ProfileError, match="forward fails on the example input of shape \\(1, 5\\)"):
        partopt.profile(nn.Linear(4, 2), torch.randn(1, 5))
    with pytest.raises(ProfileError, match="output must be one tensor"):
        partopt.profile(Pair(), x)
    with pytest.raises(ProfileError, match="model: must be a torch.nn.Module"):
        partopt.profile(lambda t: t, x)
    with pytest.raises(ProfileError, match="repeats: must be an int >= 1"):
        partopt.profile(nn.Linear(4, 2), x, repeats=0)


def test_profile_files_are_checked_field_by_field_and_old_ones_still_load(tmp_path):
    for name in partopt.profiles.list_profiles():  # every shipped partopt.profile/1 file
        assert load_profile(name).units
    doc = partopt.profile(_stack().eval(), torch.randn(1, 3, 16, 16)).to_dict()
    doc["units"][2]["time_s"] = -1.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(partopt.InstanceError, match=r"units\[2\].time_s: must be a finite number > 0"):
        load_profile(bad)
    with pytest.raises(ValueError, match="no profile file"):
        load_profile(tmp_path / "missing.json")


def test_latency_tables_from_other_profilers_are_read_and_checked(tmp_path):
    prof = partopt.profile(_stack().eval(), torch.randn(1, 3, 16, 16))
    names = [u.name for u in prof.units]
    table = tmp_path / "t.csv"
    table.write_text(
        "\ufeffunit,latency_s,output_bytes\n" + "".join(f"{n},{0.001 * (k + 1)},{4 * k}\n" for k, n in enumerate(names))
    )
    timed = with_latency_table(prof, table)
    assert [u.time_s for u in timed.units] == pytest.approx([0.001 * (k + 1) for k in range(len(names))])
    for body, match in [
        (f"{names[0]},0.001\nnope,0.002\n", r"t.csv:3: unit 'nope' is not a unit"),
        (f"{names[0]},0.001\n", "units missing from the table"),
        (f"{names[0]},0\n", r"t.csv:2: latency_s must be > 0"),
        (f"{names[0]},fast\n", r"t.csv:2: latency_s must be a number"),
        (f"{names[0]},0.1\n{names[0]},0.1\n", "appears twice"),
    ]:
        table.write_text("unit,latency_s\n" + body)
        with pytest.raises(ValueError, match=match):
            with_latency_table(prof, table)


def test_cli_profiles_a_model_from_its_factory_then_generates_and_solves(tmp_path, monkeypatch, capsys):
    """The README's path: partopt profile PACKAGE.MODULE:FACTORY, generate mobile, solve."""
    from partopt.cli import main

    (tmp_path / "mynets.py").write_text(
        "import torch.nn as nn\n"
        "def build():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 10))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert (
        main(["profile", "mynets:build", "--input-shape", "3,16,16", "--measure", "--repeats", "2", "-o", "net.json"])
        == 0
    )
    assert "4 units (3 cut points)" in capsys.readouterr().out
    assert (
        main(
            [
                "generate",
                "mobile",
                "--param",
                "network=net.json",
                "--param",
                "num_blocks=2",
                "--param",
                "deadline_share=0",
                "-o",
                "inst.json",
            ]
        )
        == 0
    )
    assert main(["solve", "inst.json"]) == 0
    assert "optimal" in capsys.readouterr().out
    assert main(["profile", "mynets:nope", "--input-shape", "3,16,16", "-o", "x.json"]) == 2
    assert main(["profile", "mynets:build", "--input-shape", "3,x", "-o", "x.json"]) == 2
