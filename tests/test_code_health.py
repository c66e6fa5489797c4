"""Code health: no import cycles, no private names across modules, lint-clean, documented public API."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import shutil
import subprocess
from pathlib import Path

import pytest

import partopt

ROOT = Path(partopt.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _runtime_imports(tree: ast.AST):
    """Import statements that run (at module level or inside functions), skipping ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child
            stack.append(child)


def _resolve(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known) -> list[tuple[str, str | None]]:
    """(imported partopt module, imported name or None) for each name of an import statement."""
    if isinstance(node, ast.Import):
        return [(a.name, None) for a in node.names if a.name in known]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    out: list[tuple[str, str | None]] = []
    for alias in node.names:
        if f"{source}.{alias.name}" in known:
            out.append((f"{source}.{alias.name}", None))
        elif source in known:
            out.append((source, alias.name))
    return out


def _import_graph():
    known = _modules()
    graph, private = {}, []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = set()
        for node in _runtime_imports(tree):
            for target, imported in _resolve(name, path.name == "__init__.py", node, known):
                if target != name:
                    deps.add(target)
                if imported and imported.startswith("_") and not imported.startswith("__"):
                    private.append(f"{name} imports {target}.{imported}")
        graph[name] = deps
    return graph, private


#: The layers, lowest first: a module imports only from its own layer or the ones below (lazy
#: imports included; the core reaches the kinds only through the "module:attribute" catalogues
#: of partopt.problem, partopt.generation and partopt.registry). Kinds of one layer do not
#: import each other.
LAYERS = (("core",), ("chain",), ("shared", "horizon"), ("stream",), ("learned",), ("bench",), ("top",))


def _layer(module: str) -> tuple[int, str]:
    """(layer index, group) of a partopt module."""
    parts = module.split(".")
    if module in ("partopt", "partopt.cli", "partopt.suites", "partopt.cluster"):
        group = "top"  # the public names, the CLI and the documented module names of bench tooling
    elif len(parts) > 2 or (len(parts) == 2 and (ROOT / parts[1]).is_dir()):
        group = parts[1]
    else:
        group = "core"
    return next(i for i, layer in enumerate(LAYERS) if group in layer), group


def test_layers_import_downward_only():
    """The core imports no problem kind, a kind nothing above it, the learned solvers no
    experiment tooling; the kinds form the layers of LAYERS (the stream builds on the shared edge)."""
    graph, _ = _import_graph()
    assert {_layer(m)[1] for m in graph} >= {"core", "chain", "shared", "horizon", "stream", "learned", "bench", "top"}
    upward = []
    for module, deps in sorted(graph.items()):
        level, group = _layer(module)
        for dep in sorted(deps):
            dep_level, dep_group = _layer(dep)
            if dep_level > level or (dep_level == level and dep_group != group):
                upward.append(f"{module} -> {dep}")
    assert not upward, upward


def test_no_import_cycles():
    """No module imports, directly or through others, a module that imports it (lazy imports included)."""
    graph, _ = _import_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, path):
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_no_private_names_across_modules():
    _, private = _import_graph()
    assert not private, private


#: The longest function body a reader is asked to hold (lines, its docstring excluded). Compiled
#: loops are exempt: numba compiles one function, and splitting its hot loop costs calls.
MAX_FUNCTION_LINES = 60


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    first = (
        body[1]
        if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        else body[0]
    )
    return (node.end_lineno or node.lineno) - first.lineno + 1


def test_functions_are_short_enough_to_hold():
    long = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            compiled = any("njit" in ast.unparse(d) for d in node.decorator_list)
            if not compiled and _body_lines(node) > MAX_FUNCTION_LINES:
                long.append(f"{name}.{node.name}: {_body_lines(node)} lines")
    assert not long, long


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the [test] extra")
def test_ruff_clean():
    """The configured rules (imports, naming, complexity, private access) pass on the package."""
    proc = subprocess.run(["ruff", "check", str(ROOT)], capture_output=True, text=True, cwd=ROOT.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _public():
    for name in partopt.__all__:
        yield name, getattr(partopt, name)


@pytest.mark.parametrize(
    "name,obj", [(n, o) for n, o in _public() if inspect.isfunction(o) or (callable(o) and not inspect.isclass(o))]
)
def test_public_functions_have_numpydoc(name, obj):
    doc = inspect.getdoc(obj) or ""
    params = [p for p in inspect.signature(obj).parameters]
    if params:
        assert "Parameters\n----------" in doc, f"{name}: no Parameters section"
        for p in params:
            assert p.lstrip("*") in doc, f"{name}: parameter {p} undocumented"
    returns = inspect.signature(obj).return_annotation
    if returns not in (None, "None", inspect.Signature.empty):
        assert "Returns\n-------" in doc, f"{name}: no Returns section"


@pytest.mark.parametrize("name,obj", [(n, o) for n, o in _public() if inspect.isclass(o)])
def test_public_classes_have_numpydoc(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert "Parameters\n----------" in doc or "Attributes\n----------" in doc, f"{name}: no Parameters/Attributes"
    if dataclasses.is_dataclass(obj):
        missing = [f.name for f in dataclasses.fields(obj) if f.name not in doc]
        assert not missing, f"{name}: fields not documented: {missing}"


def test_every_bench_script_answers_help_before_it_runs():
    """Every bench script builds its command line with ``bench_parser`` (its ``--help`` the
    script's docstring), so ``python bench/X.py --help`` is answered, not taken for a run that
    overwrites a result file (two scripts without a parser once did)."""
    bench = ROOT.parent / "bench"
    if not bench.is_dir():
        pytest.skip("bench/ is not next to the package (an installed copy)")
    for path in sorted(bench.glob("*.py")):
        if path.name.startswith("_"):
            continue
        tree = ast.parse(path.read_text())
        main_block = [
            node
            for node in tree.body
            if isinstance(node, ast.If)
            and "__name__" in ast.unparse(node.test)
            and "__main__" in ast.unparse(node.test)
        ]
        assert main_block, f"{path.name}: no `if __name__ == '__main__':` block"
        calls = {
            ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        assert calls & {"bench_parser", "learned_bench_parser"}, f"{path.name}: parses no command line"
        assert "__doc__" in path.read_text(), f"{path.name}: its help is not its docstring"
