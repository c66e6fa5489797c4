"""Learned solvers: the environment, the networks, the agents and their trainers.

Importing this package registers the environments ``partopt/BlockPlacement-v0`` (one chain per
slot) and ``partopt/SharedEdge-v0`` (a shared-edge stream, one task per step) with gymnasium;
torch is imported only by the modules that build networks.
"""

from gymnasium.envs.registration import register, registry

ENV_ID = "partopt/BlockPlacement-v0"
SHARED_ENV_ID = "partopt/SharedEdge-v0"

if ENV_ID not in registry:
    # 600 slots per episode, the source paper's horizon (BlockPlacementEnv's own default too).
    register(id=ENV_ID, entry_point="partopt.learned.env:BlockPlacementEnv", max_episode_steps=600)

if SHARED_ENV_ID not in registry:
    # An episode is one stream; it ends after the stream's last task.
    register(id=SHARED_ENV_ID, entry_point="partopt.learned.shared_env:SharedEdgeEnv")

__all__ = ["ENV_ID", "SHARED_ENV_ID"]
