"""Named, versioned instance suites with their reference optima: the public name of
:mod:`partopt.bench.suites`, where they are built and checked."""

from partopt.bench.suites import (
    SUITES,
    Suite,
    SuiteEntry,
    SuiteSpec,
    build_suite,
    check_suite,
    fixed_heuristic_shares,
    list_suites,
    load_suite,
    suite_spec,
)

__all__ = [
    "SUITES",
    "Suite",
    "SuiteEntry",
    "SuiteSpec",
    "build_suite",
    "check_suite",
    "fixed_heuristic_shares",
    "list_suites",
    "load_suite",
    "suite_spec",
]
