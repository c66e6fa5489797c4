"""Networks (torch): one trunk, M actor heads and a critic; a joint-action head; Q heads; the shape-free chain net.

A policy knows nothing about training; it maps features to logits (or Q-values).
Every network is built from a small ``spec`` dict saved in its checkpoint.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "CHAIN_INPUTS",
    "ChainNet",
    "JointNet",
    "MultiHeadNet",
    "as_tensors",
    "build_net",
    "count_parameters",
    "net_spec",
]


def _mlp(inputs: int, hidden: list[int]) -> tuple[nn.Sequential, int]:
    layers, width = [], inputs
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers), width


class MultiHeadNet(nn.Module):
    """Shared hidden layers (the paper's soft parameter sharing), one head per block over
    its N+1 locations, and one scalar head (critic value, or unused).

    forward(x) -> (logits (B, M, N+1), value (B,)). Used by mt-a3c (actor heads +
    critic), by DQN (heads give Q-values per block) and by imitation (heads give class
    logits; the value head is unused).
    """

    def __init__(self, inputs: int, blocks: int, locations: int, hidden: list[int], critic: bool = True):
        super().__init__()
        self.trunk, width = _mlp(inputs, hidden)
        self.blocks, self.locations = blocks, locations
        self.actor = nn.Linear(width, blocks * locations)
        self.critic = nn.Linear(width, 1) if critic else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.trunk(x)
        logits = self.actor(h).view(-1, self.blocks, self.locations)
        value = self.critic(h).squeeze(-1) if self.critic is not None else None
        return logits, value


class JointNet(nn.Module):
    """Plain A3C: one softmax over all (N+1)^M joint placements, and a critic.

    forward(x) -> (logits (B, (N+1)^M), value (B,)). Practical only while (N+1)^M
    stays small: at M = 6, N = 4 (15,625 outputs, 4.1 million parameters) it trained
    about 45x fewer slots per second than mt-a3c and was still 71% from the optimum
    after 5 minutes (``bench/results/learned.md``; 29% with the entropy bonus at 0.01);
    refused above 100,000 outputs.
    """

    MAX_ACTIONS = 100_000

    def __init__(self, inputs: int, blocks: int, locations: int, hidden: list[int], critic: bool = True):
        super().__init__()
        actions = locations**blocks
        if actions > self.MAX_ACTIONS:
            raise ValueError(
                f"a3c: the joint action space (N+1)^M = {locations}^{blocks} = {actions:,} is over "
                f"{self.MAX_ACTIONS:,}; use mt-a3c, whose heads grow as M (N+1)"
            )
        self.trunk, width = _mlp(inputs, hidden)
        self.blocks, self.locations = blocks, locations
        self.actor = nn.Linear(width, actions)
        self.critic = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.actor(h), self.critic(h).squeeze(-1)

    def decode(self, joint: torch.Tensor) -> torch.Tensor:
        """Joint action indices (B,) -> placements (B, M), block 0 the most significant digit."""
        out = []
        rest = joint.clone()
        for _ in range(self.blocks):
            out.append(rest % self.locations)
            rest = rest // self.locations
        return torch.stack(out[::-1], dim=1)

    def encode(self, placements: torch.Tensor) -> torch.Tensor:
        """Placements (B, M) -> joint action indices (B,)."""
        idx = torch.zeros(placements.shape[0], dtype=torch.long)
        for m in range(self.blocks):
            idx = idx * self.locations + placements[:, m]
        return idx


def net_spec(kind: str, shape: tuple[int, int], hidden, critic: bool = True) -> dict:
    """The spec of a ``kind`` network ("multi-head" or "joint") for instances of ``shape`` (M, N)."""
    from partopt.learned.features import feature_size

    m, n = shape
    return {
        "kind": kind,
        "inputs": feature_size(m, n),
        "blocks": m,
        "locations": n + 1,
        "hidden": list(hidden),
        "critic": critic,
    }


def build_net(spec: dict) -> Any:
    """The network described by ``spec``: kind "chain" with its width, or kind "multi-head" / "joint"
    with inputs, blocks, locations, hidden and critic."""
    if spec["kind"] == "chain":
        return ChainNet(int(spec["width"]))
    cls = {"multi-head": MultiHeadNet, "joint": JointNet}[spec["kind"]]
    return cls(spec["inputs"], spec["blocks"], spec["locations"], list(spec["hidden"]), spec.get("critic", True))


def check_weights_fit(spec: dict, state_dict: dict) -> None:
    """Refuse a ``spec`` whose network's weights are not exactly ``state_dict``'s names and shapes,
    before any memory is spent on it: the network is built on torch's ``meta`` device (shapes
    only), so a small file whose spec declares a huge layer costs nothing (it allocated 1.7 GiB)."""
    try:
        with torch.device("meta"):
            net = build_net(spec)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"its network spec cannot be built ({type(error).__name__}: {str(error)[:120]})") from None
    declared = {name: tuple(t.shape) for name, t in net.state_dict().items()}
    stored = {name: tuple(t.shape) for name, t in state_dict.items() if isinstance(t, torch.Tensor)}
    if declared.keys() != stored.keys():
        missing, extra = sorted(declared.keys() - stored.keys()), sorted(stored.keys() - declared.keys())
        raise ValueError(f"its weights do not match its network spec (missing {missing[:3]}, unexpected {extra[:3]})")
    wrong = [(name, declared[name], stored[name]) for name in declared if declared[name] != stored[name]]
    if wrong:
        name, want, got = wrong[0]
        raise ValueError(f"its weight {name!r} has shape {got}, its network spec declares {want}")


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


#: The fields of :class:`~partopt.learned.features.ChainFeatures`, in order: a ChainNet's inputs.
CHAIN_INPUTS = ("blocks", "locations", "unary", "moves", "context")


def as_tensors(features) -> dict[str, torch.Tensor]:
    """A ChainNet's input dict from :class:`~partopt.learned.features.ChainFeatures`."""
    return {k: torch.from_numpy(np.ascontiguousarray(getattr(features, k))) for k in CHAIN_INPUTS}


