"""One chain alone (model Part I): the :class:`Instance` and its data, costs, evaluation,
generators and solvers (exact DP and MILP, heuristics, brute force).

Its modules: ``model`` (Block, Device, Server, Instance), ``costs`` (the cost tensors of
every move), ``evaluation`` (:func:`evaluate_chain`), ``generators`` (``paper``, ``dil``,
``random``, ``mobile``), ``kernels`` (compiled-speed chain DP), ``solvers``.
"""

from partopt.chain.evaluation import Evaluation, evaluate_chain
from partopt.chain.model import Block, Device, Instance, Server, validate_placement

__all__ = ["Block", "Device", "Evaluation", "Instance", "Server", "evaluate_chain", "validate_placement"]
