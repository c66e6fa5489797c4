"""Named, versioned instance suites with their reference optima: the public name of
:mod:`partopt.bench.suites`, where they are built and checked."""

from partopt.bench.suites import *  # noqa: F403 - this module is that one's public name
from partopt.bench.suites import __all__  # noqa: F401
