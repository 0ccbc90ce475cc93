"""The ``dask`` compute target: steps on a Dask cluster (``pip install "jupyter_amlpipe[dask]"``).

Importing this package does not import dask: it is loaded when a
DaskCompute first starts or reaches its cluster.
"""

from __future__ import annotations

from jupyter_amlpipe.compute.dask.status import DaskClusterStatus, NodeStateCounts, ScaleSettings
from jupyter_amlpipe.compute.dask.target import DaskCompute, DaskProvisioningConfiguration

__all__ = ["DaskClusterStatus", "DaskCompute", "DaskProvisioningConfiguration", "NodeStateCounts", "ScaleSettings"]
