"""Solvers for the shared edge (model Part II): exact CP-SAT and MILP, and heuristics.

Every solver here takes a :class:`~partopt.shared.model.Scenario` and returns a
:class:`~partopt.result.SolverOutput` with one placement per task and, where it
builds one, a schedule (``start_s``); without one, the placement is priced under
FIFO dispatch.
"""
