"""The benchmark harness: run solvers over a suite, measure gaps to the optimum.

:func:`benchmark` writes one row per (instance, solver, seed) as it goes (CSV), so
an interrupted run resumes where it stopped without redoing or duplicating rows.
Work runs on local processes by default, or on any :class:`concurrent.futures.Executor`
(a Dask cluster's: :mod:`partopt.bench.cluster`); a task is one instance with all its solver
runs, and travels as the instance's JSON dict.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import pickle
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Generator, Iterable, Sequence

import numpy as np

from partopt.api import solve
from partopt.execution import (
    SerialExecutor,
    TaskFailure,
    default_start_method,
    map_unordered,
    process_pool,
    usable_cores,
)
from partopt.files import from_dict
from partopt.generation import generate
from partopt.problem import is_problem
from partopt.progress import Progress
from partopt.registry import is_builtin, register_solver, solver_spec

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from partopt.chain.model import Instance
    from partopt.shared.model import Scenario

__all__ = [
    "ROW_FIELDS",
    "BenchmarkRun",
    "SerialExecutor",
    "benchmark",
    "format_summary",
    "read_rows",
    "summarize",
]

ROW_FIELDS = [
    "instance",
    "point",
    "solver",
    "seed",
    "objective_kind",
    "beta",
    "status",
    "objective",
    "reference",
    "reference_status",
    "gap_pct",
    "total_delay",
    "energy",
    "penalty",
    "deadlines_met",
    "budget_kept",
    "runtime",
    "bound",
    "gap_to_bound_pct",
    "error",
]
OPTIMAL_TOL = 1e-6  # relative: a gap below this counts as exactly optimal


@dataclass
class _Task:
    ident: str
    point: str
    problem: dict  # the instance or scenario as its JSON dict: what travels to a worker
    reference: tuple[str, float, float | None] | None
    runs: list[tuple[str, int]]
    objective: str
    beta: float
    reference_solver: str
    time_limit: float | None
    options: dict
    user_solvers: dict = field(default_factory=dict)


#: problem kind -> the generator and parameters of the tiny problem a solver warms up on.
_TINY: dict[str, tuple[str, dict]] = {
    "chain": ("paper", {}),
    "scenario": ("shared", {"num_tasks": 1, "num_servers": 2}),
    "horizon": ("horizon", {"slots": 2}),
}

#: (solver, problem kind) pairs already run once in this process, untimed (:func:`_warm`).
_WARMED: set[tuple[str, str]] = set()


def _warm(solver: str, instance: Instance | Scenario, options: dict) -> None:
    """Run ``solver`` once, untimed, on a tiny problem of ``instance``'s kind, the first time this
    process meets it: its compiled kernels and imports load then (0.2-0.7 s), not in a timed run."""
    kind = instance.kind
    if (solver, kind) in _WARMED or not is_builtin(solver):  # a user's policy is called only as asked
        return
    _WARMED.add((solver, kind))
    generator, params = _TINY[kind]
    tiny = generate(generator, seed=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):  # a warm-up that fails is redone, and reported, by the timed run
            solve(tiny, solver, time_limit=1.0, **options)


def _run(task: _Task) -> list[dict]:
    for name, fn in task.user_solvers.items():  # a spawned worker does not inherit registrations
        register_solver(name, fn, replace=True)
    instance = from_dict(task.problem)
    if not is_problem(instance):
        raise TypeError(f"task {task.ident}: holds a {type(instance).__name__}, not a problem")
    if task.reference is None:
        name = task.reference_solver
        if solver_spec(name).problem != instance.kind:
            name = instance.default_solver
        ref = solve(instance, name, objective=task.objective, beta=task.beta, time_limit=task.time_limit)
        ref_status, ref_obj, bound = ref.status.value, ref.objective, ref.lower_bound
    else:
        ref_status, ref_obj, bound = task.reference
    rows = []
    for solver, seed in task.runs:
        _warm(solver, instance, task.options.get(solver, {}))
        r = solve(
            instance,
            solver,
            objective=task.objective,
            beta=task.beta,
            seed=seed,
            time_limit=task.time_limit,
            **task.options.get(solver, {}),
        )
        gap = _gap_pct(r.objective, ref_obj)
        ev = r.evaluation
        rows.append(
            {
                "instance": task.ident,
                "point": task.point,
                "solver": solver,
                "seed": seed,
                "objective_kind": task.objective,
                "beta": task.beta,
                "status": r.status.value,
                "objective": r.objective,
                "reference": ref_obj,
                "reference_status": ref_status,
                "gap_pct": gap,
                "total_delay": None if ev is None else ev.total_delay,
                "energy": None if ev is None else ev.energy,
                "penalty": None if ev is None else ev.penalty,
                "deadlines_met": None if ev is None else ev.deadlines_met,
                "budget_kept": None if ev is None else ev.budget_kept,
                "runtime": r.runtime,
                "bound": bound,
                "gap_to_bound_pct": None if bound is None else _gap_pct(r.objective, bound),
                "error": "",
            }
        )
    return rows


def _failed_rows(task: _Task, failure: TaskFailure) -> list[dict]:
    """The rows of a task whose worker was lost twice: status "failed", the reason kept."""
    return [
        {
            **dict.fromkeys(ROW_FIELDS),
            "instance": task.ident,
            "point": task.point,
            "solver": solver,
            "seed": seed,
            "objective_kind": task.objective,
            "beta": task.beta,
            "status": "failed",
            "objective": math.inf,
            "error": failure.reason,
        }
        for solver, seed in task.runs
    ]


def _gap_pct(value: float, reference: float | None) -> float | None:
    """100 (value - reference) / reference where both are finite (0 when the reference is 0)."""
    if reference is None or not (math.isfinite(value) and math.isfinite(reference)):
        return None
    return 100.0 * (value - reference) / reference if reference > 0 else 0.0


@dataclass
class BenchmarkRun:
    """All rows of a benchmark (including resumed ones), their summary and where they are saved."""

    rows: list[dict]
    path: Path | None = None
    new_rows: int = 0
    summary: list[dict] = field(default_factory=list)

    def table(self) -> str:
        """The summary as a text table."""
        return format_summary(self.summary)


def _entries(suite) -> list[tuple[str, str, Instance | Scenario, dict | None]]:
    from partopt.bench.suites import Suite, load_suite

    if isinstance(suite, (str, Path)):
        suite = load_suite(suite)
    out: list[tuple[str, str, Instance | Scenario, dict | None]]
    if isinstance(suite, Suite):
        out = [(e.id, e.point, e.instance, e.reference) for e in suite.entries]
    else:
        out = []
        for k, inst in enumerate(suite):
            if not is_problem(inst):
                raise TypeError(
                    f"suite[{k}]: must be an Instance, Scenario, Horizon or Stream, got {type(inst).__name__}"
                )
            out.append((inst.name or f"instance-{k}", "", inst, None))
    seen: dict[str, int] = {}
    for k, (ident, *_) in enumerate(out):  # rows are keyed by id: two entries of one id would mix
        if ident in seen:
            raise ValueError(f"suite[{k}]: id {ident!r} repeats entry {seen[ident]}; give every instance its own name")
        seen[ident] = k
    return out


def _solver_names(solvers: Sequence[str | Callable]) -> list[str]:
    """The registered names of ``solvers``; callables are registered under their ``__name__``.
    Two solvers of one name (two lambdas, or a callable named like a built-in solver) are
    refused before anything runs: their rows could not be told apart."""
    names: list[str] = []
    callables: dict[str, Callable] = {}
    for k, s in enumerate(solvers):
        if callable(s):
            name = getattr(s, "__name__", "user-policy")
            if name in callables and callables[name] is not s:
                raise ValueError(
                    f"solvers[{k}]: a second solver named {name!r}; give each callable its own "
                    f"__name__ (e.g. def my_policy(instance): ...), or their rows would mix"
                )
            if is_builtin(name):
                raise ValueError(f"solvers[{k}]: {name!r} is a built-in solver's name; rename the callable")
            callables[name] = s
            register_solver(name, s, replace=True)
            s = name
        solver_spec(s)
        if s in names:
            raise ValueError(f"solvers[{k}]: {s!r} is named twice")
        names.append(s)
    return names


def _write_rows(path: Path, rows: list[dict], handle=None) -> None:
    """Replace the rows CSV at ``path`` by ``rows``. Through ``handle`` (the locked file, open for
    update) the file is rewritten in place, a copy kept beside it until the rewrite is done;
    otherwise atomically through a new file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ROW_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    if handle is None:
        os.replace(tmp, path)
        return
    handle.seek(0)
    handle.truncate()
    handle.write(tmp.read_text())
    handle.flush()
    os.fsync(handle.fileno())
    tmp.unlink()


