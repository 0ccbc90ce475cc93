"""A Dask cluster's state in v1's ``AmlComputeStatus`` shape (nodes are Dask workers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class NodeStateCounts:
    """v1's node counts: a node is ``running`` while it runs a step, ``idle`` otherwise."""

    idle_node_count: int = 0
    running_node_count: int = 0
    preparing_node_count: int = 0
    leaving_node_count: int = 0
    preempted_node_count: int = 0
    unusable_node_count: int = 0


@dataclass
class ScaleSettings:
    minimum_node_count: int
    maximum_node_count: int
    node_idle_time_before_scale_down: int | None = None


@dataclass
class DaskClusterStatus:
    """What ``DaskCompute.status`` (and ``get_status()``) gives.

    v1's fields (``current_node_count``, ``target_node_count``,
    ``node_state_counts``, ``allocation_state``, ``scale_settings``, ...) plus
    short names: ``nodes``, ``busy`` and ``idle``. ``address`` is the
    scheduler's (None while a local cluster has not started: it starts when
    a step first runs, or on ``wait_for_completion``).
    """

    provisioning_state: str
    allocation_state: str
    current_node_count: int
    target_node_count: int
    node_state_counts: NodeStateCounts
    scale_settings: ScaleSettings
    vm_size: str = ""
    vm_priority: str = "dedicated"
    address: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        return self.current_node_count

    @property
    def busy(self) -> int:
        return self.node_state_counts.running_node_count

    @property
    def idle(self) -> int:
        return self.node_state_counts.idle_node_count

    def serialize(self) -> dict[str, Any]:
        """The status as a JSON-ready dict (v1 has ``serialize()`` too)."""
        return {**asdict(self), "nodes": self.nodes, "busy": self.busy, "idle": self.idle}

    def __getitem__(self, key: str) -> Any:
        return self.serialize()[key]


def status_from(
    scheduler_info: dict[str, Any] | None,
    processing: dict[str, Any],
    target_node_count: int | None,
    scale: ScaleSettings,
    vm_size: str,
    vm_priority: str,
    errors: list[str] | None = None,
) -> DaskClusterStatus:
    """Build a status from ``client.scheduler_info()`` and ``client.processing()`` (or from nothing yet)."""
    workers = (scheduler_info or {}).get("workers", {})
    running = sum(1 for address in workers if processing.get(address))
    current = len(workers)
    target = current if target_node_count is None else target_node_count
    counts = NodeStateCounts(
        idle_node_count=current - running,
        running_node_count=running,
        preparing_node_count=max(0, target - current),
        leaving_node_count=max(0, current - target),
    )
    address = (scheduler_info or {}).get("address")
    return DaskClusterStatus(
        provisioning_state="Failed" if errors else "Succeeded",
        allocation_state="Steady" if target == current else "Resizing",
        current_node_count=current,
        target_node_count=target,
        node_state_counts=counts,
        scale_settings=scale,
        vm_size=vm_size,
        vm_priority=vm_priority,
        address=address,
        errors=list(errors or []),
    )
