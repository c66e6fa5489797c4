"""Regenerate the DNN profiles in this folder from PyTorch module definitions.

    python instances/profiles/make_profiles.py           # writes every profile to partopt/data/profiles/

CIFAR-size networks (3x32x32; vgg16, alexnet, nin, resnet32) are written out here;
ImageNet-size ones (3x224x224; resnet18-224, resnet50-224, mobilenetv2-224, vgg16-224,
alexnet-224) are torchvision's own definitions (``weights=None``: nothing is
downloaded), cut at their natural units: the stem, every residual or inverted-residual
block, every conv/pool layer, the classifier layers.

Each network is written as an ``nn.Sequential`` of *units*: the places between
which a model can be cut (a conv with its BN and ReLU, a pooling layer, a residual
block, the classifier). A forward pass on one 3x32x32 input, with hooks on every
leaf module, measures per unit the multiply-accumulates, FLOPs, output tensor and
parameters. FLOP counting (inference): conv and linear 2 per MAC plus 1 per bias
output, batch-norm 2 per element, ReLU 1 per element, pooling one per window
element of each output, a residual addition 1 per element, dropout and flatten 0.

Only this script needs torch (and torchvision for the ImageNet networks); the package
reads the JSON it writes. Parameter totals must equal the published counts exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parents[2] / "partopt" / "data" / "profiles"  # where the package reads them
CIFAR_INPUT = (3, 32, 32)
IMAGENET_INPUT = (3, 224, 224)


# ---------------------------------------------------------------- definitions
def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def vgg16() -> tuple[nn.Sequential, list[int]]:
    """VGG16 for CIFAR-10 as in kuangliu/pytorch-cifar (models/vgg.py, cfg 'VGG16'):
    3x3 conv + BN + ReLU, five max-pools, AvgPool(1), one Linear(512, 10)."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    units, stage, stages, cin = [], 0, [], 3
    for v in cfg:
        if v == "M":
            units.append(nn.MaxPool2d(2, 2))
            stages.append(stage)
            stage += 1
        else:
            units.append(conv_bn_relu(cin, v))
            stages.append(stage)
            cin = v
    units.append(nn.Sequential(nn.AvgPool2d(1, 1), nn.Flatten(), nn.Linear(512, 10)))
    stages.append(stage)
    return nn.Sequential(*units), stages


def alexnet() -> tuple[nn.Sequential, list[int]]:
    """AlexNet for CIFAR-10 as in bearpaw/pytorch-classification (models/cifar/alexnet.py)."""
    units = [
        nn.Sequential(nn.Conv2d(3, 64, 11, stride=4, padding=5), nn.ReLU(inplace=True)),
        nn.MaxPool2d(2, 2),
        nn.Sequential(nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True)),
        nn.MaxPool2d(2, 2),
        nn.Sequential(nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True)),
        nn.Sequential(nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True)),
        nn.Sequential(nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True)),
        nn.MaxPool2d(2, 2),
        nn.Sequential(nn.Flatten(), nn.Linear(256, 10)),
    ]
    stages = [0, 0, 1, 1, 2, 3, 4, 4, 5]
    return nn.Sequential(*units), stages


def nin() -> tuple[nn.Sequential, list[int]]:
    """NIN for CIFAR-10 as in osmr/imgclsmob (pytorch/pytorchcv/models/nin_cifar.py, nin_cifar10):
    channels [[192, 160, 96], [192, 192, 192], [192, 192, 10]], first kernels 5, 5, 3,
    max-pool and avg-pool (3, stride 2, pad 1) between stages, AvgPool(8) at the end."""

    def conv(cin, cout, k):
        return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU(inplace=True))

    units = [
        conv(3, 192, 5),
        conv(192, 160, 1),
        conv(160, 96, 1),
        nn.Sequential(nn.MaxPool2d(3, 2, padding=1), nn.Dropout(0.5)),
        conv(96, 192, 5),
        conv(192, 192, 1),
        conv(192, 192, 1),
        nn.Sequential(nn.AvgPool2d(3, 2, padding=1), nn.Dropout(0.5)),
        conv(192, 192, 3),
        conv(192, 192, 1),
        conv(192, 10, 1),
        nn.Sequential(nn.AvgPool2d(8, 1), nn.Flatten()),
    ]
    stages = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    return nn.Sequential(*units), stages


