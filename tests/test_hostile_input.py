"""Hostile input: malformed instances and scenarios end in an error naming the field, never another exception."""

from __future__ import annotations

import contextlib
import json
import math

from helpers import bound_of, placement_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import partopt
from partopt.fields import InstanceError, InstanceTypeError
from partopt.files import from_dict

NAMED = (InstanceError, InstanceTypeError)

hostile = st.one_of(
    st.none(),
    st.booleans(),
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
    st.just(10**400),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just([0.0] * 100_000),
)


def _leaves(doc, path=()):
    """Every (path, value) of a JSON document, containers included."""
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _leaves(value, (*path, i))


def _mutated(doc, data):
    doc = json.loads(json.dumps(doc))
    paths = [p for p, _ in _leaves(doc) if p]
    path = data.draw(st.sampled_from(paths))
    target = doc
    for key in path[:-1]:
        target = target[key]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "delete":
        del target[path[-1]]
    elif action == "add" and isinstance(target, dict):
        target[data.draw(st.sampled_from(["extra", "cycles", "device", "deadline_s"]))] = data.draw(hostile)
    else:
        target[path[-1]] = data.draw(hostile)
    return doc


def _check(doc):
    try:
        obj = from_dict(doc)
    except NAMED as error:
        assert isinstance(error.field, str)
        assert len(str(error)) < 600, "messages quote values shortened"
        return
    assert isinstance(obj, (partopt.Instance, partopt.Scenario))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100), data=st.data())
def test_malformed_instance_gets_a_named_field_error(seed, data):
    """Any one-field corruption of a valid instance is refused naming a field, or still valid."""
    _check(_mutated(partopt.generate("random", seed=seed).to_dict(), data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100), data=st.data())
def test_malformed_scenario_gets_a_named_field_error(seed, data):
    """Any one-field corruption of a valid scenario is refused naming a field, or still valid."""
    doc = partopt.generate("shared", seed=seed, num_tasks=3, num_servers=2, task_deadline_s=1.0).to_dict()
    _check(_mutated(doc, data))


