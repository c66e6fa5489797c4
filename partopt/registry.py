"""Solvers found by name; each is imported only when it is first used.

A registered solver is a callable ``fn(instance, objective, *, time_limit, seed,
**options) -> SolverOutput``. ``register_solver`` also takes a plain *policy*, a
callable from an :class:`~partopt.chain.model.Instance` to a placement, and wraps it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from typing import Callable

from partopt.names import did_you_mean
from partopt.result import SolverOutput

__all__ = ["SolverSpec", "get_solver", "is_builtin", "list_solvers", "register_solver", "solver_spec"]


@dataclass(frozen=True)
class SolverSpec:
    """A registered solver: ``target`` is a callable or a lazy "module:attribute" string.

    kind: "exact", "heuristic", "learned" or "user"; requires: the optional
    packages it imports (named in the error when they are missing); problem: what it
    solves, "chain" (a Part I :class:`~partopt.chain.model.Instance`), "scenario" (a
    Part II :class:`~partopt.shared.model.Scenario`) or "horizon" (a Part III
    :class:`~partopt.horizon.model.Horizon`).
    """

    name: str
    target: str | Callable
    kind: str
    description: str
    requires: tuple[str, ...] = ()
    seeded: bool = False
    problem: str = "chain"


PROBLEMS = ("chain", "scenario", "horizon")
#: The package extra that installs each optional dependency.
EXTRAS = {"ortools": "milp", "pulp": "milp", "torch": "learned", "gymnasium": "learned"}
_REGISTRY: dict[str, SolverSpec] = {}
_LOADED: dict[str, Callable] = {}


def _builtin(name, target, kind, description, requires=(), seeded=False, problem="chain"):
    _REGISTRY[name] = SolverSpec(name, target, kind, description, tuple(requires), seeded, problem)


_S = "partopt.chain.solvers"
_L = "partopt.learned.solvers"
_TORCH = ("torch", "gymnasium")
_builtin("dp", f"{_S}.dp:solve_dp", "exact", "dynamic program over the chain; labels for energy budgets")
_builtin(
    "milp-ortools",
    f"{_S}.milp_ortools:solve_milp_ortools",
    "exact",
    "MILP through OR-Tools (SCIP via MathOpt, or CP-SAT)",
    ("ortools",),
)
_builtin("milp-pulp", f"{_S}.milp_pulp:solve_milp_pulp", "exact", "MILP through PuLP (CBC or HiGHS)", ("pulp",))
_builtin("brute-force", f"{_S}.brute_force:solve_brute_force", "exact", "enumerates all (N+1)^M placements")
_builtin("greedy", f"{_S}.heuristics:solve_greedy", "heuristic", "each block to the location of least own delay")
_builtin("apdi", f"{_S}.heuristics:solve_apdi", "heuristic", "average partitioning: N equal contiguous groups")
_builtin("rpdi", f"{_S}.heuristics:solve_rpdi", "heuristic", "random partitioning (seeded)", seeded=True)
_builtin("all-device", f"{_S}.heuristics:solve_all_device", "heuristic", "every block on the device")
_builtin("all-edge", f"{_S}.heuristics:solve_all_edge", "heuristic", "every block on the best single server")
_builtin(
    "single-split",
    f"{_S}.heuristics:solve_single_split",
    "heuristic",
    "device prefix, the rest on one server: the best such split",
)
_builtin(
    "local-search",
    f"{_S}.local_search:solve_local_search",
    "heuristic",
    "single-block moves from a start placement until none helps",
)
_E = "partopt.shared.solvers"
_builtin(
    "shared-exact",
    f"{_E}.portfolio:solve_shared_exact",
    "exact",
    "shared edge: the default; the branch and bound, then CP-SAT from its schedule (best of both)",
    ("ortools",),
    problem="scenario",
)
_builtin(
    "shared-cpsat",
    f"{_E}.cpsat:solve_shared_cpsat",
    "exact",
    "shared edge: CP-SAT with optional intervals and no-overlap (proves optimality)",
    ("ortools",),
    problem="scenario",
)
_builtin(
    "shared-milp",
    f"{_E}.milp:solve_shared_milp",
    "exact",
    "shared edge: disjunctive MILP through OR-Tools MathOpt (SCIP), a second opinion on small cases",
    ("ortools",),
    problem="scenario",
)
_builtin(
    "shared-bnb",
    f"{_E}.bnb:solve_shared_bnb",
    "exact",
    "shared edge: branch and bound over schedules in continuous time (no grid), with dominance; small K",
    problem="scenario",
)
_builtin(
    "shared-greedy",
    f"{_E}.heuristics:solve_shared_greedy",
    "heuristic",
    "shared edge: the paper's greedy, each block to the least-loaded server",
    problem="scenario",
)
_builtin(
    "earliest-finish",
    f"{_E}.heuristics:solve_earliest_finish",
    "heuristic",
    "shared edge: tasks in release order, each by a DP that knows when every resource is free",
    problem="scenario",
)
_builtin(
    "shared-local-search",
    f"{_E}.heuristics:solve_shared_local_search",
    "heuristic",
    "shared edge: single-block moves under FIFO dispatch from the earliest-finish placement",
    problem="scenario",
)
_builtin(
    "shared-order-search",
    f"{_E}.orders:solve_shared_order_search",
    "heuristic",
    "shared edge: block order and placement changed together (record-to-record travel), from the local search",
    problem="scenario",
)
_builtin(
    "as-if-alone",
    f"{_E}.heuristics:solve_as_if_alone",
    "heuristic",
    "shared edge: each task's single-chain optimum (DP), then FIFO dispatch",
    problem="scenario",
)
_H = "partopt.horizon.solvers"
_builtin(
    "horizon-exact",
    f"{_H}:solve_horizon_exact",
    "exact",
    "horizon: offline optimum, exact merge of the slots' Pareto fronts (Lagrangian bound beside)",
    problem="horizon",
)
_builtin(
    "horizon-myopic",
    f"{_H}:solve_horizon_myopic",
    "heuristic",
    "horizon, online: each slot's own optimum within the energy left",
    problem="horizon",
)
_builtin(
    "horizon-fair",
    f"{_H}:solve_horizon_fair",
    "heuristic",
    "horizon, online: each slot's optimum within E^r(t) / slots left",
    problem="horizon",
)
_builtin(
    "horizon-lyapunov",
    f"{_H}:solve_horizon_lyapunov",
    "heuristic",
    "horizon, online: drift-plus-penalty with a virtual energy queue (option V)",
    problem="horizon",
)
_builtin(
    "horizon-learned",
    f"{_L}:solve_horizon_learned",
    "learned",
    "horizon, online: a trained policy (option agent) with E^r(t)/E^max in its state",
    _TORCH,
    problem="horizon",
)
_O = "partopt.stream.solvers"
for _name, _desc in (
    ("local", "at each arrival: every block on its device"),
    ("greedy-load", "at each arrival: the paper's greedy by load, each block to the server free earliest"),
    ("earliest-finish", "at each arrival: the earliest-finish DP against the resources' free times"),
    ("gap-filling", "at each arrival: earliest-finish into the idle gaps between commitments"),
    ("lyapunov", "at each arrival: drift-plus-penalty over the batteries (option V, s/J on an empty battery)"),
    (
        "rolling-horizon",
        "at each epoch's end: its tasks placed together by a scenario solver (options batch_s, window_solver, "
        "epoch_limit)",
    ),
):
    _builtin(
        f"online-{_name}",
        f"{_O}:solve_online_{_name.replace('-', '_')}",
        "heuristic",
        f"stream, online {_desc}",
        problem="stream",
    )
_builtin(
    "online-learned",
    "partopt.learned.online:solve_online_learned",
    "learned",
    "stream, online at each arrival: priced DP with prices learned in partopt/SharedEdge-v0 (option policy)",
    ("gymnasium",),
    problem="stream",
)
_builtin("mt-a3c", f"{_L}:solve_mt_a3c", "learned", "multi-task A3C policy (trained checkpoint)", _TORCH, True)
_builtin("a3c", f"{_L}:solve_a3c", "learned", "plain A3C policy over the joint action (checkpoint)", _TORCH, True)
_builtin("dqn", f"{_L}:solve_dqn", "learned", "distributed DQN policy (checkpoint)", _TORCH, True)
_builtin("imitation", f"{_L}:solve_imitation", "learned", "imitation of DP optima (checkpoint)", _TORCH, True)
_builtin("distilled", f"{_L}:solve_distilled", "learned", "distilled student of the imitation teacher", _TORCH, True)
_builtin(
    "shared-learned",
    "partopt.learned.dispatch:solve_shared_learned",
    "learned",
    "shared edge: tasks in release order, a learned congestion price per server, then the DP",
    _TORCH,
    problem="scenario",
)
_builtin(
    "shared-learned-search",
    "partopt.learned.dispatch:solve_shared_learned_search",
    "learned",
    "shared edge: shared-learned's schedule, then the order search from it (block order and placement)",
    _TORCH,
    problem="scenario",
)
_builtin(
    "shape-free",
    f"{_L}:solve_shape_free",
    "learned",
    "one policy for M = 3..18 blocks, N = 2..9 servers (chain net, imitation of DP optima)",
    _TORCH,
    True,
)


def list_solvers(kind: str | None = None, problem: str | None = None) -> list[str]:
    """Names of the registered solvers.

    Parameters
    ----------
    kind : {"exact", "heuristic", "learned", "user"}, optional
        Only solvers of this kind.
    problem : {"chain", "scenario"}, optional
        Only solvers of one chain alone (Part I) or of shared-edge scenarios (Part II).

    Returns
    -------
    list of str
        In registration order.
    """
    return [
        n
        for n, s in _REGISTRY.items()
        if (kind is None or s.kind == kind) and (problem is None or s.problem == problem)
    ]


def solver_spec(name: str) -> SolverSpec:
    """The :class:`SolverSpec` of ``name``; unknown names get a "did you mean"."""
    if name not in _REGISTRY:
        raise ValueError(
            f"solver: unknown name {name!r}; available: {', '.join(_REGISTRY)}." + did_you_mean(name, _REGISTRY)
        )
    return _REGISTRY[name]


def install_hint(what: str, needs: tuple[str, ...], missing: str) -> str:
    """ "``what`` needs ``needs`` (missing: ...); install it with ...", naming the extra that has them."""
    extra = EXTRAS.get(needs[0] if needs else missing)
    command = f'pip install "partopt[{extra}]"' if extra else f"pip install {missing}"
    return f"{what} needs {', '.join(needs) or missing} (missing: {missing}); install it with {command}"


def require(packages: tuple[str, ...], what: str) -> None:
    """Refuse, with the install hint, when a package ``what`` needs is not installed (checked
    without importing it)."""
    absent = [pkg for pkg in packages if importlib.util.find_spec(pkg) is None]
    if absent:
        raise ImportError(install_hint(what, packages, absent[0]))


def get_solver(name: str) -> Callable:
    """The solver callable of ``name``, importing its module on first use."""
    spec = solver_spec(name)
    if name in _LOADED:
        return _LOADED[name]
    if callable(spec.target):
        fn = spec.target
    else:
        module, attr = spec.target.split(":")
        require(spec.requires, f"solver {name!r}")  # a solver may import them only when it runs
        try:
            fn = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as error:
            raise ImportError(install_hint(f"solver {name!r}", spec.requires, error.name or "a dependency")) from error
    _LOADED[name] = fn
    return fn


def _is_policy(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "objective" not in params and not any(p.kind == p.VAR_KEYWORD for p in params.values())


class PolicySolver:
    """A policy ``Instance -> placement`` as a solver (picklable when the policy is)."""

    def __init__(self, policy: Callable):
        self.policy = policy
        self.__doc__ = getattr(policy, "__doc__", None)

    def __call__(self, instance, objective, *, time_limit=None, seed=None, **options) -> SolverOutput:
        return SolverOutput(placement=self.policy(instance))


def is_builtin(name: str) -> bool:
    """Whether ``name`` is one of partopt's own solvers (not one registered by a user)."""
    spec = _REGISTRY.get(name)
    return spec is not None and isinstance(spec.target, str)


