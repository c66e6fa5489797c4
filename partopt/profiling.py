"""Profiles of any PyTorch model: :func:`profile` cuts a traced model into units and counts each.

**Units.** The model is traced by ``torch.fx`` into a graph of operations in execution order.
A *cut point* follows an operation where exactly one value computed so far is still needed
later (weights fetched from the module are constants, not values in flight): every path from
the input to the output crosses it, and one tensor crosses with it, which is what a chain
placement can send to another location. Units are the segments between cut points: a plain
convolution stack is cut after every operation, while a residual block, an Inception module
or a transformer layer (whose branches keep two values alive) is one unit.

**Counts per unit.** ``counted_flops``: ``torch.utils.flop_counter`` (convolutions, matrix
products, attention; 2 per multiply-accumulate), so that the units add up to torch's count of
the whole model. ``elementwise_flops``, counted here: 1 per output element of each
activation, addition, multiplication and pooling, 2 per element of each normalization;
reshapes, views, concatenations and indexing cost nothing. ``flops`` is their sum (what a
block's cycles are made of). Parameters go to the first unit that uses them (shared ones are
counted once; the units add up to ``sum(p.numel())`` when every parameter is used). The
output tensor's shape, elements and bytes at its dtype.

**Measured times** (``measure=True``): each unit runs on its own (warm-up, then the median of
``repeats`` runs, on ``threads`` threads), within ``time_cap_s`` in all; the sum of the units'
times is compared with one whole forward pass (``measured_ratio``). torch is imported only
here, when a profile is made.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from typing import Any

from partopt.profiles import DNNProfile, Unit

__all__ = ["ELEMENTWISE_FUNCTIONS", "ELEMENTWISE_MODULES", "ProfileError", "profile", "torchvision_models"]


class ProfileError(ValueError):
    """A model that cannot be profiled, with the reason (untraceable, a failing forward, ...).

    Parameters
    ----------
    message : str
        What is wrong and, where it helps, what to do.
    """


#: Module types whose element-wise work is counted (per output element): name -> weight.
ELEMENTWISE_MODULES = {
    "ReLU": 1,
    "ReLU6": 1,
    "GELU": 1,
    "SiLU": 1,
    "Sigmoid": 1,
    "Tanh": 1,
    "Hardswish": 1,
    "Hardsigmoid": 1,
    "LeakyReLU": 1,
    "ELU": 1,
    "Softmax": 1,
    "MaxPool2d": 1,
    "AvgPool2d": 1,
    "AdaptiveAvgPool2d": 1,
    "AdaptiveMaxPool2d": 1,
    "BatchNorm1d": 2,
    "BatchNorm2d": 2,
    "LayerNorm": 2,
    "GroupNorm": 2,
}
#: Function and method names whose element-wise work is counted (per output element).
ELEMENTWISE_FUNCTIONS = {
    "relu": 1,
    "relu_": 1,
    "gelu": 1,
    "silu": 1,
    "sigmoid": 1,
    "tanh": 1,
    "hardswish": 1,
    "softmax": 1,
    "add": 1,
    "add_": 1,
    "iadd": 1,
    "mul": 1,
    "mul_": 1,
    "sub": 1,
    "truediv": 1,
    "div": 1,
    "max_pool2d": 1,
    "avg_pool2d": 1,
    "adaptive_avg_pool2d": 1,
    "mean": 1,
    "layer_norm": 2,
    "batch_norm": 2,
}


def torchvision_models():
    """``torchvision.models``, importing only its Python model definitions.

    torchvision's compiled operators (detection ops) are not needed to build and trace the
    classification models, and a torchvision wheel built for another torch cannot load them;
    the package's ``__init__`` (which registers them) is skipped.
    """
    import importlib.util
    import types
    import warnings

    if "torchvision.models" in sys.modules:
        return sys.modules["torchvision.models"]
    spec = importlib.util.find_spec("torchvision")
    if spec is None:
        raise ImportError('torchvision is needed for its models: pip install "partopt[profiles]"')
    if "torchvision" not in sys.modules:
        package = types.ModuleType("torchvision")
        package.__path__ = list(spec.submodule_search_locations or [])
        package.__spec__ = spec
        sys.modules["torchvision"] = package
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torchvision.models as models
    return models


def _torch():
    try:
        import torch
        import torch.fx  # noqa: F401 - the tracer
    except ImportError as error:
        raise ImportError('partopt.profile needs torch; install it with pip install "partopt[learned]"') from error
    return torch


def _trace(model, example_input):
    """The model traced by torch.fx with every value's shape, after checking its forward."""
    torch = _torch()
    from torch.fx.passes.shape_prop import ShapeProp

    if not isinstance(model, torch.nn.Module):
        raise ProfileError(f"model: must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(example_input, torch.Tensor):
        raise ProfileError(f"example_input: must be one torch.Tensor (batch first), got {type(example_input).__name__}")
    model.eval()
    with torch.no_grad():
        try:
            out = model(example_input)
        except Exception as error:  # noqa: BLE001 - any failure of the user's forward is reported as such
            raise ProfileError(
                f"model: its forward fails on the example input of shape "
                f"{tuple(example_input.shape)}: {type(error).__name__}: {error}"
            ) from None
    if not isinstance(out, torch.Tensor):
        raise ProfileError(f"model: its output must be one tensor (a chain's result), got {type(out).__name__}")
    try:
        graph_module = torch.fx.symbolic_trace(model)
    except Exception as error:  # noqa: BLE001 - tracing fails in many ways; each is the same verdict
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ProfileError(
            f"model: cannot be traced by torch.fx ({type(error).__name__}: {first}); a forward with "
            f"data-dependent control flow (an if or a loop on a tensor's values) cannot be cut "
            f"into a chain"
        ) from None
    with torch.no_grad():
        ShapeProp(graph_module).propagate(example_input)
    return graph_module


def _cuts(nodes) -> list[int]:
    """Indices of the nodes after which exactly one computed value is alive (the cut points)."""
    index = {node: i for i, node in enumerate(nodes)}
    last_use = {node: max((index[u] for u in node.users), default=index[node]) for node in nodes}
    cuts = []
    alive: set = set()
    for i, node in enumerate(nodes[:-1]):  # the output node closes the last unit
        if node.op != "get_attr":
            alive.add(node)
        alive = {n for n in alive if last_use[n] > i}
        meta = node.meta.get("tensor_meta")
        if node.op != "placeholder" and alive == {node} and hasattr(meta, "shape") and nodes[i + 1].op != "output":
            cuts.append(i)
    return cuts


def _unit_modules(graph_module, nodes: list, unit_of: dict, cuts: list[int]) -> list:
    """One GraphModule per unit, taking the tensor that crosses its cut (the model's input for the
    first) and returning the one crossing the next; constants (``get_attr``) are fetched inside."""
    import torch.fx

    ends = [nodes[i] for i in cuts] + [nodes[-1].args[0]]
    entering = next(n for n in nodes if n.op == "placeholder")
    parts = []
    for u, last in enumerate(ends):
        graph = torch.fx.Graph()
        env = {entering: graph.placeholder("x")}

        def arg(node, graph=graph, env=env):
            if node not in env and node.op == "get_attr":
                env[node] = graph.get_attr(node.target)
            return env[node]

        for node in nodes:
            if unit_of[node] == u and node.op not in ("placeholder", "output", "get_attr"):
                env[node] = graph.node_copy(node, arg)
        graph.output(env[last])
        parts.append(torch.fx.GraphModule(graph_module, graph))
        entering = last
    return parts


def _elementwise(node, modules: dict, numel: int) -> int:
    """The element-wise work of one graph node (see the module docstring)."""
    if node.op == "call_module":
        return ELEMENTWISE_MODULES.get(type(modules[node.target]).__name__, 0) * numel
    if node.op in ("call_function", "call_method"):
        name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
        return ELEMENTWISE_FUNCTIONS.get(name, 0) * numel
    return 0


def _median_time(fn, x, repeats: int, deadline: float) -> float:
    """The median wall-clock time of ``fn(x)`` (s) over ``repeats`` runs after two warm-ups, fewer
    (at least one) when ``deadline`` (a ``time.perf_counter()``) passes."""
    for _ in range(2):
        fn(x)
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - begin)
        if time.perf_counter() > deadline:
            break
    return statistics.median(times)