@settings(max_examples=100, deadline=None)
@given(blob=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_naming_the_file(tmp_path_factory, blob):
    """Random bytes as a file: a named refusal, never a decode error or a traceback of another kind."""
    path = tmp_path_factory.mktemp("hostile") / "x.json"
    path.write_bytes(blob)
    with contextlib.suppress(*NAMED):
        partopt.read(path)


# ----------------------------------------------------------- results files are sacred
import os  # noqa: E402 - kept with the tests that use it
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402


def _small_suite():
    return [partopt.generate("paper", seed=s).replace(name=f"i{s}") for s in range(3)]


@pytest.mark.parametrize("content", [b"my notes\nline two\n", bytes(range(256)) * 4, b"a,b,c\n1,2", b"\xef\xbb\xbf"])
def test_out_that_is_not_a_rows_csv_is_refused_untouched(tmp_path, content):
    """A user's notes, a binary file, another CSV (torn, so it would have been "repaired"): refused,
    byte for byte unchanged, through the API and the CLI."""
    out = tmp_path / "notes.csv"
    out.write_bytes(content)
    with pytest.raises(ValueError, match="not a partopt rows CSV"):
        partopt.benchmark(_small_suite(), ["greedy"], out=out, progress=False)
    assert out.read_bytes() == content
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "partopt.cli",
            "bench",
            "paper-default-v1",
            "--solvers",
            "greedy",
            "--limit",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert cli.returncode == 2 and "not a partopt rows CSV" in cli.stderr
    assert out.read_bytes() == content


def test_out_that_is_a_folder_or_fifo_is_refused(tmp_path):
    """Not a regular file: refused before it is opened (a FIFO would hang the run)."""
    folder = tmp_path / "rows.csv"
    folder.mkdir()
    with pytest.raises(ValueError, match="not a regular file"):
        partopt.benchmark(_small_suite(), ["greedy"], out=folder, progress=False)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        partopt.benchmark(_small_suite(), ["greedy"], out=fifo, progress=False)


def test_aliases_of_one_rows_file_serialize(tmp_path):
    """The lock is on the file, not its name: a symlink or a hard link to a file being written is
    refused while the first writer holds it."""
    from partopt.bench.harness import _lock

    out = tmp_path / "rows.csv"
    held = _lock(out)
    try:
        (tmp_path / "soft.csv").symlink_to(out)
        os.link(out, tmp_path / "hard.csv")
        for alias in ("soft.csv", "hard.csv"):
            with pytest.raises(ValueError, match="another benchmark is writing"):
                partopt.benchmark(_small_suite(), ["greedy"], out=tmp_path / alias, progress=False)
    finally:
        held.close()
    run = partopt.benchmark(_small_suite(), ["greedy"], out=tmp_path / "hard.csv", progress=False)
    assert run.new_rows == 3 and len(partopt.bench.harness.read_rows(out)) == 3  # one file, seen through both names


def test_duplicate_ids_and_solver_names_are_refused_before_any_row(tmp_path):
    """Two instances of one id, or two callables of one name, would mix their rows: refused, and
    nothing is written."""
    out = tmp_path / "rows.csv"
    inst = partopt.generate("paper", seed=0).replace(name="same")
    with pytest.raises(ValueError, match="repeats entry"):
        partopt.benchmark([inst, inst], ["greedy"], out=out, progress=False)
    with pytest.raises(ValueError, match="second solver named"):
        partopt.benchmark(
            _small_suite(), [lambda i: [0] * i.num_blocks, lambda i: [1] * i.num_blocks], out=out, progress=False
        )

    def greedy(instance):
        return [0] * instance.num_blocks

    with pytest.raises(ValueError, match="built-in solver"):
        partopt.benchmark(_small_suite(), [greedy], out=out, progress=False)
    with pytest.raises(ValueError, match="named twice"):
        partopt.benchmark(_small_suite(), ["greedy", "greedy"], out=out, progress=False)
    assert not out.exists() or out.stat().st_size == 0


def test_rows_saved_with_a_bom_are_read(tmp_path):
    """A rows CSV saved by a spreadsheet (UTF-8 with a byte-order mark) is read and resumed."""
    out = tmp_path / "rows.csv"
    partopt.benchmark(_small_suite(), ["greedy"], out=out, progress=False)
    out.write_bytes(b"\xef\xbb\xbf" + out.read_bytes())
    assert len(partopt.bench.harness.read_rows(str(out))) == 3
    assert partopt.benchmark(_small_suite(), ["greedy"], out=out, progress=False).new_rows == 0


def test_cli_bench_without_out_writes_a_new_file_here_and_never_resumes(tmp_path):
    """`partopt bench SUITE` without --out: a new file in the working directory, named in the
    output; a second run makes another file instead of appending to the first."""
    cmd = [
        sys.executable,
        "-m",
        "partopt.cli",
        "bench",
        "paper-default-v1",
        "--solvers",
        "greedy",
        "--limit",
        "2",
        "--quiet",
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "rows: paper-default-v1.csv" in first.stdout and "rows: paper-default-v1-2.csv" in second.stdout
    assert "reused" not in second.stdout
    resumed = subprocess.run([*cmd, "--out", "paper-default-v1.csv"], capture_output=True, text=True, cwd=tmp_path)
    assert "2 reused from paper-default-v1.csv" in resumed.stdout


# ----------------------------------------------------------- schedules that must not pass as valid
def test_huge_start_times_are_refused_naming_the_field():
    """start_s = 1e300 (where a block's duration vanishes in rounding, so overlaps hide) is refused,
    naming the entry; so is a release or a backlog past MAX_TIME_S."""
    from partopt.formulas import MAX_TIME_S

    sc = partopt.generate("shared", seed=0, num_tasks=2)
    res = partopt.solve(sc, "earliest-finish")
    assert res.start_s is not None
    with pytest.raises(InstanceError, match=r"start_s\[0\]\[0\]: must be at most"):
        partopt.evaluate(sc, placement_of(res), [[1e300] * len(r) for r in res.start_s])
    doc = sc.to_dict()
    doc["tasks"][1]["release_s"] = 2 * MAX_TIME_S
    with pytest.raises(InstanceError, match=r"tasks\[1\].release_s: must be at most"):
        from_dict(doc)


def test_a_block_started_early_late_in_time_is_caught():
    """The schedule check's tolerance is absolute (1 ns): 0.5 ms early at t = 9e5 s is a problem."""
    sc = partopt.generate("shared", seed=0, num_tasks=2)
    doc = sc.to_dict()
    for task in doc["tasks"]:
        task["release_s"] += 9e5
    late = from_dict(doc)
    res = partopt.solve(late, "earliest-finish")
    assert res.start_s is not None
    start = [list(r) for r in res.start_s]
    assert partopt.evaluate(late, placement_of(res), start).valid
    start[0][1] -= 5e-4
    ev = partopt.evaluate(late, placement_of(res), start)
    assert not ev.valid and "0.0005 s before its input is ready" in ev.problems[0]


def test_derived_costs_that_overflow_are_refused_naming_the_field():
    """kappa = 0 on a 1e200 Hz device gives 0 * inf = NaN energy, which passed as feasible; cycles of
    1e308 make a block last 1e298 s: both refused, naming the block's field."""
    import dataclasses

    inst = partopt.generate("paper", seed=0)
    hot = dataclasses.replace(inst.device, kappa=0.0, cpu_hz=1e200)
    with pytest.raises(InstanceError, match=r"blocks\[0\]\.cycles: with device.kappa"):
        inst.replace(device=hot)
    huge = (dataclasses.replace(inst.blocks[0], cycles=1e308), *inst.blocks[1:])
    with pytest.raises(InstanceError, match="MAX_TIME_S"):
        inst.replace(blocks=huge)


# ----------------------------------------------------------- the front door's arguments
@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"time_limit": "5"}, "time_limit"),
        ({"time_limit": math.nan}, "time_limit"),
        ({"time_limit": True}, "time_limit"),
        ({"time_limit": -1}, "time_limit"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
    ],
)
def test_front_door_arguments_are_refused_naming_them(kwargs, field):
    """Bad arguments never reach NumPy or OR-Tools: a ValueError names the parameter given."""
    with pytest.raises(ValueError, match=f"^{field}: must be"):
        partopt.solve(partopt.generate("paper", seed=0), **kwargs)


