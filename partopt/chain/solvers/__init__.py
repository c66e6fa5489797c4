"""Exact and heuristic solvers of one chain. Each module is imported only when its solver is
used (see :mod:`partopt.registry`); import them directly to reach their helpers."""