class ChainNet(nn.Module):
    """A policy for chains of any length M on any number of servers N (the shape-free policy).

    What is the source paper's MT-A3C: a shared trunk, one decision head per block (here one
    head whose weights all blocks share, so that M is free), an actor (logits over the
    block's locations) and a critic (a scalar value of the state). What is new:

    - inputs are :class:`~partopt.learned.features.ChainFeatures`, per block, per location,
      per (block, location) and per move, instead of one flat vector of a fixed length;
    - a pointer-style head scores each location from that location's own embedding, so N is
      free;
    - a bidirectional GRU along the chain gives each block a context of the blocks before
      and after it;
    - block m's head also sees where block m - 1 went (the move's features), so a decision
      follows the previous one: pi(a_m | a_{m-1}, X), decoded block by block.

    forward(features, previous) -> (logits (B, M, L), value (B,)) for ``previous`` (B, M)
    locations of blocks m - 1 (0, the device, for m = 0); :meth:`move_logits` gives the
    logits of every previous location at once, (B, M, L, L).
    """

    def __init__(
        self,
        width: int = 64,
        blocks_in: int = 7,
        locations_in: int = 4,
        unary_in: int = 2,
        moves_in: int = 5,
        context_in: int = 3,
    ):
        super().__init__()
        self.width = width
        self.block = nn.Linear(blocks_in, width)
        self.location = nn.Linear(locations_in, width)
        self.unary = nn.Linear(unary_in, width)
        self.context = nn.Linear(context_in, width)
        self.cell = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
        self.chain = nn.GRU(2 * width, width, batch_first=True, bidirectional=True)
        self.along = nn.Linear(2 * width, width)
        self.across = nn.Linear(width, width)
        self.here = nn.Linear(width, width)
        self.before = nn.Linear(width, width, bias=False)
        self.move = nn.Linear(moves_in, width)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))
        self.critic = nn.Sequential(nn.Linear(3 * width, width), nn.ReLU(), nn.Linear(width, 1))

    def _trunk(self, x: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(per (block, location) terms (B, M, L, W), previous-location terms (B, M, L, W),
        critic input (B, 3W))."""
        glob = self.context(x["context"])[:, None, None, :]
        cell = self.cell(
            self.block(x["blocks"])[:, :, None, :]
            + self.location(x["locations"])[:, None, :, :]
            + self.unary(x["unary"])
            + glob
        )  # (B, M, L, W)
        summary = torch.cat([cell.mean(dim=2), cell.amax(dim=2)], dim=2)  # (B, M, 2W)
        along, _ = self.chain(summary)
        along = self.along(along)  # (B, M, W)
        across = self.across(cell.mean(dim=1))  # (B, L, W): each location over the whole chain
        terms = self.here(cell) + along[:, :, None, :] + across[:, None, :, :]
        before = self.before(torch.cat([torch.zeros_like(cell[:, :1]), cell[:, :-1]], dim=1))  # block m-1's cells
        critic_in = torch.cat([along.mean(dim=1), across.mean(dim=1), glob[:, 0, 0, :]], dim=1)
        return terms, before, critic_in

    def forward(self, x: dict, previous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        terms, before, critic_in = self._trunk(x)
        moves = x["moves"]  # (B, M, L, L, F)
        idx = previous[:, :, None, None, None].expand(-1, -1, 1, moves.shape[3], moves.shape[4])
        chosen = moves.gather(2, idx)[:, :, 0]  # (B, M, L, F): the moves from each block's previous location
        came = before.gather(2, previous[:, :, None, None].expand(-1, -1, 1, before.shape[3]))  # (B, M, 1, W)
        logits = self.head(terms + came + self.move(chosen)).squeeze(-1)
        return logits, self.critic(critic_in).squeeze(-1)

    def move_logits(self, x: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of every (previous, next) location pair, (B, M, L, L), and the value (B,)."""
        terms, before, critic_in = self._trunk(x)
        logits = self.head(terms[:, :, None] + before[:, :, :, None] + self.move(x["moves"])).squeeze(-1)
        return logits, self.critic(critic_in).squeeze(-1)
