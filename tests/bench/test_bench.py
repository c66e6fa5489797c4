"""The benchmark harness, suites and plots."""

import csv
import math

import pytest
from helpers import placement_of

import partopt
from partopt.bench.harness import SerialExecutor, benchmark, summarize
from partopt.bench.suites import SUITES, check_suite, generate_entries, load_suite


@pytest.fixture(scope="module")
def small_suite():
    """Twelve generated paper instances with one sweep-like label each."""
    return [partopt.generate("paper", seed=s, num_servers=2 + s % 3) for s in range(12)]


def test_rows_and_gaps(small_suite):
    """One row per (instance, solver); gap = 100 (obj - ref) / ref; DP's gap is 0."""
    run = benchmark(small_suite, ["dp", "greedy", "all-device"], jobs=1, progress=False)
    assert len(run.rows) == 36
    for r in run.rows:
        if r["solver"] == "dp":
            assert r["gap_pct"] == 0.0
        if r["gap_pct"] is not None:
            assert math.isclose(r["gap_pct"], 100 * (r["objective"] - r["reference"]) / r["reference"])
    summary = {s["solver"]: s for s in run.summary}
    assert summary["dp"]["optimal_pct"] == 100.0 and summary["all-device"]["mean_gap_pct"] > 0


def test_resume_does_not_redo_or_duplicate(tmp_path, small_suite):
    """A second run over the same output file adds nothing; an interrupted one completes."""
    out = tmp_path / "rows.csv"
    first = benchmark(small_suite[:5], ["dp", "greedy"], out=out, jobs=1, progress=False)
    assert first.new_rows == 10
    more = benchmark(small_suite, ["dp", "greedy"], out=out, jobs=1, progress=False)
    assert more.new_rows == 14
    again = benchmark(small_suite, ["dp", "greedy"], out=out, jobs=1, progress=False)
    assert again.new_rows == 0
    with open(out) as fh:
        keys = [(r["instance"], r["solver"], r["seed"]) for r in csv.DictReader(fh)]
    assert len(keys) == len(set(keys)) == 24


def test_resume_refuses_a_different_objective(tmp_path, small_suite):
    """Rows of another objective in the output file are an error, not a silent mix."""
    out = tmp_path / "rows.csv"
    benchmark(small_suite[:2], ["dp"], out=out, jobs=1, progress=False)
    with pytest.raises(ValueError, match="objective"):
        benchmark(small_suite[:2], ["dp"], out=out, objective="penalty", jobs=1, progress=False)


def test_parallel_equals_serial(small_suite):
    """Two worker processes give the same rows as one process."""
    key = lambda r: (r["instance"], r["solver"], r["seed"])  # noqa: E731
    serial = sorted(benchmark(small_suite, ["dp", "rpdi"], seeds=[0, 1], jobs=1, progress=False).rows, key=key)
    parallel = sorted(benchmark(small_suite, ["dp", "rpdi"], seeds=[0, 1], jobs=2, progress=False).rows, key=key)
    strip = lambda r: {k: v for k, v in r.items() if k != "runtime"}  # noqa: E731
    assert [strip(r) for r in serial] == [strip(r) for r in parallel]


def test_seeded_solvers_run_per_seed(small_suite):
    """rpdi runs once per seed; deterministic solvers once."""
    run = benchmark(small_suite[:3], ["greedy", "rpdi"], seeds=[0, 1, 2], jobs=1, progress=False)
    assert sum(r["solver"] == "rpdi" for r in run.rows) == 9
    assert sum(r["solver"] == "greedy" for r in run.rows) == 3


def test_user_policy_in_one_call(small_suite):
    """Validating one's own policy against the optima is one call."""

    def always_first_server(instance):
        return [1] * instance.num_blocks

    run = benchmark(small_suite, [always_first_server], jobs=1, progress=False, executor=SerialExecutor())
    assert {r["solver"] for r in run.rows} == {"always_first_server"}
    assert all(r["gap_pct"] >= 0 for r in run.rows if r["gap_pct"] is not None)
    partopt.unregister_solver("always_first_server")