def _machine(threads: int) -> dict[str, Any]:
    torch = _torch()
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def profile(
    model,
    example_input,
    *,
    name: str | None = None,
    measure: bool = False,
    repeats: int = 20,
    threads: int = 1,
    time_cap_s: float = 120.0,
    progress: bool | None = None,
) -> DNNProfile:
    """Profile a PyTorch model as a chain of units (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        Any model ``torch.fx`` can trace, with one tensor in and one tensor out.
    example_input : torch.Tensor
        An input of the shape the model runs on, batch first (batch 1 for one inference).
    name : str, optional
        The profile's name (default: the model's class name).
    measure : bool
        Time each unit on this machine (and the whole model, for the ratio).
    repeats : int
        Timed runs per unit (the median is kept).
    threads : int
        torch threads while measuring.
    time_cap_s : float
        Seconds measuring may take in all; later units get fewer runs (at least one).
    progress : bool, optional
        Show a line per unit while measuring on stderr (default: for more than 20 units).

    Returns
    -------
    DNNProfile
        Units with FLOPs, parameters, output tensors (and times), ``partopt.profile/2``.

    Raises
    ------
    ProfileError
        The model cannot be traced, its forward fails on the input, or its output is not one tensor.
    """
    torch = _torch()
    _check_options(repeats, threads, time_cap_s)
    graph_module = _trace(model, example_input)
    nodes = list(graph_module.graph.nodes)
    if sum(n.op == "placeholder" for n in nodes) != 1:
        raise ProfileError("model: its forward must take exactly one tensor")
    cuts = _cuts(nodes)
    unit_of = _units_of(nodes, cuts)
    parts = _unit_modules(graph_module, nodes, unit_of, cuts)
    modules = dict(graph_module.named_modules())
    seen: set[int] = set()
    units, x = [], example_input
    show = len(parts) > 20 if progress is None else bool(progress)
    deadline = time.perf_counter() + float(time_cap_s)
    old_threads = torch.get_num_threads()
    try:
        if measure:
            torch.set_num_threads(threads)
        with torch.no_grad():
            for u, part in enumerate(parts):
                members = [n for n in nodes if unit_of[n] == u and n.op not in ("placeholder", "output")]
                entering = nodes[cuts[u - 1]] if u else next(n for n in nodes if n.op == "placeholder")
                timing = (repeats, deadline) if measure else None
                record, x = _unit(
                    part, x, u, members, _has_branches(members, entering, unit_of, u), modules, seen, timing
                )
                units.append(record)
                if show and record.time_s is not None:
                    print(
                        f"[profile] unit {u + 1}/{len(parts)} {record.name}: {record.time_s * 1e3:.3f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
            whole = _median_time(model, example_input, repeats, deadline + time_cap_s) if measure else None
    finally:
        torch.set_num_threads(old_threads)
    return DNNProfile(
        network=name or type(model).__name__,
        definition=f"{type(model).__module__}.{type(model).__name__}",
        input_elements=int(example_input[0].numel()),
        bits_per_element=8 * example_input.element_size(),
        total_params=sum(p.numel() for p in model.parameters()),
        units=tuple(units),
        input_shape=tuple(example_input.shape[1:]),
        cut_points=len(cuts),
        machine=_machine(threads) if measure else None,
        whole_time_s=whole,
    )


def _check_options(repeats, threads, time_cap_s) -> None:
    """:func:`profile`'s measuring options, refused by name when not usable."""
    for field, value, low in (("repeats", repeats, 1), ("threads", threads, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ProfileError(f"{field}: must be an int >= {low}, got {value!r}")
    if isinstance(time_cap_s, bool) or not isinstance(time_cap_s, (int, float)) or not time_cap_s > 0:
        raise ProfileError(f"time_cap_s: must be > 0 seconds, got {time_cap_s!r}")


def _units_of(nodes: list, cuts: list[int]) -> dict:
    """Each graph node's unit: a new unit starts after each cut node."""
    unit_of, unit = {}, 0
    for i, node in enumerate(nodes):
        unit_of[node] = unit
        if i in cuts:
            unit += 1
    return unit_of


def _unit(part, x, u: int, members: list, branches: bool, modules: dict, seen: set[int], timing) -> tuple[Unit, Any]:
    """Unit ``u`` (the module ``part`` over graph nodes ``members``) run on its input ``x``: its
    record and its output. Its parameters not in ``seen`` (ids, updated) are counted; with
    ``timing`` (repeats, deadline as a perf_counter) it is timed too."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        out = part(x)
    params = 0
    for p in part.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            params += p.numel()
    elementwise = sum(_elementwise(n, modules, _numel(n)) for n in members)
    counted = int(counter.get_total_flops())
    record = Unit(
        name=_unit_name(members, u),
        kind=_unit_kind(members, modules),
        stage=u,
        macs=counted // 2,
        flops=counted + elementwise,
        params=params,
        output_elements=int(out.numel()),
        output_shape=tuple(out.shape[1:]),
        counted_flops=counted,
        elementwise_flops=elementwise,
        time_s=None if timing is None else _median_time(part, x, *timing),
        branches=branches,
        output_bytes=int(out.numel() * out.element_size()),
    )
    return record, out


def _numel(node) -> int:
    meta = node.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    if shape is None:
        return 0
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


#: Operations that only read a tensor's shape (no work, no branch).
_SHAPE_OPS = {"getattr", "size", "dim", "_assert", "eq", "ne", "_assert_async"}


def _is_shape_query(node) -> bool:
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    return node.op in ("call_function", "call_method") and name in _SHAPE_OPS


def _has_branches(members, entering, unit_of: dict, u: int) -> bool:
    """Whether the value entering the unit, or one inside it, feeds two operations of the unit that
    do work (shape queries do not count): parallel paths that a chain cannot place apart."""
    return any(
        sum(unit_of.get(user) == u and not _is_shape_query(user) for user in n.users) > 1
        for n in [entering, *members]
        if not _is_shape_query(n)
    )


def _unit_name(members, u: int) -> str:
    """A unit's name: its first and last operations (their graph names), or u<index>."""
    calls = [n.name for n in members if n.op != "get_attr" and not _is_shape_query(n)]
    if not calls:
        return f"u{u}"
    return calls[0] if len(calls) == 1 else f"{calls[0]}..{calls[-1]}"


def _unit_kind(members, modules: dict) -> str:
    """The unit's operation types, in order, repeats merged (e.g. Conv2d+BatchNorm2d+ReLU)."""
    kinds: list[str] = []
    for n in members:
        if _is_shape_query(n):
            continue
        if n.op == "call_module":
            kind = type(modules[n.target]).__name__
        elif n.op in ("call_function", "call_method"):
            kind = n.target if isinstance(n.target, str) else getattr(n.target, "__name__", "op")
        else:
            continue
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return "+".join(kinds[:6]) + ("+..." if len(kinds) > 6 else "") if kinds else "identity"