class BasicBlock(nn.Module):
    """ResNet basic block with the option-A (zero-padding, parameter-free) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        self.pad = cout - cin
        self.stride = stride

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        short = x
        if self.stride != 1 or self.pad:
            short = nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad // 2, self.pad // 2))
        out = out + short
        self.added_elements = out.numel()
        return self.relu2(out)


def resnet32() -> tuple[nn.Sequential, list[int]]:
    """ResNet-32 for CIFAR-10 as in akamaster/pytorch_resnet_cifar10 (option A shortcuts)."""
    units = [nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())]
    stages = [0]
    cin = 16
    for s, (cout, stride) in enumerate([(16, 1), (32, 2), (64, 2)], start=1):
        for i in range(5):
            units.append(BasicBlock(cin, cout, stride if i == 0 else 1))
            stages.append(s)
            cin = cout
    units.append(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)))
    stages.append(4)
    return nn.Sequential(*units), stages


# ------------------------------------------------------ torchvision networks
def torchvision_models():
    """``torchvision.models`` without its compiled operators (:func:`partopt.profiling.torchvision_models`)."""
    from partopt.profiling import torchvision_models as load

    try:
        return load()
    except ImportError as error:
        raise SystemExit(str(error)) from None


def _tv_resnet(name: str):
    def build() -> tuple[nn.Sequential, list[int]]:
        model = getattr(torchvision_models(), name)(weights=None)
        units = [nn.Sequential(model.conv1, model.bn1, model.relu), model.maxpool]
        stages = [0, 0]
        for s, layer in enumerate([model.layer1, model.layer2, model.layer3, model.layer4], start=1):
            for block in layer:
                units.append(Residual(block))
                stages.append(s)
        units.append(nn.Sequential(model.avgpool, nn.Flatten(), model.fc))
        stages.append(5)
        return nn.Sequential(*units), stages

    return build


def _tv_mobilenet_v2() -> tuple[nn.Sequential, list[int]]:
    model = torchvision_models().mobilenet_v2(weights=None)
    # (t, c, n, s) groups of the paper: features 1 | 2-3 | 4-6 | 7-10 | 11-13 | 14-16 | 17
    group = [0, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 8]
    units, stages = [], []
    for i, feature in enumerate(model.features):
        units.append(Residual(feature) if getattr(feature, "use_res_connect", False) else feature)
        stages.append(group[i])
    units.append(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), model.classifier))
    stages.append(9)
    return nn.Sequential(*units), stages


def _tv_plain(name: str):
    """VGG16 or AlexNet: every conv+ReLU and pooling layer a unit, a stage per pooling
    layer; the classifier cut after each Linear (+ReLU, Dropout)."""

    def build() -> tuple[nn.Sequential, list[int]]:
        model = getattr(torchvision_models(), name)(weights=None)
        units, stages, stage, pending = [], [], 0, []
        for layer in model.features:
            pending.append(layer)
            if isinstance(layer, nn.MaxPool2d):
                units.append(layer if len(pending) == 1 else nn.Sequential(*pending))
                stages.append(stage)
                stage, pending = stage + 1, []
            elif isinstance(layer, nn.ReLU):
                units.append(nn.Sequential(*pending))
                stages.append(stage)
                pending = []
        head: list[nn.Module] = [model.avgpool, nn.Flatten()]
        for layer in model.classifier:
            if isinstance(layer, nn.Linear) and any(isinstance(h, nn.Linear) for h in head):
                units.append(nn.Sequential(*head))
                stages.append(stage)
                head = []
            head.append(layer)
        units.append(nn.Sequential(*head))
        stages.append(stage)
        return nn.Sequential(*units), stages

    return build


class Residual(nn.Module):
    """A torchvision block whose forward adds its shortcut: counted as 1 FLOP per output element."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x):
        out = self.block(x)
        self.added_elements = out.numel()
        return out


NETWORKS = {
    "vgg16": (vgg16, "kuangliu/pytorch-cifar models/vgg.py VGG('VGG16'), BN, single Linear(512, 10)", 14_728_266),
    "alexnet": (alexnet, "bearpaw/pytorch-classification models/cifar/alexnet.py", 2_472_266),
    "nin": (nin, "osmr/imgclsmob pytorchcv nin_cifar10", 966_986),
    "resnet32": (resnet32, "akamaster/pytorch_resnet_cifar10 resnet32, option-A shortcuts", 464_154),
    # ImageNet size: torchvision's definitions and its published parameter counts.
    "resnet18-224": (_tv_resnet("resnet18"), "torchvision.models.resnet18(weights=None)", 11_689_512),
    "resnet50-224": (_tv_resnet("resnet50"), "torchvision.models.resnet50(weights=None)", 25_557_032),
    "mobilenetv2-224": (_tv_mobilenet_v2, "torchvision.models.mobilenet_v2(weights=None)", 3_504_872),
    "vgg16-224": (_tv_plain("vgg16"), "torchvision.models.vgg16(weights=None)", 138_357_544),
    "alexnet-224": (_tv_plain("alexnet"), "torchvision.models.alexnet(weights=None)", 61_100_840),
}
INPUTS = {name: IMAGENET_INPUT if name.endswith("-224") else CIFAR_INPUT for name in NETWORKS}