def test_summary_counts_violations():
    """Violated and infeasible answers are counted, and excluded from gap statistics."""
    rows: list[dict] = [
        {"solver": "x", "status": "violated", "gap_pct": None, "reference": 1.0, "runtime": 0.1},
        {"solver": "x", "status": "feasible", "gap_pct": 10.0, "reference": 1.0, "runtime": 0.1},
        {"solver": "x", "status": "infeasible", "gap_pct": None, "reference": math.inf, "runtime": 0.1},
    ]
    (s,) = summarize(rows)
    assert s["violated"] == 1 and s["infeasible"] == 1 and s["mean_gap_pct"] == 10.0
    assert s["feasible_pct"] == pytest.approx(100 / 3)


def test_shipped_suite_loads_with_references():
    """paper-default-v1 ships with 200 instances and DP references for both objectives."""
    suite = load_suite("paper-default-v1")
    assert len(suite) == 200
    entry = suite.entries[0]
    assert entry.reference["hard"]["status"] == "optimal"
    assert math.isclose(partopt.solve(entry.instance).objective, entry.reference["hard"]["objective"], rel_tol=1e-12)


def test_suite_regenerates_from_its_seed():
    """The first instances of each suite spec regenerate identically (deterministic suites)."""
    for spec in SUITES.values():
        a = [inst for _, _, _, inst in generate_entries(spec)][:3]
        b = [inst for _, _, _, inst in generate_entries(spec)][:3]
        assert a == b


@pytest.mark.slow
def test_shipped_suites_check():
    """Every built suite matches its regeneration and its references (slow: re-solves all)."""
    from partopt.bench.suites import suite_path

    for name in SUITES:
        if suite_path(name).exists():
            assert check_suite(name) == []


def test_plots_write_png_and_csv(tmp_path, small_suite):
    """Gap and sweep plots write a PNG and the CSV behind it."""
    from partopt.bench import plots

    out = tmp_path / "rows.csv"
    rows = benchmark(small_suite, ["dp", "greedy", "apdi"], out=out, jobs=1, progress=False)
    paths = plots.plot_gaps(out, tmp_path / "gaps")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    # Relabel rows as a sweep over servers to draw delay/energy against the axis.
    with open(out) as fh:
        data = list(csv.DictReader(fh))
    servers = {inst.name: inst.num_servers for inst in small_suite}
    for r in data:
        r["point"] = f"servers={servers[r['instance']]}"
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(data[0]))
        w.writeheader()
        w.writerows(data)
    paths = plots.plot_sweep(out, tmp_path / "sweep")
    assert paths[0].stat().st_size > 0 and "servers" in paths[1].read_text().splitlines()[0]
    assert rows.rows


def test_redo_drops_and_reruns_a_solver(tmp_path):
    """redo=[solver] replaces that solver's stored rows and keeps the others."""
    insts = [partopt.generate("paper", seed=s) for s in range(3)]
    out = tmp_path / "rows.csv"
    partopt.benchmark(insts, ["greedy", "apdi"], out=out, jobs=1, progress=False)
    before = {(r["instance"], r["solver"]): r["runtime"] for r in partopt.bench.harness.read_rows(out)}
    run = partopt.benchmark(insts, ["greedy", "apdi"], out=out, jobs=1, redo=["apdi"], progress=False)
    after = partopt.bench.harness.read_rows(out)
    assert run.new_rows == 3 and len(after) == 6
    assert all(before[(r["instance"], r["solver"])] == r["runtime"] for r in after if r["solver"] == "greedy")


def test_second_writer_is_refused(tmp_path):
    """While one benchmark holds --out, another on the same file is refused with a clear message."""
    from partopt.bench.harness import _lock

    out = tmp_path / "rows.csv"
    held = _lock(out)
    try:
        with pytest.raises(ValueError, match="another benchmark is writing"):
            partopt.benchmark([partopt.generate("paper", seed=1)], ["greedy"], out=out, progress=False)
    finally:
        held.close()
    run = partopt.benchmark([partopt.generate("paper", seed=1)], ["greedy"], out=out, progress=False)
    assert run.new_rows == 1


