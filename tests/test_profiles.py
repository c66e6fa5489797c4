"""DNN profiles: parameter counts of the published definitions, blocks and merging."""

import pytest

from partopt.profiles import list_profiles, load_profile

PUBLISHED = {"vgg16": 14_728_266, "alexnet": 2_472_266, "nin": 966_986, "resnet32": 464_154}


def test_all_four_profiles_ship():
    """VGG16, AlexNet, NiN and ResNet-32 are shipped."""
    assert set(PUBLISHED) <= set(list_profiles())


@pytest.mark.parametrize("network, params", sorted(PUBLISHED.items()))
def test_parameter_count_equals_published(network, params):
    """Total parameters equal the published count of the pinned definition, unit by unit."""
    profile = load_profile(network)
    assert profile.total_params == params
    assert sum(u.params for u in profile.units) == params


def test_published_counts_in_millions():
    """The issue's figures: VGG16 14.73 M, AlexNet 2.47 M, ResNet-32 0.46 M."""
    assert round(PUBLISHED["vgg16"] / 1e6, 2) == 14.73
    assert round(PUBLISHED["alexnet"] / 1e6, 2) == 2.47
    assert round(PUBLISHED["resnet32"] / 1e6, 2) == 0.46


@pytest.mark.parametrize("network", sorted(PUBLISHED))
@pytest.mark.parametrize("m", [None, 1, 3, 6])
def test_blocks_conserve_work_and_chain_feature_maps(network, m):
    """Merging keeps total FLOPs and parameters; block k's input is block k-1's output."""
    profile = load_profile(network)
    blocks = profile.blocks(m)
    assert len(blocks) == (profile.natural_blocks if m is None else m)
    assert sum(b.flops for b in blocks) == profile.total_flops
    assert sum(b.param_bits for b in blocks) == 32 * profile.total_params
    assert blocks[0].input_bits == 3 * 32 * 32 * 32
    names = [u for b in blocks for u in b.units]
    assert names == [u.name for u in profile.units]


def test_vgg16_natural_blocks_and_sweep():
    """VGG16 has 6 natural blocks (5 conv stages + classifier) and splits into 3..18 blocks."""
    vgg = load_profile("vgg16")
    assert vgg.natural_blocks == 6
    for m in range(3, 19):
        assert len(vgg.blocks(m)) == m


def test_balanced_merge_is_optimal_for_max_block():
    """The merge minimizes the largest block's FLOPs: no 2-way cut of AlexNet does better."""
    alex = load_profile("alexnet")
    flops = [u.flops for u in alex.units]
    best = min(max(sum(flops[:k]), sum(flops[k:])) for k in range(1, len(flops)))
    assert max(b.flops for b in alex.blocks(2)) == best


def test_too_many_blocks_is_refused():
    """Asking for more blocks than units names the limit."""
    with pytest.raises(ValueError, match="num_blocks"):
        load_profile("alexnet").blocks(10)


def test_unknown_profile():
    """An unknown network name lists the available ones."""
    with pytest.raises(ValueError, match="vgg16"):
        load_profile("lenet")


@pytest.mark.slow
def test_profiles_regenerate_from_torch(tmp_path):
    """Re-running the profile script reproduces the shipped JSON files."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "instances" / "profiles"
    before = {p.name: json.loads(p.read_text()) for p in root.glob("*.json")}
    subprocess.run([sys.executable, str(root / "make_profiles.py")], check=True)
    after = {p.name: json.loads(p.read_text()) for p in root.glob("*.json")}
    for name in before:
        assert before[name]["units"] == after[name]["units"]
