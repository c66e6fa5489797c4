"""Networks (torch): one trunk, M actor heads and a critic; a joint-action head; Q heads.

A policy knows nothing about training; it maps features to logits (or Q-values).
Every network is built from a small ``spec`` dict saved in its checkpoint.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["MultiHeadNet", "JointNet", "net_spec", "build_net", "count_parameters"]


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
            raise ValueError(f"a3c: the joint action space (N+1)^M = {locations}^{blocks} = {actions:,} is over "
                             f"{self.MAX_ACTIONS:,}; use mt-a3c, whose heads grow as M (N+1)")
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
    return {"kind": kind, "inputs": feature_size(m, n), "blocks": m, "locations": n + 1, "hidden": list(hidden),
            "critic": critic}


def build_net(spec: dict) -> Any:
    """The network described by ``spec`` (kind, inputs, blocks, locations, hidden, critic)."""
    cls = {"multi-head": MultiHeadNet, "joint": JointNet}[spec["kind"]]
    return cls(spec["inputs"], spec["blocks"], spec["locations"], list(spec["hidden"]), spec.get("critic", True))


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
