"""Compute targets: one module per backend, loaded by name from the registry.

The classes are loaded on first use (PEP 562), so running a module of this
package (``python -m jupyter_amlpipe.compute.runtime.sql``) does not import
every backend first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "COMPUTE_TARGETS": "jupyter_amlpipe.core.compute_target",
    "ComputeTarget": "jupyter_amlpipe.core.compute_target",
    "ComputeTargetException": "jupyter_amlpipe.errors",
    "AdlaCompute": "jupyter_amlpipe.compute.aliases",
    "AmlCompute": "jupyter_amlpipe.compute.aml",
    "AmlComputeProvisioningConfiguration": "jupyter_amlpipe.compute.aml",
    "DaskCompute": "jupyter_amlpipe.compute.dask",
    "DataFactoryCompute": "jupyter_amlpipe.compute.aliases",
    "DockerCompute": "jupyter_amlpipe.compute.docker",
    "LocalCompute": "jupyter_amlpipe.compute.local",
    "DatabricksCompute": "jupyter_amlpipe.compute.spark",
    "SparkCompute": "jupyter_amlpipe.compute.spark",
}

__all__ = [
    "COMPUTE_TARGETS",
    "AdlaCompute",
    "AmlCompute",
    "AmlComputeProvisioningConfiguration",
    "ComputeTarget",
    "ComputeTargetException",
    "DaskCompute",
    "DataFactoryCompute",
    "DatabricksCompute",
    "DockerCompute",
    "LocalCompute",
    "SparkCompute",
]

if TYPE_CHECKING:
    from jupyter_amlpipe.compute.aliases import AdlaCompute, DataFactoryCompute
    from jupyter_amlpipe.compute.aml import AmlCompute, AmlComputeProvisioningConfiguration
    from jupyter_amlpipe.compute.dask import DaskCompute
    from jupyter_amlpipe.compute.docker import DockerCompute
    from jupyter_amlpipe.compute.local import LocalCompute
    from jupyter_amlpipe.compute.spark import DatabricksCompute, SparkCompute
    from jupyter_amlpipe.core.compute_target import COMPUTE_TARGETS, ComputeTarget
    from jupyter_amlpipe.errors import ComputeTargetException


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
