"""ImageNet-size profiles and the mobile regimes: counts, validation, generator, suites."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from helpers import evaluation_of

import partopt
from partopt.bench.suites import MOBILE_REGIMES, fixed_heuristic_shares
from partopt.fields import InstanceError, InstanceTypeError
from partopt.profiles import load_profile, profile_from_dict

ROOT = Path(__file__).resolve().parents[2]
#: torchvision's published parameter counts (its model documentation).
PUBLISHED = {
    "resnet18-224": 11_689_512,
    "resnet50-224": 25_557_032,
    "mobilenetv2-224": 3_504_872,
    "vgg16-224": 138_357_544,
    "alexnet-224": 61_100_840,
}
TORCHVISION = {
    "resnet18-224": "resnet18",
    "resnet50-224": "resnet50",
    "mobilenetv2-224": "mobilenet_v2",
    "vgg16-224": "vgg16",
    "alexnet-224": "alexnet",
}


@pytest.mark.parametrize("network", sorted(PUBLISHED))
def test_imagenet_profiles_match_published_parameter_counts(network):
    prof = load_profile(network)
    assert prof.total_params == PUBLISHED[network] == sum(u.params for u in prof.units)
    assert prof.input_elements == 3 * 224 * 224
    assert "torchvision" in prof.definition


def _script():
    spec = importlib.util.spec_from_file_location("make_profiles", ROOT / "instances" / "profiles" / "make_profiles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_profiles"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("network", sorted(TORCHVISION))
def test_imagenet_profile_flops_match_torch_flop_counter(network):
    """Convolution and matrix-multiply work of the profile equals what torch's own FLOP counter
    measures on torchvision's model (2 FLOPs per multiply-accumulate)."""
    torch = pytest.importorskip("torch")
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is in the [profiles] extra")
    from torch.utils.flop_counter import FlopCounterMode

    model = getattr(_script().torchvision_models(), TORCHVISION[network])(weights=None).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    assert counter.get_total_flops() == 2 * sum(u.macs for u in load_profile(network).units)


def test_profile_file_errors_name_the_field():
    data = json.loads((ROOT / "partopt" / "data" / "profiles" / "resnet18-224.json").read_text())
    assert profile_from_dict(data).total_params == PUBLISHED["resnet18-224"]
    bad = json.loads(json.dumps(data))
    bad["units"][3]["flops"] = -5
    with pytest.raises(InstanceError, match=r"units\[3\]\.flops"):
        profile_from_dict(bad)
    del bad["units"][2]["params"]
    with pytest.raises(InstanceError, match=r"units\[2\]\.params"):
        profile_from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["units"][0]["macs"] = 1.5
    with pytest.raises(InstanceTypeError, match=r"units\[0\]\.macs"):
        profile_from_dict(bad)
    with pytest.raises(ValueError, match="available: .*resnet50-224"):
        load_profile("resnet101-224")


def test_mobile_generator_classes_and_errors():
    inst = partopt.generate("mobile", seed=1, device="rpi", server="cpu+gpu", link="wifi", network="resnet18-224")
    assert inst.num_blocks == load_profile("resnet18-224").natural_blocks
    assert inst.blocks[0].input_bits == 3 * 224 * 224 * 8  # the raw image at 8 bits per value
    near, far = inst.servers[0], inst.servers[1]
    assert near.cpu_hz < far.cpu_hz  # a CPU box near, GPU servers farther
    assert 4.0 <= inst.device.kappa * inst.device.cpu_hz**3 <= 6.0  # kappa = P / f^3: the class's watts
    with pytest.raises(ValueError, match="available: phone, rpi, jetson"):
        partopt.generate("mobile", device="laptop")
    with pytest.raises(ValueError, match="deadline_share"):
        partopt.generate("mobile", deadline_share=2.0)


def test_mobile_deadlines_bind_and_budget_binds():
    """With every block given a deadline, the unconstrained optimum breaks some of them; with a
    budget fraction below 1 the optimum without a budget breaks the budget."""
    broken = 0
    for i in range(10):
        inst = partopt.get_generator("mobile", deadline_share=1.0).generate(3, i)
        free = partopt.solve(inst, objective="penalty", beta=0.0)
        broken += not evaluation_of(free, partopt.Evaluation).deadlines_met
    assert broken >= 5
    binds = 0
    for i in range(10):
        inst = partopt.get_generator(
            "mobile", deadline_share=0.0, budget_fraction=0.3, device="jetson", server="cpu+gpu", link="wifi"
        ).generate(4, i)
        unbudgeted = partopt.solve(inst.replace(energy_budget_j=None))
        assert inst.energy_budget_j <= evaluation_of(unbudgeted, partopt.Evaluation).energy * (1 + 1e-9)
        binds += evaluation_of(unbudgeted, partopt.Evaluation).energy > inst.energy_budget_j * (1 + 1e-6)
        assert partopt.solve(inst).feasible
    assert binds >= 2


@pytest.mark.parametrize("label", [label for label, _, _ in MOBILE_REGIMES])
def test_mobile_suites_need_more_than_a_fixed_rule(label):
    """In each mobile suite no fixed heuristic is optimal on more than half of the instances, and
    the multi-cut optimum beats the best single split on at least a fifth."""
    shares = fixed_heuristic_shares(f"mobile-{label}-v1")
    assert max(shares[h] for h in ("all-edge", "all-device", "single-split")) <= 0.5
    assert shares["multi-cut"] >= 0.2