def test_an_infinite_time_limit_means_no_limit_and_options_name_what_a_solver_takes():
    """time_limit=inf solves without a limit; an unknown option of a scenario solver lists its real
    options, not the scenario it is given."""
    assert partopt.solve(partopt.generate("paper", seed=0), time_limit=math.inf).status == partopt.Status.OPTIMAL
    sc = partopt.generate("shared", seed=0, num_tasks=2)
    with pytest.raises(ValueError, match="it takes: no options"):
        partopt.solve(sc, "earliest-finish", nope=1)
    with pytest.raises(ValueError, match="it takes: max_evaluations, dispatches_per_task, dispatch") as info:
        partopt.solve(sc, "shared-local-search", nope=1)
    assert "scenario" not in str(info.value)


# ----------------------------------------------------------- suite files and rows read back
def _suite_file(tmp_path, lines):
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_suite_files_are_checked_naming_file_and_line(tmp_path):
    """A suite is untrusted: bad JSON, a stored reference of -5 or NaN (which gave a 0% or missing
    gap), duplicate ids, a folder: each refused with file:line."""
    from partopt.bench.suites import load_suite

    head = json.dumps({"format": "partopt.suite/1", "name": "x", "generator": "paper", "seed": 1, "count": 1})
    inst = partopt.generate("paper", seed=0).to_dict()

    def entry(ident="a", objective=1.0):
        return json.dumps(
            {
                "id": ident,
                "point": "p",
                "params": {},
                "instance": inst,
                "reference": {"hard": {"status": "optimal", "objective": objective}},
            }
        )

    assert len(load_suite(_suite_file(tmp_path, [head, entry()]))) == 1
    for lines, match in [
        ([head, "{not json"], r"s.jsonl:2: not JSON"),
        ([head, entry(objective=-5)], r"s.jsonl:2: reference.hard.objective must be a finite"),
        ([head, entry(objective=math.nan)], r"s.jsonl:2: reference.hard.objective"),
        ([head, entry(), entry()], r"s.jsonl:3: id 'a' must be a string, once per suite"),
        (["[1]"], r"s.jsonl:1: must be a JSON object"),
    ]:
        with pytest.raises(ValueError, match=match):
            load_suite(_suite_file(tmp_path, lines))
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(ValueError, match="not a regular file"):
        load_suite(tmp_path / "dir.jsonl")


