"""Checkpoints are untrusted files: loading one never runs code, and a damaged one is refused naming it."""

from __future__ import annotations

import os
import pickle
import zipfile

import pytest

import partopt

torch = pytest.importorskip("torch")


class _Exploit:
    """Unpickling this calls os.system: a checkpoint must never be able to do that."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _shipped():
    from partopt.learned.policy import checkpoints_dir

    return checkpoints_dir() / "imitation-m6-n4.pt"


def test_malicious_pickle_checkpoint_does_not_execute(tmp_path):
    """A torch file whose pickle would run a shell command is refused, and the command never runs."""
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "partopt.checkpoint/1", "payload": _Exploit(marker)}, evil)
    inst = partopt.generate("paper", seed=0)
    with pytest.raises(ValueError, match="evil.pt"):
        partopt.solve(inst, "imitation", checkpoint=evil)
    assert not marker.exists()
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_Exploit(marker)))
    with pytest.raises(ValueError, match="raw.pt"):
        partopt.solve(inst, "imitation", checkpoint=raw)
    assert not marker.exists()


def test_nan_weights_are_refused_naming_file_and_weight(tmp_path):
    """A checkpoint with a NaN weight is refused, not used to place blocks."""
    data = torch.load(_shipped(), map_location="cpu", weights_only=True)
    name = next(iter(data["state_dict"]))
    data["state_dict"][name] = torch.full_like(data["state_dict"][name], float("nan"))
    bad = tmp_path / "nan.pt"
    torch.save(data, bad)
    with pytest.raises(ValueError, match=r"nan.pt.*NaN"):
        partopt.solve(partopt.generate("paper", seed=0), "imitation", checkpoint=bad)


def test_truncated_and_mismatched_checkpoints_are_refused(tmp_path):
    """A cut-off file, a file that is not a checkpoint and weights that do not fit the spec name the file."""
    blob = _shipped().read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(blob[: len(blob) // 2])
    inst = partopt.generate("paper", seed=0)
    with pytest.raises(ValueError, match="cut.pt"):
        partopt.solve(inst, "imitation", checkpoint=cut)
    text = tmp_path / "text.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="text.pt"):
        partopt.solve(inst, "imitation", checkpoint=text)
    data = torch.load(_shipped(), map_location="cpu", weights_only=True)
    name = next(iter(data["state_dict"]))
    data["state_dict"][name] = torch.zeros(3)
    wrong = tmp_path / "wrong.pt"
    torch.save(data, wrong)
    with pytest.raises(ValueError, match="wrong.pt"):
        partopt.solve(inst, "imitation", checkpoint=wrong)
    assert zipfile.is_zipfile(_shipped())


def test_every_shipped_checkpoint_reads_safely():
    """Every shipped checkpoint loads with weights_only=True and passes the checks."""
    from partopt.learned.policy import checkpoints_dir, read_checkpoint

    paths = sorted(checkpoints_dir().glob("*.pt"))
    assert paths
    for path in paths:
        assert read_checkpoint(path)["format"] == "partopt.checkpoint/1"


def test_a_spec_declaring_a_huge_layer_is_refused_before_anything_is_built(tmp_path):
    """A 1 MB checkpoint whose spec asks for a 20000 x 20000 layer allocated 1.7 GiB before it was
    refused: its shapes are now checked against the spec on the meta device first; a folder is
    not a checkpoint."""
    import glob

    from partopt.learned.policy import read_checkpoint

    data = torch.load(
        sorted(glob.glob(str(partopt.profiles.data_dir() / "checkpoints" / "mt-a3c*.pt")))[0], weights_only=True
    )
    data["spec"] = dict(data["spec"], hidden=[20000, 20000])
    torch.save(data, tmp_path / "big.pt")
    with pytest.raises(ValueError, match=r"big.pt: its weight '.*' has shape .*, its network spec declares \(20000"):
        read_checkpoint(tmp_path / "big.pt")
    (tmp_path / "dir.pt").mkdir()
    with pytest.raises(ValueError, match="not a regular file"):
        read_checkpoint(tmp_path / "dir.pt")
