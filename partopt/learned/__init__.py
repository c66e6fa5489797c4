"""Learned solvers: the environment, the networks, the agents and their trainers.

Importing this package registers the environment ``partopt/BlockPlacement-v0``
with gymnasium; torch is imported only by the modules that build networks.
"""

from gymnasium.envs.registration import register, registry

ENV_ID = "partopt/BlockPlacement-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="partopt.learned.env:BlockPlacementEnv")

__all__ = ["ENV_ID"]
