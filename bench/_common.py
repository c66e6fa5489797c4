"""Helpers shared by the bench scripts: machine description and result files."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
#: The project's own shared-edge draw, the speed bench's: VGG16 in 6 blocks, N = 4 servers, 2
#: devices, 60 tasks/s (``partopt.generate("shared", seed=..., num_tasks=K, **OWN_DRAW)``).
OWN_DRAW = {"networks": ("vgg16",), "num_blocks": 6, "num_servers": 4, "num_devices": 2, "release_rate": 60}


def best_of(fn, repeat: int) -> float:
    """The least wall-clock seconds of ``repeat`` calls of ``fn()``."""
    import time

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def previous_section(path: Path, heading: str) -> list[str]:
    """The first section of the report at ``path`` whose heading starts with ``## heading`` (its
    lines to the next ``## `` heading), labelled with the run it came from; [] when there is none.

    A run that redoes only part of a report (e.g. ``--validate-only``) keeps what it did not
    redo this way."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    meta = {key: value for key, _, value in (line[2:].partition(": ") for line in lines[:6] if line.startswith("- "))}
    begin = next((i for i, line in enumerate(lines) if line.startswith(f"## {heading}")), None)
    if begin is None:
        return []
    end = next((i for i in range(begin + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    body = lines[begin + 1 : end]
    if any(line.startswith("From the run ") for line in body[:2]):
        return [lines[begin], *body]  # carried before: already labelled
    run = f"{meta.get('command', '(command unknown)')} of {meta.get('date', 'an earlier date')}"
    return [lines[begin], "", f"From the run {run}; not redone by this one.", *body]


def machine() -> str:
    """One line naming the machine, Python and the solver libraries."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for pkg in ("numpy", "ortools", "pulp", "highspy", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{pkg} {metadata.version(pkg)}")
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, " + ", ".join(versions)


def header(title: str) -> str:
    """Markdown header with the command, machine and date of this run."""
    command = "python " + " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"# {title}\n\n- command: `{command}`\n- machine: {machine()}\n- date: {now}\n"


class CsvRows:
    """A bench run's rows in a CSV: appended as they finish, read back by the next run so
    that finished work is kept (``fresh`` starts over). ``parse`` turns a read row's
    strings back into values."""

    def __init__(self, path: Path, fields: list[str], fresh: bool, parse):
        import csv

        self.path, self.fields = path, fields
        if fresh and path.exists():
            path.unlink()
        self.rows: list[dict] = []
        if path.exists():
            with open(path, newline="") as fh:
                self.rows = [parse(r) for r in csv.DictReader(fh)]

    def append(self, row: dict) -> dict:
        """Write ``row`` at once (with the header if the file is new) and keep it."""
        import csv

        new = not self.path.exists()
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fields)
            if new:
                writer.writeheader()
            writer.writerow(row)
        self.rows.append(row)
        return row


def random_chain(num_blocks: int, num_servers: int):
    """The speed benches' chain of ``num_blocks`` blocks on ``num_servers`` servers: the ``random``
    generator with seed 100 M + N, a deadline on each block with probability 0.5 at tightness 1.5,
    device CPUs of 2-4 GHz and servers of 0.5-3 GHz."""
    import partopt

    return partopt.generate(
        "random",
        seed=num_blocks * 100 + num_servers,
        num_blocks=num_blocks,
        num_servers=num_servers,
        deadline_prob=0.5,
        deadline_tightness=1.5,
        device_hz=(2e9, 4e9),
        server_hz=(0.5e9, 3e9),
    )


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """A bench's command line, its help the script's docstring as written."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_limit_option(parser: argparse.ArgumentParser, default: float = 60.0) -> None:
    """The ``--limit`` option: the time limit per solve (s)."""
    parser.add_argument("--limit", type=float, default=default, help=f"time limit per solve (s, default {default:g})")


def add_resume_options(parser: argparse.ArgumentParser) -> None:
    """The ``--fresh`` and ``--report-only`` options of a bench whose rows are kept in a CSV."""
    parser.add_argument("--fresh", action="store_true", help="drop stored rows and rerun")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the stored rows")


def learned_bench_parser(doc: str, count: int, count_help: str) -> argparse.ArgumentParser:
    """The command line the learned-policy benches share: --count, --fresh, --report-only and
    --train (retrain the shipped checkpoint first); each bench adds its own mode."""
    ap = bench_parser(doc)
    ap.add_argument("--count", type=int, default=count, help=f"{count_help} (default {count})")
    add_resume_options(ap)
    ap.add_argument("--train", action="store_true", help="retrain the shipped checkpoint first")
    return ap


def resumable_bench(parser: argparse.ArgumentParser, name: str, fields: list[str], parse, run, report) -> None:
    """Run a bench whose rows are kept in ``results/<name>.csv``: add ``--fresh`` and
    ``--report-only`` to ``parser``, take the stored rows (``--report-only``) or ``run(args)``'s
    (which resumes them), and write ``report(rows, args)`` to ``results/<name>.md`` and stdout."""
    add_resume_options(parser)
    args = parser.parse_args()
    rows = CsvRows(RESULTS / f"{name}.csv", fields, False, parse) if args.report_only else run(args)
    text = report(rows, args)
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
