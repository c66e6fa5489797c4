"""Helpers shared by the bench scripts: machine description and result files."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


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
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, " + ", ".join(versions)


def header(title: str) -> str:
    """Markdown header with the command, machine and date of this run."""
    command = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"# {title}\n\n- command: `{command}`\n- machine: {machine()}\n- date: {now}\n"
