"""The command line: each command works, --help teaches, bad input is one line."""

import json
import subprocess
import sys

import pytest

import partopt
from partopt.cli import main

COMMANDS = ["generate", "solve", "simulate", "evaluate", "bench", "plot", "suite", "list", "train"]


def run(*args):
    return subprocess.run([sys.executable, "-m", "partopt.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_examples(command, capsys):
    """Every command's --help exits 0 and shows its usage (and examples where useful)."""
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: partopt " + command in text


def test_generate_solve_evaluate_round_trip(tmp_path, capsys):
    """generate -> solve --json -> evaluate agree on the optimum."""
    path = tmp_path / "i.json"
    assert main(["generate", "paper", "--seed", "2", "-o", str(path)]) == 0
    capsys.readouterr()
    assert main(["solve", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "optimal"
    assert main(["evaluate", str(path), *map(str, result["placement"]), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["total_delay"] == result["objective"] and ev["feasible"]


def test_generate_many_to_folder(tmp_path, capsys):
    """--count writes that many files into a folder; --param sets generator parameters."""
    assert main(["generate", "random", "--count", "3", "--param", "num_blocks=4", "-o", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 3 and len(json.loads(files[0].read_text())["blocks"]) == 4


def test_solver_options_pass_through(tmp_path, capsys):
    """--option KEY=VALUE reaches the solver (export writes the model)."""
    model = tmp_path / "m.lp"
    assert main(["solve", "--generate", "paper", "--solver", "milp-pulp", "--option", f"export={model}"]) == 0
    assert model.exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["solve", "missing.json"], "No such file"),
        (["solve", "--generate", "paper", "--solver", "gredy"], "Did you mean 'greedy'"),
        (["generate", "papr"], "Did you mean 'paper'"),
        (["solve", "--generate", "paper", "--param", "num_servers=0"], "num_servers"),
        (["bench", "no-such-suite"], "unknown name"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    """Bad input: one clear line on stderr, exit status 2, no traceback."""
    proc = run(*args)
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_instance_file_names_the_field(tmp_path):
    """A broken instance file is reported with the offending field."""
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"format": "partopt.instance/1", "blocks": [], "device": {}, "servers": [], "backhaul_bps": 1})
    )
    proc = run("solve", str(bad))
    assert proc.returncode == 2 and "device.cpu_hz" in proc.stderr


def test_bench_prints_table_and_resumes(tmp_path, capsys):
    """partopt bench prints the summary, writes rows, and a rerun redoes nothing."""
    out = tmp_path / "rows.csv"
    args = ["bench", "paper-default-v1", "--solvers", "dp", "greedy", "--limit", "5", "--out", str(out), "--jobs", "1"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "mean gap %" in first and "10 new rows" in first
    assert main(args) == 0
    assert f"0 new rows, 10 reused from {out}" in capsys.readouterr().out


def test_json_output_is_clean_with_highs():
    """--json prints only JSON even when HiGHS (which prints a banner from C) solves."""
    proc = run("solve", "--generate", "paper", "--solver", "milp-pulp", "--option", "backend=highs", "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["status"] == "optimal"


@pytest.mark.parametrize("beta", ["nan", "-5", "inf"])
def test_evaluate_refuses_a_bad_beta(tmp_path, beta):
    """--beta must be a finite number >= 0: exit 2 naming it."""
    path = tmp_path / "i.json"
    partopt.write(partopt.generate("paper", seed=0), path)
    proc = run("evaluate", str(path), "0", "1", "1", "1", "1", "1", "--beta", beta)
    assert proc.returncode == 2 and "beta" in proc.stderr


def test_a_set_is_not_a_placement():
    """A set has no order: refused as a placement, naming the field."""
    with pytest.raises(TypeError, match="placement"):
        partopt.evaluate(partopt.generate("paper", seed=0), {0, 1, 2, 3, 4, 5})  # type: ignore[call-overload]


def test_first_contact_mistakes_get_a_clear_error_not_a_folder_or_a_traceback(tmp_path, capsys):
    """`suite check nope` names the suites there are (was KeyError); `generate --count -5 -o x.json`
    is refused (it made a folder named x.json), and so are many instances to a .json name."""
    assert main(["suite", "check", "nope"]) == 2
    assert "unknown name 'nope'; available: paper-default-v1" in capsys.readouterr().err
    target = tmp_path / "x.json"
    assert main(["generate", "paper", "--count", "-5", "-o", str(target)]) == 2
    assert main(["generate", "paper", "--count", "3", "-o", str(target)]) == 2
    assert "names a file" in capsys.readouterr().err and not target.exists()


def test_evaluate_checks_the_start_times_of_a_chain_solution(tmp_path, capsys):
    """A solution file with start_s for one chain is checked as a one-task schedule, never ignored:
    blocks started together on one server overlap."""
    partopt.write(partopt.generate("paper", seed=3), tmp_path / "i.json")
    (tmp_path / "s.json").write_text(
        json.dumps({"format": "partopt.solution/1", "placement": [[1] * 6], "start_s": [[0.0] * 6]})
    )
    main(["evaluate", str(tmp_path / "i.json"), "--solution", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert "overlaps block" in out and "valid: False" in out


def test_solving_a_scenario_says_what_it_runs_and_is_bounded_in_time(tmp_path, capsys):
    """`partopt solve scenario.json` names its solver, size and time limit at once (it was silent),
    and an exact solve without --time-limit stops within the CLI's default."""
    from partopt.cli import CLI_SCENARIO_LIMIT_S

    partopt.write(partopt.generate("shared", seed=0, num_tasks=2), tmp_path / "sc.json")
    assert main(["solve", str(tmp_path / "sc.json")]) == 0
    err = capsys.readouterr().err
    assert "[solve] shared-exact: 2 tasks" in err and f"at most {CLI_SCENARIO_LIMIT_S:g} s" in err


def test_generate_help_names_every_generator(capsys):
    """`generate --help` omitted horizon and mobile: every registered generator is named."""
    from partopt.generation import GENERATORS

    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in GENERATORS)


#: Help examples that take more than a few seconds (training runs, a 30 s exact solve, suite
#: rebuilds and re-proofs): run with the others under ``-m slow``.
SLOW_EXAMPLES = ("partopt train ", "partopt suite build", "--reprove", "--time-limit 30")


def _help_examples() -> list[str]:
    """Every example line of every command's --help, in an order where files are written
    before they are read (generate first)."""
    from partopt.cli import EPILOGS

    order = ["generate", "solve", "evaluate", "bench", "plot", "profile", "suite", "list", "train"]
    names = order + [name for name in EPILOGS if name not in order]
    return [
        line.strip()
        for name in names
        for line in (EPILOGS.get(name) or "").splitlines()
        if line.startswith("  partopt ")
    ]


def _run_examples(tmp_path, monkeypatch, slow: bool) -> int:
    import shlex

    monkeypatch.chdir(tmp_path)
    ran = 0
    for line in _help_examples():
        if not slow and any(mark in line for mark in SLOW_EXAMPLES):
            continue
        assert main(shlex.split(line, comments=True)[1:]) == 0, line
        ran += 1
    return ran


def test_every_quick_help_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """Each --help example (but the long ones, see SLOW_EXAMPLES) runs as written in an empty
    folder, every file it reads made by an example before it."""
    assert len(_help_examples()) >= 40
    assert _run_examples(tmp_path, monkeypatch, slow=False) >= 25


@pytest.mark.slow
def test_every_help_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """All the --help examples, training runs included (a few minutes on 2 cores)."""
    assert _run_examples(tmp_path, monkeypatch, slow=True) == len(_help_examples())


def test_train_without_the_learned_extra_gives_the_install_hint(monkeypatch, capsys):
    """`partopt train` on an install without torch says which extra to install (was a bare
    "No module named 'gymnasium'")."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert main(["train", "mt-a3c", "--config", "max_seconds=1"]) == 2
    assert 'pip install "partopt[learned]"' in capsys.readouterr().err


def test_a_stream_is_generated_solved_online_and_evaluated_with_its_batteries(tmp_path, capsys):
    path, plan = tmp_path / "s.json", tmp_path / "plan.json"
    assert main(["generate", "stream", "--param", "horizon_s=0.5", "-o", str(path)]) == 0
    assert main(["solve", str(path), "--solver", "online-lyapunov", "--solution-out", str(plan)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(path), "--solution", str(plan), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["valid"] and len(ev["battery_j"]) == 4 and len(ev["start_s"]) == len(ev["placement"])
    assert main(["evaluate", str(path)]) == 2  # a stream needs its schedule
    run = tmp_path / "run.json"
    assert main(["simulate", str(path), "--policy", "lyapunov", "--option", "V=2", "--checkpoint", str(run)]) == 0
    assert "policy lyapunov" in capsys.readouterr().out and run.exists()
    assert main(["simulate", str(path), "--policy", "lyapunov", "--checkpoint", str(run), "--json"]) == 0  # resumed
    assert json.loads(capsys.readouterr().out)["policy"] == "lyapunov"
    assert main(["simulate", str(path), "--policy", "earliest-finish", "--checkpoint", str(run)]) == 2  # not its run
    assert main(["simulate", str(plan)]) == 2  # a solution is not a stream
    rolling = ["solve", str(path), "--solver", "online-rolling-horizon", "--option", "batch_s=0.1"]
    assert main([*rolling, "--option", "window_solver=shared-local-search"]) == 0
    assert main([*rolling, "--option", "window_solver=dp"]) == 2  # a chain solver cannot place a window
