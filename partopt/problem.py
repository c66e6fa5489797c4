"""What every problem kind offers the core: the :class:`Problem` protocol, the catalogue of
kinds and file formats, and :func:`evaluate`, the one cost function.

A problem kind lives in its own subpackage (``partopt.chain`` for one chain, model Part I;
``partopt.shared`` for the shared edge, Part II; ``partopt.horizon`` for a horizon of slots,
Part III; ``partopt.stream`` for a stream decided online, Part IV). Its problem type carries a
``kind`` tag and the name of its default solver; the core (the front door, file I/O, results,
the harness) asks the problem rather than testing its type, and finds each kind's type,
placement check, evaluation and file format through :data:`KINDS`, :data:`VALIDATORS`,
:data:`EVALUATORS` and :data:`FORMATS`, whose entries are ``"module:attribute"`` strings
imported on first use. A new kind adds its entries here and nothing else in the core changes.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Sequence, TypeAlias, overload, runtime_checkable

if TYPE_CHECKING:
    from partopt.chain.evaluation import Evaluation
    from partopt.chain.model import Instance
    from partopt.horizon.evaluation import HorizonEvaluation
    from partopt.horizon.model import Horizon
    from partopt.shared.evaluation import ScenarioEvaluation
    from partopt.shared.model import Scenario
    from partopt.stream.evaluation import StreamEvaluation
    from partopt.stream.model import Stream

__all__ = [
    "EVALUATORS",
    "FORMATS",
    "KINDS",
    "VALIDATORS",
    "AnyEvaluation",
    "Problem",
    "evaluate",
    "format_type",
    "is_problem",
    "load_target",
    "problem_types",
    "validate_placement",
]

#: Any problem kind's evaluation.
AnyEvaluation: TypeAlias = "Evaluation | ScenarioEvaluation | HorizonEvaluation | StreamEvaluation"

#: problem kind -> its type, as "module:attribute".
KINDS: dict[str, str] = {
    "chain": "partopt.chain.model:Instance",
    "scenario": "partopt.shared.model:Scenario",
    "horizon": "partopt.horizon.model:Horizon",
    "stream": "partopt.stream.model:Stream",
}

#: problem kind -> its placement check, ``fn(problem, placement)`` returning the placement as
#: tuples of ints, as "module:attribute".
VALIDATORS: dict[str, str] = {
    "chain": "partopt.chain.model:validate_placement",
    "scenario": "partopt.shared.model:validate_scenario_placement",
    "horizon": "partopt.horizon.model:validate_horizon_placement",
    "stream": "partopt.stream.model:validate_stream_placement",
}

#: problem kind -> its evaluation, ``fn(problem, placement, start_s=None)``, as "module:attribute".
EVALUATORS: dict[str, str] = {
    "chain": "partopt.chain.evaluation:evaluate_chain",
    "scenario": "partopt.shared.evaluation:evaluate_scenario",
    "horizon": "partopt.horizon.evaluation:evaluate_horizon",
    "stream": "partopt.stream.evaluation:evaluate_stream",
}

#: file format tag -> the type it reads into, as "module:attribute" (every type has ``from_dict``
#: and ``to_dict``).
FORMATS: dict[str, str] = {
    "partopt.instance/1": "partopt.chain.model:Instance",
    "partopt.scenario/1": "partopt.shared.model:Scenario",
    "partopt.solution/1": "partopt.result:Solution",
    "partopt.horizon/1": "partopt.horizon.model:Horizon",
    "partopt.stream/1": "partopt.stream.model:Stream",
}


@runtime_checkable
class Problem(Protocol):
    """A problem partopt solves: one chain, a shared-edge scenario, a horizon of slots, a stream.

    Attributes
    ----------
    kind : str
        Its key in :data:`KINDS` ("chain", "scenario", "horizon", "stream"); solvers are registered for one kind.
    default_solver : str
        The registered solver :func:`partopt.solve` runs when none is named (an exact one; for a
        stream, decided online, an online policy).
    scheduled : bool
        Whether a solution carries start times besides its placement (scenarios, streams).
    """

    kind: ClassVar[str]
    default_solver: ClassVar[str]
    scheduled: ClassVar[bool]

    def to_dict(self) -> dict[str, Any]:
        """Its JSON object, with the ``format`` tag."""
        ...


def validate_placement(instance: Problem, placement: Any) -> tuple:
    """Check that ``placement`` is a placement of ``instance`` and return it as tuples of ints.

    Parameters
    ----------
    instance : Instance, Scenario, Horizon or Stream
        The problem the placement is for.
    placement : sequence
        For an instance, one location per block (0 the device, 1..N a server); for a scenario
        or a stream, one such list per task; for a horizon, one per slot.

    Returns
    -------
    tuple
        The placement as (nested) tuples of ints.

    Raises
    ------
    InstanceError, InstanceTypeError
        Naming the entry that is wrong, e.g. ``placement[3]`` or ``placement[1][2]``.
    """
    if not is_problem(instance):
        raise TypeError(f"instance: must be an Instance, Scenario, Horizon or Stream, got {type(instance).__name__}")
    return load_target(VALIDATORS[instance.kind])(instance, placement)


@functools.cache
def load_target(target: str) -> Any:
    """The attribute that a ``"module:attribute"`` string names, imported on first use (then remembered)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def problem_types() -> tuple[type[Problem], ...]:
    """The type of every problem kind, in :data:`KINDS` order (imports them)."""
    return tuple(load_target(target) for target in KINDS.values())


def format_type(tag: str) -> Any:
    """The type a file with format ``tag`` reads into (a KeyError for an unknown tag)."""
    return load_target(FORMATS[tag])


def is_problem(obj: Any) -> bool:
    """Whether ``obj`` is a problem of a known kind (not a solution, a path or anything else)."""
    return isinstance(obj, problem_types())


@overload
def evaluate(instance: Instance, placement: Sequence, start_s: None = None) -> Evaluation: ...
@overload
def evaluate(instance: Scenario, placement: Sequence, start_s: Sequence | None = None) -> ScenarioEvaluation: ...
@overload
def evaluate(instance: Horizon, placement: Sequence, start_s: None = None) -> HorizonEvaluation: ...
@overload
def evaluate(instance: Stream, placement: Sequence, start_s: Sequence | None = None) -> StreamEvaluation: ...
@overload
def evaluate(instance: Problem, placement: Sequence, start_s: Sequence | None = None) -> AnyEvaluation: ...


def evaluate(instance, placement, start_s=None):
    """The exact cost of ``placement`` on ``instance``: delays, energy, penalty and flags.

    This is the single source of cost in partopt: solvers' objectives, the
    environment's reward and the benchmarks all come from it.

    Parameters
    ----------
    instance : Instance, Scenario, Horizon or Stream
        One chain (Part I), a shared-edge scenario (Part II), a horizon of slots (Part III) or a
        stream decided online (Part IV).
    placement : sequence
        For an instance, one location per block (0 the device, 1..N a server); for a
        scenario, one such list per task; for a horizon, one per slot.
    start_s : sequence of sequences of float, optional
        Scenarios and streams only: every block's start time (s). None schedules the placement by
        FIFO dispatch; a given schedule is checked, and its problems reported.

    Returns
    -------
    Evaluation, ScenarioEvaluation, HorizonEvaluation or StreamEvaluation
    """
    if not is_problem(instance):
        raise TypeError(f"instance: must be an Instance, Scenario, Horizon or Stream, got {type(instance).__name__}")
    return load_target(EVALUATORS[instance.kind])(instance, placement, start_s)