def test_torn_last_line_is_cut_and_redone(tmp_path):
    """A row cut mid-field by a kill is dropped on resume and run again; nothing is glued or doubled."""
    out = tmp_path / "rows.csv"
    insts = [partopt.generate("paper", seed=s).replace(name=f"i{s}") for s in range(3)]
    partopt.benchmark(insts, ["greedy"], out=out, progress=False, jobs=1)
    text = out.read_text()
    out.write_text(text[: len(text) - 15])  # the last row loses its end
    run = partopt.benchmark(insts, ["greedy"], out=out, progress=False, jobs=1)
    assert run.new_rows == 1
    rows = partopt.bench.harness.read_rows(out)
    assert sorted(r["instance"] for r in rows) == ["i0", "i1", "i2"]


def test_duplicated_rows_are_refused(tmp_path):
    """A file holding one row twice (two runs wrote it) is refused naming the line."""
    out = tmp_path / "rows.csv"
    partopt.benchmark([partopt.generate("paper", seed=1)], ["greedy"], out=out, progress=False)
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines + lines[1:]) + "\n")
    with pytest.raises(ValueError, match="line 3 repeats"):
        partopt.benchmark([partopt.generate("paper", seed=1)], ["greedy"], out=out, progress=False)


def test_shared_suite_rows_carry_gap_to_best_known_and_bound(tmp_path):
    """On a shared-edge suite every row has its gap to the stored best known and to the stored bound."""
    run = partopt.benchmark(
        "shared-k2-v1", ["earliest-finish", "shared-greedy"], limit=4, out=tmp_path / "s.csv", progress=False, jobs=1
    )
    for row in run.rows:
        assert row["reference"] is not None and row["bound"] is not None
        assert row["gap_pct"] >= -1e-6 and row["gap_to_bound_pct"] >= row["gap_pct"] - 1e-9


def test_shared_rebuild_never_loses_a_best_known(tmp_path, monkeypatch):
    """Rebuilding a shared-edge suite keeps, per scenario, the better of the stored and the new
    solution and the higher of the two bounds."""
    import json
    import shutil

    import partopt.bench.suites as suites_module
    from partopt.bench.suites import build_suite, suite_path
    from partopt.profiles import data_dir

    shutil.copytree(data_dir(), tmp_path / "data")
    monkeypatch.setenv("PARTOPT_DATA", str(tmp_path / "data"))
    path = suite_path("shared-k2-v1")
    lines = path.read_text().splitlines()
    entries = [json.loads(line) for line in lines[1:]]
    fresh = [dict(e["reference"]["hard"]) for e in entries]
    worse, lower, better = (entries[i]["reference"]["hard"] for i in range(3))
    worse.update(objective=worse["objective"] * 1.1, status="feasible", solver="old")
    lower.update(bound=lower["bound"] * 0.5)
    better.update(objective=better["objective"] * 0.9, status="feasible", solver="old", bound=0.0)
    path.write_text("\n".join([lines[0]] + [json.dumps(e) for e in entries]) + "\n")
    # the new references are the ones stored before the edits (solving 30 scenarios again takes 30 s):
    # what is under test is how a rebuild merges them with the stored ones
    by_name = {e["id"]: ref for e, ref in zip(entries, fresh)}
    monkeypatch.setitem(suites_module._REFERENCES, "scenario", lambda sc, spec=None: {"hard": dict(by_name[sc.name])})
    build_suite("shared-k2-v1")
    rebuilt = [json.loads(line)["reference"]["hard"] for line in path.read_text().splitlines()[1:]]
    assert rebuilt[0]["objective"] == fresh[0]["objective"] and rebuilt[0]["solver"] != "old"
    assert rebuilt[1]["bound"] == fresh[1]["bound"]
    assert rebuilt[2]["solver"] == "old" and rebuilt[2]["bound"] == fresh[2]["bound"]
    assert rebuilt[2]["status"] == "feasible"


def test_shipped_shared_suites_pass_the_strict_check():
    """Every shipped shared-edge suite: schedules valid and priced as stored, bounds current
    (computed after the work relaxation's fix), below the best known, and meeting it where the
    entry says "optimal" (no re-solving: fast)."""
    from partopt.bench.suites import suite_path

    for name, spec in SUITES.items():
        if spec.shared and suite_path(name).exists():
            assert check_suite(name) == [], name


