"""v1's ``AmlCompute`` names: a provisioning configuration that maps onto a Dask cluster.

``ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(min_nodes=0, max_nodes=4))``
gives a :class:`~jupyter_amlpipe.compute.dask.DaskCompute`: a local Dask cluster
that adapts between ``min_nodes`` and ``max_nodes`` workers (``max_nodes``
defaults to 4, as in v1), each running one step at a time. It needs the
``dask`` extra; without it ``ComputeTarget.create`` raises MissingExtraError
with the ``pip install "jupyter_amlpipe[dask]"`` to run. For a cluster on
this machine without Dask, use ``LocalCompute(ws, name, max_concurrency=N)``.

``AmlCompute`` is a virtual base class of DaskCompute: ``isinstance(target,
AmlCompute)`` is True for the cluster ``ComputeTarget.create`` gave, and for
it fetched again by ``ComputeTarget(ws, name)``, ``AmlCompute(ws, name)`` or
``ws.compute_targets[name]``; the object stays a DaskCompute.
"""

from __future__ import annotations

import sys
from typing import Any

from jupyter_amlpipe.core.compute_target import ComputeTarget


class AmlComputeProvisioningConfiguration:
    _target_type = "amlcompute"

    def __init__(
        self,
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.vm_size = vm_size
        self.vm_priority = vm_priority
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes
        self.idle_seconds_before_scaledown = idle_seconds_before_scaledown
        self.extra = kwargs


_DASK_TARGET_MODULE = "jupyter_amlpipe.compute.dask.target"


class _AmlComputeMeta(type):
    """Makes every DaskCompute an instance of AmlCompute without importing the Dask backend to check."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return cls.__subclasscheck__(type(instance))

    def __subclasscheck__(cls, subclass: Any) -> bool:
        if type.__subclasscheck__(cls, subclass):
            return True
        # No DaskCompute exists until its module is imported: then there is nothing to check.
        dask_target = getattr(sys.modules.get(_DASK_TARGET_MODULE), "DaskCompute", None)
        return dask_target is not None and isinstance(subclass, type) and issubclass(subclass, dask_target)


class AmlCompute(metaclass=_AmlComputeMeta):
    """v1 ``AmlCompute``: ``AmlCompute(ws, name)`` fetches a target; ``provisioning_configuration`` makes one.

    A missing name raises ComputeTargetException (as in v1, a target of
    another type is returned as that type). Every DaskCompute is an instance of
    AmlCompute.
    """

    def __new__(cls, workspace: Any, name: str) -> Any:
        return ComputeTarget(workspace, name)

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        **kwargs: Any,
    ) -> AmlComputeProvisioningConfiguration:
        return AmlComputeProvisioningConfiguration(
            vm_size, vm_priority, min_nodes, max_nodes, idle_seconds_before_scaledown, **kwargs
        )

    @staticmethod
    def supported_vmsizes(workspace: Any, location: str | None = None) -> list[dict[str, Any]]:
        return []