#: Fields every rows CSV has had, whatever its layout version: a file without them is not one.
_ROW_KEYS = ("instance", "solver", "seed", "objective_kind", "beta", "objective")


def check_rows_file(path: Path) -> None:
    """Refuse, untouched, a ``path`` that exists and is not a benchmark rows CSV: not a regular
    file (a folder, a FIFO, a device), or a file whose first line is not a rows header (a user's
    notes, a binary file). An empty file is taken as new."""
    if not path.exists():
        return
    if not path.is_file():
        raise ValueError(f"out: {path} exists and is not a regular file; choose another --out")
    with open(path, "rb") as fh:
        head = fh.readline(64 * 1024)
    if not head:
        return
    try:
        fields = next(csv.reader([head.decode("utf-8-sig").rstrip("\r\n")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        fields = []
    if not all(key in fields for key in _ROW_KEYS):
        raise ValueError(
            f"out: {path} exists and is not a partopt rows CSV (its first line is not the rows "
            f"header); it is left untouched: choose another --out"
        )


def repair_torn_tail(path: Path) -> bool:
    """Cut a last line left unfinished by a killed run (no final newline); True if one was cut.
    Only a rows CSV is touched (:func:`check_rows_file`)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    check_rows_file(path)
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return False
        fh.truncate(data.rfind(b"\n") + 1)
    return True


def read_rows(path: str | os.PathLike) -> list[dict]:
    """Rows of a benchmark CSV with numbers and flags parsed ([] when the file is absent or empty).

    A file that is not a rows CSV, a row with the wrong number of fields, or a second row for
    one (instance, solver, seed, objective, beta), is refused naming the file and line. A
    byte-order mark (a CSV saved by a spreadsheet) is accepted.
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return []
    check_rows_file(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        try:
            rows = list(reader)
        except csv.Error as error:
            raise ValueError(f"out: {path} line {reader.line_num}: {error}; fix or remove the file") from None
    seen = set()
    for line, row in enumerate(rows, start=2):
        if any("\0" in str(v) for v in row.values()):
            raise ValueError(f"out: {path} line {line} holds a NUL byte; fix or remove the file")
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"out: {path} line {line} has the wrong number of fields; fix or remove the file")
        key = (row["instance"], row["solver"], row["seed"], row["objective_kind"], row["beta"])
        if key in seen:
            raise ValueError(f"out: {path} line {line} repeats the row of {key[:3]}; the file was written twice")
        seen.add(key)
    for line, row in enumerate(rows, start=2):
        try:
            row["seed"] = int(row["seed"])
            row["beta"] = float(row["beta"])
            objective = float(row["objective"]) if row.get("objective") not in ("", "None", None) else None
        except ValueError:
            raise ValueError(f"out: {path} line {line}: seed, beta or objective is not a number") from None
        if objective is not None and math.isnan(objective):
            raise ValueError(f"out: {path} line {line}: objective is NaN; fix or remove the row")
    for row in rows:
        for name in (
            "objective",
            "reference",
            "gap_pct",
            "total_delay",
            "energy",
            "penalty",
            "runtime",
            "bound",
            "gap_to_bound_pct",
        ):
            row[name] = float(row[name]) if row.get(name) not in ("", "None", None) else None
        for name in ("deadlines_met", "budget_kept"):
            row[name] = {"True": True, "False": False}.get(row[name])
    return rows


def benchmark(
    suite,
    solvers: Sequence[str | Callable],
    *,
    reference: str = "dp",
    objective: str = "hard",
    beta: float = 1.0,
    seeds: Sequence[int] = (0,),
    out: str | os.PathLike | None = None,
    jobs: int | None = None,
    executor: Executor | None = None,
    time_limit: float | None = None,
    limit: int | None = None,
    options: dict[str, dict] | None = None,
    redo: Sequence[str] = (),
    progress: bool = True,
) -> BenchmarkRun:
    """Run ``solvers`` on every instance of ``suite`` and compare with ``reference``.

    gap_pct = 100 (objective - reference) / reference, where both are finite; for a
    suite with a stored bound, ``gap_to_bound_pct`` likewise against the bound.

    Parameters
    ----------
    suite : str, path, Suite or list of Instance, Scenario, Horizon or Stream
        A suite name (``partopt suite list``), a suite file, a
        :class:`partopt.bench.suites.Suite` or problems of any kind.
    solvers : sequence of str or callable
        Registered names, or callables (a policy ``Instance -> placement`` or a full
        solver), registered under their ``__name__``.
    reference : str
        The solver whose objective the gaps are measured against (default "dp"; a
        suite's stored optimum is used when it has one; a problem of a kind it does not
        solve is measured against its kind's default, exact, solver).
    objective : {"hard", "penalty"}
        As in :func:`partopt.solve`.
    beta : float
        Weight of the deadline penalty under "penalty".
    seeds : sequence of int
        Randomized solvers run once per seed; deterministic ones once, with the first.
    out : str or PathLike, optional
        CSV file written as rows finish; rows already there are kept and not redone
        (a second writer on the same file is refused).
    jobs : int, optional
        Worker processes (default: the available cores).
    executor : concurrent.futures.Executor, optional
        Runs the tasks (one per instance) instead of the default local process pool, e.g.
        a Dask cluster's (:func:`partopt.bench.cluster.connect`). A task whose worker is lost is
        retried once, then its rows are recorded as failed with the reason.
    time_limit : float, optional
        Seconds per solve, for solvers that take one.
    limit : int, optional
        Only the first ``limit`` instances.
    options : dict of str to dict, optional
        Per-solver options, e.g. ``{"milp-ortools": {"backend": "scip"}}``.
    redo : sequence of str
        Solvers whose stored rows are dropped from ``out`` and run again (e.g. a
        retrained policy).
    progress : bool
        Show a progress line on stderr.

    Returns
    -------
    BenchmarkRun
        The rows (one per instance, solver and seed) and where they were written.
    """
    for arg, value, low in (("jobs", jobs, 1), ("limit", limit, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{arg}: must be an int >= {low} (or None), got {value!r}")
    names = _solver_names(solvers)
    entries = _entries(suite)[: limit if limit is not None else None]
    seeds = list(seeds) or [0]
    options = options or {}
    path = Path(out) if out is not None else None
    lock = _lock(path) if path is not None else None
    try:
        return _benchmark(
            names,
            entries,
            path,
            lock,
            reference=reference,
            objective=objective,
            beta=beta,
            seeds=seeds,
            jobs=jobs,
            executor=executor,
            time_limit=time_limit,
            options=options,
            redo=redo,
            progress=progress,
        )
    finally:
        if lock is not None:
            lock.close()


def _lock(path: Path):
    """The rows file itself, opened for update and exclusively locked for the run: a second writer
    is refused, through any name (a symlink or a hard link locks the same file). A path that is
    not a rows CSV is refused untouched (:func:`check_rows_file`)."""
    import fcntl

    check_rows_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", newline="")  # noqa: SIM115 - held, and locked, for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ValueError(f"out: another benchmark is writing {path}; wait for it or use another --out") from None
    return handle


def _benchmark(
    names,
    entries,
    path,
    handle,
    *,
    reference,
    objective,
    beta,
    seeds,
    jobs,
    executor,
    time_limit,
    options,
    redo,
    progress,
) -> BenchmarkRun:
    done_rows = _resumed_rows(path, handle, objective, beta, redo)
    done = {(r["instance"], r["solver"], r["seed"]) for r in done_rows}
    stored_ok = reference == "dp" and (objective == "hard" or float(beta) == 1.0)
    tasks = []
    for ident, point, inst, ref in entries:
        runs = [
            (s, seed)
            for s in names
            for seed in (seeds if solver_spec(s).seeded else seeds[:1])
            if (ident, s, seed) not in done
        ]
        if runs:
            stored = _stored_reference(ref, objective) if stored_ok else None
            tasks.append(
                _Task(
                    ident, point, inst.to_dict(), stored, runs, objective, float(beta), reference, time_limit, options
                )
            )
    new_rows: list[dict] = []
    fh = _open_rows(path, done_rows, handle) if path is not None else None
    writer = csv.DictWriter(fh, fieldnames=ROW_FIELDS) if fh is not None else None
    bar = Progress("bench", len(tasks), enabled=progress and bool(tasks))
    results = _results(executor, jobs, tasks, names)
    try:
        for k, (task, rows) in enumerate(results, start=1):
            if isinstance(rows, TaskFailure):
                print(f"[bench] {task.ident}: {rows.reason}; its rows are recorded as failed", file=sys.stderr)
                rows = _failed_rows(task, rows)
            new_rows.extend(rows)
            if writer is not None and fh is not None:
                writer.writerows(rows)
                fh.flush()
            bar.update(k, f"instances, {len(new_rows)} new rows, {len(done_rows)} resumed")
    finally:
        results.close()
    all_rows = done_rows + new_rows
    return BenchmarkRun(rows=all_rows, path=path, new_rows=len(new_rows), summary=summarize(all_rows))


def _resumed_rows(path: Path | None, handle, objective: str, beta: float, redo: Sequence[str]) -> list[dict]:
    """The rows already in ``path`` (none without one), an unfinished last line cut and the
    ``redo`` solvers' rows dropped (the file rewritten through ``handle``); rows of another
    objective or beta refuse the file."""
    if path is None:
        return []
    if repair_torn_tail(path):
        print(f"[bench] {path}: cut an unfinished last line left by an interrupted run", file=sys.stderr)
    done_rows = read_rows(path)
    if redo and done_rows:
        done_rows = [r for r in done_rows if r["solver"] not in set(redo)]
        _write_rows(path, done_rows, handle)
    if any(r["objective_kind"] != objective or r["beta"] != float(beta) for r in done_rows):
        raise ValueError(f"out: {path} holds rows of another objective or beta; use a new file")
    return done_rows


def _stored_reference(ref: dict | None, objective: str) -> tuple | None:
    """(status, objective, bound) stored with a suite entry for ``objective``, if any."""
    if ref is None or objective not in ref:
        return None
    r = ref[objective]
    return (r["status"], math.inf if r["objective"] is None else r["objective"], r.get("bound"))


#: Tasks timed in this process before a local pool is started; below :data:`POOL_MIN_S` of
#: estimated work left the rest run here too (starting and feeding worker processes would
#: cost more), otherwise each pool submission carries a chunk of about :data:`CHUNK_S` of work.
PROBE_TASKS = 4
POOL_MIN_S = 0.5
CHUNK_S = 0.05


def _run_chunk(tasks: list) -> list[list[dict]]:
    """The rows of each task of a chunk (one submission to a worker)."""
    return [_run(task) for task in tasks]


def _chunks(tasks: list, size: int) -> list[list]:
    return [tasks[k : k + size] for k in range(0, len(tasks), size)]


def _results(executor: Executor | None, jobs: int | None, tasks: list, names: list[str]) -> Generator:
    """(task, rows or TaskFailure) as tasks finish. With no executor given, the first
    :data:`PROBE_TASKS` run here and time the work: what is left runs here too when it is
    small, else in a local pool, in chunks of about :data:`CHUNK_S` of work (at least four
    chunks per worker) so that sub-millisecond solves do not pay a round trip each."""
    size = 1
    if executor is None and jobs != 1 and len(tasks) > PROBE_TASKS:
        start = time.perf_counter()
        for task in tasks[:PROBE_TASKS]:
            yield task, _run(task)
        per_task = (time.perf_counter() - start) / PROBE_TASKS
        tasks = tasks[PROBE_TASKS:]
        if per_task * len(tasks) < POOL_MIN_S:
            jobs = 1
        workers = jobs or usable_cores()
        size = max(1, min(math.ceil(CHUNK_S / max(per_task, 1e-9)), math.ceil(len(tasks) / (4 * workers))))
    pool, in_flight, owned = _executor(executor, jobs, tasks, names)
    finished = False
    try:
        if size == 1:
            yield from map_unordered(pool, _run, tasks, in_flight=in_flight)
        else:
            for chunk, rows in map_unordered(pool, _run_chunk, _chunks(tasks, size), in_flight=in_flight):
                if isinstance(rows, TaskFailure):
                    yield from ((task, rows) for task in chunk)
                else:
                    yield from zip(chunk, rows)
        finished = True
    finally:
        if owned:  # a finished run lets its workers exit; an interrupted one drops what is queued
            pool.shutdown(wait=finished, cancel_futures=True)


def _executor(executor: Executor | None, jobs: int | None, tasks: list, names: list[str]) -> tuple[Executor, int, bool]:
    """(executor, tasks to keep in flight, whether this run owns it). The given executor, or a
    serial one for one task or job, else a local process pool. Workers that do not fork from
    this process get the user's solvers with each task (or the run stays in this process)."""
    owned = executor is None
    in_flight, forked = 256, False  # an outside executor schedules by itself; send it everything
    if executor is None:
        if jobs is None:
            jobs = usable_cores()
        method = default_start_method()
        executor = SerialExecutor() if jobs == 1 or len(tasks) <= 1 else process_pool(jobs, method)
        in_flight, forked = 2 * jobs, method == "fork"
    if not isinstance(executor, SerialExecutor) and not forked:
        user = {n: solver_spec(n).target for n in names if solver_spec(n).kind == "user"}
        try:
            pickle.dumps(user)
        except Exception:  # noqa: BLE001 - e.g. a lambda: run in this process instead
            print("[bench] a user solver cannot be sent to workers; running in this process", file=sys.stderr)
            if owned:
                executor.shutdown(wait=False)
            return SerialExecutor(), 1, True
        for task in tasks:
            task.user_solvers = user
    return executor, in_flight, owned


def _open_rows(path: Path, done_rows: list[dict], handle):
    """The locked rows file ``handle``, ready to append, with a header when new (an older layout's
    rows rewritten first in this one)."""
    fresh = path.stat().st_size == 0
    if not fresh:
        with open(path, newline="", encoding="utf-8-sig") as old:
            if next(csv.reader(old), []) != ROW_FIELDS:  # rows of an older layout: rewrite them in this one
                _write_rows(path, done_rows, handle)
    handle.seek(0, os.SEEK_END)
    if fresh:
        csv.DictWriter(handle, fieldnames=ROW_FIELDS).writeheader()
    return handle


def summarize(rows: Iterable[dict]) -> list[dict]:
    """Per solver: gap statistics over rows where both it and the reference are feasible,
    % exactly optimal, % feasible, counts of violated / infeasible answers, mean runtime."""
    by_solver: dict[str, list[dict]] = {}
    for r in rows:
        by_solver.setdefault(r["solver"], []).append(r)
    out = []
    for solver, rs in by_solver.items():
        gaps = np.array([r["gap_pct"] for r in rs if r["gap_pct"] is not None], dtype=float)
        feasible_ref = [r for r in rs if r["reference"] is not None and math.isfinite(r["reference"])]
        optimal = [r for r in feasible_ref if r["gap_pct"] is not None and r["gap_pct"] <= 100 * OPTIMAL_TOL]
        feasible = [r for r in rs if r["status"] in ("optimal", "feasible")]
        out.append(
            {
                "solver": solver,
                "rows": len(rs),
                "mean_gap_pct": float(gaps.mean()) if gaps.size else None,
                "median_gap_pct": float(np.median(gaps)) if gaps.size else None,
                "p95_gap_pct": float(np.percentile(gaps, 95)) if gaps.size else None,
                "max_gap_pct": float(gaps.max()) if gaps.size else None,
                "optimal_pct": 100.0 * len(optimal) / len(feasible_ref) if feasible_ref else None,
                "feasible_pct": 100.0 * len(feasible) / len(rs),
                "violated": sum(r["status"] == "violated" for r in rs),
                "infeasible": sum(r["status"] == "infeasible" for r in rs),
                "mean_runtime_ms": 1e3 * float(np.mean([r["runtime"] for r in rs])),
            }
        )
    return out


def format_summary(summary: list[dict]) -> str:
    """A fixed-width text table of :func:`summarize`'s output."""
    cols = [
        ("solver", "solver", "{}"),
        ("rows", "rows", "{}"),
        ("mean_gap_pct", "mean gap %", "{:.3f}"),
        ("median_gap_pct", "median %", "{:.3f}"),
        ("p95_gap_pct", "p95 %", "{:.3f}"),
        ("max_gap_pct", "max %", "{:.3f}"),
        ("optimal_pct", "optimal %", "{:.1f}"),
        ("feasible_pct", "feasible %", "{:.1f}"),
        ("violated", "violated", "{}"),
        ("infeasible", "infeasible", "{}"),
        ("mean_runtime_ms", "time ms", "{:.3f}"),
    ]
    table = [[title for _, title, _ in cols]]
    for s in summary:
        table.append(["-" if s[key] is None else fmt.format(s[key]) for key, _, fmt in cols])
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    lines = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