def _shared_entry(**hard):
    from partopt.bench.suites import SuiteEntry

    sc = partopt.generate("shared", seed=0, num_tasks=3)
    res = partopt.solve(sc, "earliest-finish")
    assert res.start_s is not None
    ref = {
        "status": "feasible",
        "objective": res.objective,
        "bound": None,
        "bound_version": 2,
        "solver": res.solver,
        "placement": [list(r) for r in placement_of(res)],
        "start_s": [list(r) for r in res.start_s],
        **hard,
    }
    return SuiteEntry("x/00-0000", "p", {}, sc, {"hard": ref})


def test_strict_check_flags_stale_bounds_false_optima_and_bounds_above_the_schedule():
    """The check sees: a bound above the stored schedule, an "optimal" whose bound does not meet
    its objective, and a bound from the bounds version whose work relaxation was invalid."""
    from partopt.bench.suites import _check_shared_entry

    value = _shared_entry().reference["hard"]["objective"]
    assert _check_shared_entry(_shared_entry()) == []
    assert _check_shared_entry(_shared_entry(bound=0.9 * value)) == []
    assert any("exceeds" in p for p in _check_shared_entry(_shared_entry(bound=1.01 * value)))
    assert any("does not meet" in p for p in _check_shared_entry(_shared_entry(status="optimal", bound=0.9 * value)))
    assert any("version 1" in p for p in _check_shared_entry(_shared_entry(bound=0.9 * value, bound_version=1)))
    assert _check_shared_entry(_shared_entry(status="optimal", bound=value)) == []


def test_rebuild_keeps_the_best_schedule_the_strongest_status_and_no_stale_bound():
    """Merging a rebuilt reference with the stored one: the better schedule wins; on a tie the
    proven entry wins (a rebuild on a loaded machine must not turn optima into "feasible"); a
    stored entry of the old bounds version keeps its schedule but neither its bound nor status."""
    from partopt.bench.suites import _better_reference

    proven = {"status": "optimal", "objective": 1.0, "bound": 1.0, "bound_version": 2, "solver": "shared-bnb"}
    tie = {"status": "feasible", "objective": 1.0 + 1e-12, "bound": 0.9, "bound_version": 2, "solver": "shared-cpsat"}
    assert _better_reference(proven, tie)["status"] == "optimal"
    assert _better_reference(tie, proven)["status"] == "optimal"
    assert _better_reference(proven, tie)["bound"] == 1.0
    stale = {"status": "optimal", "objective": 0.95, "bound": 1.2, "bound_version": 1, "solver": "shared-cpsat"}
    merged = _better_reference(stale, tie)
    assert merged["objective"] == 0.95 and merged["status"] == "feasible" and merged["bound"] == 0.9
    worse = {**tie, "objective": 1.5, "bound": 0.95}
    merged = _better_reference(proven, worse)
    assert merged["objective"] == 1.0 and merged["bound"] == 1.0 and merged["status"] == "optimal"


def test_benchmark_takes_horizons_and_measures_them_against_the_exact_merge():
    """Every problem kind goes through the harness: online horizon rules are never below the
    offline optimum (horizon-exact), and a rule that breaks the battery is reported violated."""
    horizons = [partopt.generate("horizon", seed=s, slots=5) for s in range(3)]
    run = partopt.benchmark(horizons, ["horizon-myopic", "horizon-fair"], progress=False)
    assert len(run.rows) == 6
    for row in run.rows:
        assert row["reference_status"] == "optimal"
        if row["status"] in ("optimal", "feasible"):
            assert row["gap_pct"] >= -1e-6
        else:
            assert row["status"] == "violated" and row["gap_pct"] is None


def test_a_rebuild_time_limit_is_checked_before_any_work(tmp_path, monkeypatch):
    """`partopt suite build --time-limit` refuses a limit that is not a positive number, naming it."""
    from partopt.bench.suites import build_suite
    from partopt.fields import InstanceError, InstanceTypeError

    monkeypatch.setenv("PARTOPT_DATA", str(tmp_path))  # nothing is written where the suites ship
    for bad in (-1.0, 0.0, "60"):
        with pytest.raises((InstanceError, InstanceTypeError), match="time_limit"):
            build_suite("shared-k2-v1", time_limit=bad)  # type: ignore[arg-type]
    assert not list(tmp_path.rglob("*.partial"))
