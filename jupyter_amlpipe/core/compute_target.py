"""The compute target base class and the registry of backends.

``ComputeTarget(ws, name)`` fetches a target recorded in the workspace;
``ComputeTarget.create(ws, name, config)`` makes one from a provisioning
configuration. Backends live in ``jupyter_amlpipe.compute.<backend>`` and are
loaded by name from :data:`COMPUTE_TARGETS` only when used.
"""

from __future__ import annotations

import builtins
import os
from typing import Any, ClassVar

from jupyter_amlpipe.core.registry import Registry
from jupyter_amlpipe.errors import ComputeError, ComputeTargetNotFound, DefinitionError, did_you_mean

COMPUTE_TARGETS: Registry[type[ComputeTarget]] = Registry("compute target type", "jupyter_amlpipe.compute_targets")
COMPUTE_TARGETS.register("local", "jupyter_amlpipe.compute.local:LocalCompute")
# v1's AmlCompute.provisioning_configuration(min_nodes, max_nodes) gives a Dask cluster adapting between them.
COMPUTE_TARGETS.register("amlcompute", "jupyter_amlpipe.compute.dask:DaskCompute", extra="dask")
COMPUTE_TARGETS.register("docker", "jupyter_amlpipe.compute.docker:DockerCompute")
COMPUTE_TARGETS.register("dask", "jupyter_amlpipe.compute.dask:DaskCompute", extra="dask")
COMPUTE_TARGETS.register("spark", "jupyter_amlpipe.compute.spark:SparkCompute", extra="spark")
# v1's single-purpose targets, run on this machine: DataTransferStep copies and AdlaStep scripts only.
COMPUTE_TARGETS.register("datafactory", "jupyter_amlpipe.compute.aliases:DataFactoryCompute")
COMPUTE_TARGETS.register("adla", "jupyter_amlpipe.compute.aliases:AdlaCompute")


def refuse_inside_step(action: str) -> None:
    """Management calls on compute targets are refused from inside a running step."""
    if os.environ.get("AMLPIPE_CONTEXT_FILE"):
        raise ComputeError(
            f"{action} was called from inside a running step ({os.environ.get('AMLPIPE_STEP_NAME', '?')}). "
            "Manage compute targets from the code that builds and submits the pipeline, not from a step."
        )


class _ComputeTargetMeta(type):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        # v1: ComputeTarget(workspace, name) fetches an existing target of any type.
        if cls is ComputeTarget:
            workspace = kwargs.pop("workspace", args[0] if args else None)
            name = kwargs.pop("name", args[1] if len(args) > 1 else None)
            if workspace is None or name is None:
                raise DefinitionError("ComputeTarget(workspace, name) needs both a workspace and a name.")
            return ComputeTarget._get(workspace, str(name))
        return super().__call__(*args, **kwargs)


class ComputeTarget(metaclass=_ComputeTargetMeta):
    """Where steps run. Subclasses implement :meth:`start` for one engine."""

    type: ClassVar[str] = ""
    name: str
    workspace: Any

    def __init__(self, workspace: Any = None, name: str = "", **kwargs: Any) -> None:
        self.workspace = workspace
        self.name = name

    # -- v1 management API ----------------------------------------------------
    @staticmethod
    def create(workspace: Any, name: str, provisioning_configuration: Any) -> ComputeTarget:
        """Create (or update) a compute target from a ``provisioning_configuration``."""
        refuse_inside_step("ComputeTarget.create")
        kind = getattr(provisioning_configuration, "_target_type", None)
        if kind is None:
            raise DefinitionError(
                f"ComputeTarget.create({name!r}): {type(provisioning_configuration).__name__} is not a provisioning "
                "configuration. Use e.g. AmlCompute.provisioning_configuration(max_nodes=4)."
            )
        cls = COMPUTE_TARGETS.get(kind)
        return cls._provision(workspace, name, provisioning_configuration)

    @staticmethod
    def attach(workspace: Any, name: str, attach_configuration: Any) -> ComputeTarget:
        refuse_inside_step("ComputeTarget.attach")
        return ComputeTarget.create(workspace, name, attach_configuration)

    @staticmethod
    def list(workspace: Any) -> list[ComputeTarget]:
        return list(workspace.compute_targets.values())

    @classmethod
    def _provision(cls, workspace: Any, name: str, config: Any) -> ComputeTarget:
        raise DefinitionError(f"Compute target type {cls.type!r} cannot be created from a provisioning configuration.")

    @staticmethod
    def _get(workspace: Any, name: str) -> ComputeTarget:
        record = workspace._store.get_named("compute_targets", name)
        if record is None:
            known = [r["name"] for r in workspace._store.list_named("compute_targets")]
            raise ComputeTargetNotFound(
                f"No compute target {name!r} in workspace {workspace.name!r}.{did_you_mean(name, known)} "
                f"Create one with LocalCompute(workspace=ws, name={name!r}).",
                name=name,
            )
        return ComputeTarget._from_record(workspace, record)

    @staticmethod
    def _from_record(workspace: Any, record: dict[str, Any]) -> ComputeTarget:
        cls = COMPUTE_TARGETS.get(record["kind"])
        return cls._from_config(workspace, record["name"], record["config"])

    @classmethod
    def _from_config(cls, workspace: Any, name: str, config: dict[str, Any]) -> ComputeTarget:
        return cls(workspace=workspace, name=name, **config)

    def _record(self, config: dict[str, Any]) -> None:
        """Record this target in its workspace (idempotent), so other processes find it by name."""
        if self.workspace is not None:
            self.workspace._store.put_named("compute_targets", self.name, self.type, config)

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 25,
        is_delete_operation: bool = False,
    ) -> None:
        """Provisioning is immediate for local targets."""
        if show_output:
            print(f"Compute target {self.name!r} ({self.type}): Succeeded")

    @property
    def provisioning_state(self) -> str:
        return "Succeeded"

    def get_status(self) -> Any:
        return self.status

    @property
    def status(self) -> Any:
        return {"provisioning_state": self.provisioning_state}

    def delete(self) -> None:
        refuse_inside_step("ComputeTarget.delete")
        if self.workspace is not None:
            self.workspace._store.delete_named("compute_targets", self.name)

    def detach(self) -> None:
        self.delete()

    # -- what the runner uses ---------------------------------------------------
    @property
    def max_concurrency(self) -> int:
        return 1

    def start(self, job: Any) -> Any:  # pragma: no cover - every backend implements it
        raise NotImplementedError

    def check_step(self, step: Any) -> builtins.list[str]:
        """Warnings about running ``step`` on this target (shown when the pipeline is submitted)."""
        return []

    def describe_environment(self, environment: Any) -> dict[str, Any]:
        """What identifies the software a step gets on this target (part of the reuse key)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
