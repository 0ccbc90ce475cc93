"""Compute targets: one module per backend, loaded by name from the registry."""

from jupyter_amlpipe.compute.aml import AmlCompute, AmlComputeProvisioningConfiguration
from jupyter_amlpipe.compute.dask import DaskCompute
from jupyter_amlpipe.compute.docker import DockerCompute
from jupyter_amlpipe.compute.local import LocalCompute
from jupyter_amlpipe.compute.spark import DatabricksCompute, SparkCompute
from jupyter_amlpipe.core.compute_target import COMPUTE_TARGETS, ComputeTarget
from jupyter_amlpipe.errors import ComputeTargetException

__all__ = [
    "COMPUTE_TARGETS",
    "AmlCompute",
    "AmlComputeProvisioningConfiguration",
    "ComputeTarget",
    "ComputeTargetException",
    "DaskCompute",
    "DatabricksCompute",
    "DockerCompute",
    "LocalCompute",
    "SparkCompute",
]
