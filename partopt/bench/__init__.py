"""Experiment tooling: the benchmark harness, named instance suites, solver conformance
checks, plots and the Dask cluster executor.

Its modules: ``harness`` (:func:`~partopt.bench.harness.benchmark`, rows files, summaries),
``suites`` (versioned suites with reference optima), ``conformance`` (checks any solver's
claims), ``plots``, ``cluster`` (``pip install 'partopt[dask]'``). This layer uses the
problem kinds and the learned solvers; nothing below it imports it.
"""

from partopt.bench.harness import (
    ROW_FIELDS,
    BenchmarkRun,
    SerialExecutor,
    benchmark,
    format_summary,
    read_rows,
    summarize,
)

__all__ = ["ROW_FIELDS", "BenchmarkRun", "SerialExecutor", "benchmark", "format_summary", "read_rows", "summarize"]
