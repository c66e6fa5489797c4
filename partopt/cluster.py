"""Running partopt's parallel jobs on a Dask cluster (``pip install 'partopt[dask]'``): the
public name of :mod:`partopt.bench.cluster`.

    with partopt.cluster.connect("tcp://scheduler:8786") as executor:   # or "local:2"
        partopt.benchmark("shared-k8-v1", ["shared-cpsat"], executor=executor)
"""

from partopt.bench.cluster import connect, scheduler_executor

__all__ = ["connect", "scheduler_executor"]
