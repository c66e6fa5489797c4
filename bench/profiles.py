"""Profiles of real networks by ``partopt.profile``, and the nine shipped profiles made again.

    python bench/profiles.py            # a few minutes on 2 cores -> results/profiles.md

For each network (the nine shipped profiles' definitions, from
``instances/profiles/make_profiles.py``, plus GoogLeNet and a vision transformer from
torchvision): the units and cut points the traced graph gives, the share of the FLOPs in the
largest unit (and whether its work is in parallel branches), the measured time of the units
summed against one whole forward pass (batch 1, one thread, median of ``REPEATS``), and, for
the shipped ones, the new path's parameter and FLOP totals against the stored profile's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from _common import RESULTS, bench_parser, header

import partopt
from partopt.profiling import torchvision_models

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "instances" / "profiles"))
import make_profiles

REPEATS = 10


def _extra():
    tv = torchvision_models()
    return {
        "googlenet-224": (lambda: tv.googlenet(aux_logits=False, init_weights=False), (3, 224, 224)),
        "vit_b_16-224": (lambda: tv.vit_b_16(), (3, 224, 224)),
    }


def main() -> None:
    rows = []
    networks = {
        name: (lambda b=build: b()[0], make_profiles.INPUTS[name])
        for name, (build, _, _) in make_profiles.NETWORKS.items()
    }
    networks.update(_extra())
    for name, (build, shape) in networks.items():
        torch.manual_seed(0)
        model = build().eval()
        prof = partopt.profile(
            model, torch.randn(1, *shape), name=name, measure=True, repeats=REPEATS, threads=1, progress=False
        )
        big = max(prof.units, key=lambda u: u.flops)
        shipped = partopt.load_profile(name) if name in partopt.profiles.list_profiles() else None
        compare = (
            "-"
            if shipped is None
            else (f"{prof.total_params == shipped.total_params} / {prof.total_flops / shipped.total_flops:.4f}")
        )
        rows.append(
            [
                name,
                str(len(prof.units)),
                str(prof.cut_points),
                f"{prof.total_flops / 1e9:.3f}",
                f"{100 * prof.largest_unit_share():.1f}" + (" (branches)" if big.branches else ""),
                f"{sum(u.time_s for u in prof.units) * 1e3:.2f}",
                f"{prof.whole_time_s * 1e3:.2f}",
                f"{prof.measured_ratio:.2f}",
                compare,
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    table = [
        "| network | units | cut points | GFLOPs | largest unit % of FLOPs | units' ms summed | whole pass ms "
        "| ratio | shipped: params equal / FLOPs ratio |",
        "|" + "---|" * 9,
    ]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    report = RESULTS / "profiles.md"
    report.write_text(
        header("Profiles of real networks by partopt.profile")
        + f"""
Each network traced by `torch.fx` and cut where exactly one tensor is alive (`partopt/profiling.py`,
`docs/model.md`); batch 1, random weights; times are medians of {REPEATS} runs on one thread.

{chr(10).join(table)}

- **Units.** The nine shipped profiles were written by hand with coarser units (a convolution,
  its normalization and its activation as one unit); the traced graph cuts between them too,
  so it finds more units. Residual blocks (ResNet, MobileNetV2's inverted residuals), Inception
  modules and transformer layers each stay one unit, as their branches keep two tensors alive.
- **FLOPs.** The new path counts convolutions and matrix products with torch's flop counter
  (2 per multiply-accumulate, biases not counted) and element-wise work apart (1 per element of
  an activation, addition or pooling, 2 per normalized element); the shipped profiles count
  biases and a pooling window per output element. The totals differ by the ratio in the last
  column; parameter totals are equal.
- **Ratio.** The units' measured times summed over one whole forward pass: each unit runs on
  its own, so the sum carries a unit's call overhead once per unit and loses the whole pass's
  cache reuse across units; a ratio far from 1 says the chain's block times, taken from these
  measurements, are off by about that factor in total.
"""
    )
    print(f"wrote {report}")


if __name__ == "__main__":
    bench_parser(__doc__).parse_args()
    main()