# ----------------------------------------------------------------- counting
def leaf_flops(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> tuple[int, int]:
    """(MACs, FLOPs) of one leaf module for one forward pass."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        macs = out.numel() * (module.in_channels // module.groups) * kh * kw
        return macs, 2 * macs + (out.numel() if module.bias is not None else 0)
    if isinstance(module, nn.Linear):
        macs = module.in_features * module.out_features
        return macs, 2 * macs + (module.out_features if module.bias is not None else 0)
    if isinstance(module, nn.BatchNorm2d):
        return 0, 2 * out.numel()
    if isinstance(module, (nn.ReLU, nn.ReLU6)):
        return 0, out.numel()
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k = module.kernel_size
        area = k * k if isinstance(k, int) else math.prod(k)
        return 0, area * out.numel()
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return 0, inp.numel()
    return 0, 0


def profile(name: str) -> dict:
    build, definition, published = NETWORKS[name]
    torch.manual_seed(0)
    model, stages = build()
    model.eval()
    records: list[dict] = []
    for index, unit in enumerate(model):
        counts = {"macs": 0, "flops": 0}

        def hook(mod, args, out, counts=counts):
            macs, flops = leaf_flops(mod, args[0], out)
            counts["macs"] += macs
            counts["flops"] += flops

        handles = [m.register_forward_hook(hook) for m in unit.modules() if len(list(m.children())) == 0]
        records.append({"unit": unit, "counts": counts, "handles": handles})
    x = torch.zeros(1, *INPUTS[name])
    units_out = []
    with torch.no_grad():
        for rec in records:
            x = rec["unit"](x)
            for h in rec["handles"]:
                h.remove()
            extra = getattr(rec["unit"], "added_elements", 0)
            units_out.append(
                {
                    "name": unit_name(rec["unit"], units_out),
                    "kind": describe(rec["unit"]),
                    "stage": None,
                    "macs": rec["counts"]["macs"],
                    "flops": rec["counts"]["flops"] + extra,
                    "params": sum(p.numel() for p in rec["unit"].parameters()),
                    "output_shape": list(x.shape[1:]),
                    "output_elements": x[0].numel(),
                }
            )
    for unit, stage in zip(units_out, stages):
        unit["stage"] = stage
    total = sum(p.numel() for p in model.parameters())
    if total != published:
        raise SystemExit(f"{name}: {total} parameters, the published definition has {published}")
    return {
        "format": "partopt.profile/1",
        "network": name,
        "definition": definition,
        "input_shape": list(INPUTS[name]),
        "bits_per_element": 32,
        "total_params": total,
        "torch_version": torch.__version__,
        "flop_counting": (
            "conv/linear 2 per MAC + bias; BN 2/elem; ReLU 1/elem; pooling window/output; residual add 1/elem"
        ),
        "units": units_out,
    }


def unit_name(unit: nn.Module, earlier: list[dict]) -> str:
    """conv3, pool2, res7, fc, gap: the unit's role and its rank among units of that role."""
    kind = describe(unit)
    role = (
        "res"
        if kind == "residual-block"
        else "fc"
        if "Linear" in kind
        else "conv"
        if "Conv2d" in kind
        else "gap"
        if "Flatten" in kind
        else "pool"
    )
    rank = 1 + sum(1 for u in earlier if u["name"].rstrip("0123456789") == role)
    return role if role in ("fc", "gap") else f"{role}{rank}"


def describe(unit: nn.Module) -> str:
    if isinstance(unit, (BasicBlock, Residual)):
        return "residual-block"
    leaves = [type(m).__name__ for m in unit.modules() if len(list(m.children())) == 0]
    return "+".join(leaves) if leaves else type(unit).__name__


def main() -> None:
    for name in NETWORKS:
        data = profile(name)
        (HERE / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
        flops = sum(u["flops"] for u in data["units"])
        print(f"{name}: {len(data['units'])} units, {data['total_params']:,} params, {flops / 1e6:.1f} MFLOPs")


if __name__ == "__main__":
    main()