def register_solver(
    name: str, solver: Callable, *, description: str = "", replace: bool = False, problem: str = "chain"
) -> None:
    """Register ``solver`` under ``name`` so that :func:`partopt.solve` and the benchmark can use it.

    Parameters
    ----------
    name : str
        The name to solve with.
    solver : callable
        A full solver ``fn(instance, objective, *, time_limit, seed, **options) ->
        SolverOutput`` or a policy ``fn(instance) -> placement`` (anything whose
        signature has no ``objective`` parameter and no ``**kwargs``).
    description : str
        One line for ``partopt list`` (default: the solver's docstring).
    replace : bool
        Allow replacing a solver registered earlier under ``name``.
    problem : {"chain", "scenario"}
        "chain" for Part I instances, "scenario" for shared-edge scenarios.

    Raises
    ------
    ValueError
        A taken name (without ``replace``), an empty name or an unknown problem.
    TypeError
        ``solver`` is not callable.
    """
    if problem not in PROBLEMS:
        raise ValueError(f"problem: must be one of {PROBLEMS}, got {problem!r}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: must be a non-empty string, got {name!r}")
    if not callable(solver):
        raise TypeError(f"solver: must be callable, got {type(solver).__name__}")
    if name in _REGISTRY and not replace:
        raise ValueError(f"name: {name!r} is already registered; pass replace=True to override it")
    if _is_policy(solver):
        solver = PolicySolver(solver)
    _REGISTRY[name] = SolverSpec(
        name, solver, "user", description or getattr(solver, "__doc__", "") or "", problem=problem
    )
    _LOADED.pop(name, None)


def unregister_solver(name: str) -> None:
    """Remove a user-registered solver.

    Parameters
    ----------
    name : str
        A name given to :func:`register_solver`.

    Raises
    ------
    ValueError
        An unknown name, or a built-in solver.
    """
    if solver_spec(name).kind != "user":
        raise ValueError(f"name: {name!r} is built in and cannot be removed")
    _REGISTRY.pop(name)
    _LOADED.pop(name, None)
