"""Learned solvers: the environment, the networks, the agents and their trainers.

Importing this package registers the environment ``partopt/BlockPlacement-v0``
with gymnasium; torch is imported only by the modules that build networks.
"""

from gymnasium.envs.registration import register, registry

ENV_ID = "partopt/BlockPlacement-v0"

if ENV_ID not in registry:
    # 600 slots per episode, the source paper's horizon (BlockPlacementEnv's own default too).
    register(id=ENV_ID, entry_point="partopt.learned.env:BlockPlacementEnv", max_episode_steps=600)

__all__ = ["ENV_ID"]