def test_garbage_rows_are_refused_on_resume_naming_the_line(tmp_path):
    """A rows CSV with a NaN objective or a NUL byte is refused on resume, naming the line, not kept."""
    out = tmp_path / "rows.csv"
    partopt.benchmark(_small_suite(), ["greedy"], out=out, progress=False)
    lines = out.read_text().splitlines()
    fields = lines[1].split(",")
    fields[lines[0].split(",").index("objective")] = "nan"
    out.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match="line 2: objective is NaN"):
        partopt.benchmark(_small_suite(), ["greedy"], out=out, progress=False)
    out.write_text("\n".join([lines[0], lines[1].replace("greedy", "gre\0edy", 1), *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match="line"):
        partopt.benchmark(_small_suite(), ["greedy"], out=out, progress=False)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: partopt.generate("paper", seed=0, num_servers=True), "num_servers: need a number"),
        (lambda: partopt.generate("paper", seed=1.5), "seed: must be an int >= 0"),  # type: ignore[arg-type]
        (
            lambda: partopt.solve(partopt.generate("shared", seed=0, num_tasks=2), "shared-learned", polish="no"),
            "polish: must be True or False",
        ),
        (lambda: partopt.benchmark("paper-default-v1", ["greedy"], limit=-1), "limit: must be an int >= 0"),
        (lambda: partopt.benchmark("paper-default-v1", ["greedy"], jobs=0), "jobs: must be an int >= 1"),
    ],
)
def test_wrong_types_and_ranges_are_refused_naming_the_argument(call, match):
    """Booleans are booleans, counts are counts: num_servers=True, seed=1.5, polish='no' (which
    polished), limit=-1 (which dropped an instance), jobs=0 were accepted."""
    with pytest.raises(ValueError, match=match):
        call()


def test_horizon_exact_honours_its_time_limit_and_memory_cap(monkeypatch):
    """horizon-exact ignored time_limit (2 s asked, 13 s taken): it now stops between slots, with
    the dual's battery-keeping choice and bound when the merge is cut short, and so past its cap
    on labels."""
    import partopt.horizon.solvers as horizon

    big = partopt.generate("horizon", seed=0, slots=1200)
    res = partopt.solve(big, time_limit=0.05)
    assert res.status in (partopt.Status.TIME_LIMIT, partopt.Status.FEASIBLE) and res.runtime < 5
    monkeypatch.setattr(horizon, "MAX_MERGE_LABELS", 10)
    res = partopt.solve(partopt.generate("horizon", seed=0, slots=30))
    assert res.status == partopt.Status.FEASIBLE and "labels" in res.info["termination"]
    assert bound_of(res) <= res.objective


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: partopt.generate("paper", seed=0, rate_MBps=0), "^rate_MBps: must be > 0"),
        (lambda: partopt.generate("shared", seed=0, server_GHz=(-1, 2)), "^server_GHz: must be > 0"),
        (lambda: partopt.generate("shared", seed=0, server_GHz=(0, 0)), "^server_GHz: must be > 0"),
        (lambda: partopt.solve(partopt.generate("paper", seed=0), "milp-ortools", threads=0), "^threads: must be"),
        (
            lambda: partopt.solve(partopt.generate("paper", seed=0), "milp-ortools", warm_start=[99] * 6),
            r"placement\[0\]: location 99",
        ),
    ],
)
def test_errors_name_the_parameter_the_user_gave(call, match):
    """rate_MBps=0 was reported as uplink_bps, threads=0 as an OR-Tools AttributeError, a bad warm
    start as an IndexError."""
    with pytest.raises((ValueError, partopt.InstanceError), match=match):
        call()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: partopt.generate("shared", seed=0, num_tasks=10**7), "num_tasks: 10,000,000 is more than"),
        (lambda: partopt.generate("horizon", seed=0, slots=10**9), "slots: 1,000,000,000 is more than"),
    ],
)
def test_sizes_beyond_the_stated_caps_are_refused_before_anything_is_allocated(call, match):
    """num_tasks=10**7 or slots=10**9 ran for minutes and gigabytes: refused at once, naming the cap."""
    with pytest.raises(ValueError, match=match):
        call()


def test_training_data_files_are_checked_never_hang(tmp_path):
    """A FIFO as a training-data path hung the run; a folder, garbage or a missing array are
    refused naming the file; nothing pickled is read."""
    import numpy as np

    from partopt.files import read_arrays

    fifo = tmp_path / "data.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_arrays(fifo, ("features",))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not an npz archive"):
        read_arrays(junk, ("features",))
    partial = tmp_path / "partial.npz"
    np.savez(partial, labels=np.zeros(3))
    with pytest.raises(ValueError, match="has no 'features' array"):
        read_arrays(partial, ("features", "labels"))
    assert set(read_arrays(partial, ("labels",))) == {"labels"}
