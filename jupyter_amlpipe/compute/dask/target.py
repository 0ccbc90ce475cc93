"""``DaskCompute``: every step in its own process on a worker of a Dask cluster.

``DaskCompute(workspace, name, address=None, min_nodes=0, max_nodes=4)``. With
no ``address`` a local cluster (a scheduler in this process, worker processes
on 127.0.0.1) starts when a step first runs, grows and shrinks between
``min_nodes`` and ``max_nodes`` workers, is shared by the runs of this
process, and closes at exit. With ``address="tcp://host:port"`` steps go to
that scheduler, whose workers may be on other machines.

A step runs exactly as on LocalCompute (the same program, environment
variables, working directory and log files), started by a task on a worker.
The step reads and writes the workspace's folders and datastores by path, so
workers on other machines need the workspace on shared storage mounted at the
same path, and datastores that every worker reaches (shared folders, Azure
Blob, S3). This module does not import dask: it is loaded when a step first
runs or the cluster is asked for.
"""

from __future__ import annotations

import os
import platform
import sys
import uuid
from typing import Any

from jupyter_amlpipe.compute.dask import cluster as clusters
from jupyter_amlpipe.compute.dask._worker import WORKER_PYTHON, run_step
from jupyter_amlpipe.compute.dask.handle import DaskJobHandle, release_pending
from jupyter_amlpipe.compute.dask.status import DaskClusterStatus, ScaleSettings, status_from
from jupyter_amlpipe.compute.local import program_argv
from jupyter_amlpipe.core.compute_target import ComputeTarget, refuse_inside_step
from jupyter_amlpipe.errors import ComputeError, DefinitionError
from jupyter_amlpipe.runner.job import StepJob

DEFAULT_MAX_NODES = 4  # v1's AmlCompute default


def _count(value: Any, what: str, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DefinitionError(f"DaskCompute {name!r}: {what} must be an integer >= {minimum}, got {value!r}.")
    return value


class DaskProvisioningConfiguration:
    """What ``DaskCompute.provisioning_configuration(...)`` gives to ``ComputeTarget.create``."""

    _target_type = "dask"

    def __init__(self, **settings: Any) -> None:
        self.settings = settings


class DaskCompute(ComputeTarget):
    """Run each step in its own process on a Dask worker, at most ``max_nodes`` steps at once.

    ``idle_seconds_before_scaledown``: how long an idle worker of the local
    cluster stays (default: about 1.5 s). ``vm_size`` and ``vm_priority``
    (from v1's provisioning configuration) are recorded and shown in
    ``status`` only.
    """

    type = "dask"

    def __init__(
        self,
        workspace: Any = None,
        name: str = "dask",
        address: str | None = None,
        min_nodes: int = 0,
        max_nodes: int = DEFAULT_MAX_NODES,
        idle_seconds_before_scaledown: int | None = None,
        vm_size: str = "",
        vm_priority: str = "dedicated",
        _check_installed: bool = True,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise DefinitionError(
                f"DaskCompute {name!r}: unexpected arguments {sorted(kwargs)}. It takes address, min_nodes, "
                "max_nodes, idle_seconds_before_scaledown, vm_size and vm_priority."
            )
        if address is not None and (not isinstance(address, str) or "://" not in address):
            raise DefinitionError(
                f"DaskCompute {name!r}: address must be a scheduler address like 'tcp://10.0.0.5:8786' "
                f"(or None for a local cluster), got {address!r}."
            )
        self.min_nodes = _count(min_nodes, "min_nodes", name, 0)
        self.max_nodes = _count(max_nodes, "max_nodes", name, 1)
        if self.min_nodes > self.max_nodes:
            raise DefinitionError(
                f"DaskCompute {name!r}: min_nodes ({min_nodes}) is larger than max_nodes ({max_nodes})."
            )
        if idle_seconds_before_scaledown is not None:
            _count(idle_seconds_before_scaledown, "idle_seconds_before_scaledown", name, 0)
        if _check_installed:
            clusters.require_distributed(f"DaskCompute {name!r}")
        self.workspace = workspace
        self.name = name
        self.address = address
        self.idle_seconds_before_scaledown = idle_seconds_before_scaledown
        self.vm_size = vm_size or ""
        self.vm_priority = vm_priority
        config: dict[str, Any] = {"address": address, "min_nodes": self.min_nodes, "max_nodes": self.max_nodes}
        for key, value, default in (
            ("idle_seconds_before_scaledown", idle_seconds_before_scaledown, None),
            ("vm_size", self.vm_size, ""),
            ("vm_priority", vm_priority, "dedicated"),
        ):
            if value != default:
                config[key] = value
        self._record(config)

    # -- v1 management ------------------------------------------------------------------
    @staticmethod
    def provisioning_configuration(**settings: Any) -> DaskProvisioningConfiguration:
        """Settings for ``ComputeTarget.create(ws, name, ...)``: the keyword arguments of DaskCompute."""
        return DaskProvisioningConfiguration(**settings)

    @classmethod
    def _provision(cls, workspace: Any, name: str, config: Any) -> ComputeTarget:
        settings = getattr(config, "settings", None)
        if settings is not None:  # DaskCompute.provisioning_configuration(...)
            return cls(workspace=workspace, name=name, **settings)
        # v1's AmlCompute.provisioning_configuration(vm_size, vm_priority, min_nodes, max_nodes, ...)
        max_nodes = getattr(config, "max_nodes", None)
        return cls(
            workspace=workspace,
            name=name,
            min_nodes=int(getattr(config, "min_nodes", 0) or 0),
            max_nodes=DEFAULT_MAX_NODES if max_nodes is None else max_nodes,
            idle_seconds_before_scaledown=getattr(config, "idle_seconds_before_scaledown", None),
            vm_size=getattr(config, "vm_size", "") or "",
            vm_priority=getattr(config, "vm_priority", "dedicated") or "dedicated",
        )

    @classmethod
    def _from_config(cls, workspace: Any, name: str, config: dict[str, Any]) -> ComputeTarget:
        # A recorded target loads without dask installed; running a step on it then says what to install.
        return cls(workspace=workspace, name=name, _check_installed=False, **config)

    def _key(self) -> clusters.LocalSpec | str:
        if self.address is not None:
            return self.address
        return clusters.LocalSpec(self.name, self.min_nodes, self.max_nodes, self.idle_seconds_before_scaledown)

    def _connection(self) -> clusters.Connection:
        clusters.require_distributed(f"DaskCompute {self.name!r}")
        return clusters.connection(self._key())

    @property
    def max_concurrency(self) -> int:
        return self.max_nodes

    @property
    def status(self) -> DaskClusterStatus:
        """Nodes (workers), busy and idle, in v1's AmlComputeStatus shape. Does not start a local cluster."""
        scale = ScaleSettings(self.min_nodes, self.max_nodes, self.idle_seconds_before_scaledown)
        made = clusters.existing(self._key())
        if made is None and self.address is not None:
            try:
                made = self._connection()
            except ComputeError as exc:
                return status_from(None, {}, 0, scale, self.vm_size, self.vm_priority, errors=[exc.message])
        if made is None:
            return status_from(None, {}, None, scale, self.vm_size, self.vm_priority)
        info = made.client.scheduler_info(n_workers=-1)
        processing = made.client.processing()
        target = len(made.cluster.worker_spec) if made.cluster is not None else None
        return status_from(info, processing, target, scale, self.vm_size, self.vm_priority)

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count: int | None = None,
        timeout_in_minutes: int = 25,
        is_delete_operation: bool = False,
    ) -> None:
        """Start (or reach) the cluster and wait for ``min_node_count`` workers (default ``min_nodes``).

        A local cluster keeps at least ``min_nodes`` workers when idle, so
        ``min_node_count`` above that is waited for only with an address.
        """
        refuse_inside_step(f"DaskCompute({self.name!r}).wait_for_completion")
        if is_delete_operation:
            return
        made = self._connection()
        wanted = self.min_nodes if min_node_count is None else int(min_node_count)
        if made.cluster is not None:
            wanted = min(wanted, self.min_nodes)
        if wanted > 0:
            try:
                made.client.wait_for_workers(wanted, timeout=timeout_in_minutes * 60)
            except TimeoutError as exc:
                raise ComputeError(
                    f"DaskCompute {self.name!r}: fewer than {wanted} workers joined the scheduler at "
                    f"{made.client.scheduler.address} within {timeout_in_minutes} minutes. Start workers with "
                    f"`dask worker {made.client.scheduler.address} --nthreads 1`."
                ) from exc
        if show_output:
            state = self.status
            print(
                f"Compute target {self.name!r} (dask, {state.address}): {state.provisioning_state}; "
                f"nodes {state.current_node_count} (running {state.busy}, idle {state.idle}), "
                f"min {self.min_nodes}, max {self.max_nodes}"
            )

    def delete(self) -> None:
        """Close this target's local cluster (or its connection) and remove it from the workspace."""
        refuse_inside_step(f"DaskCompute({self.name!r}).delete")
        clusters.close(self._key())
        super().delete()

    # -- what the runner uses -------------------------------------------------------------
    def describe_environment(self, environment: Any) -> dict[str, Any]:
        spec = environment.digest() if environment is not None else None
        if self.address is not None:  # the workers' Python is theirs: the scheduler names it
            return {"dask": self.address, "environment": spec}
        return {"python": os.path.realpath(sys.executable), "version": platform.python_version(), "environment": spec}

    def check_step(self, step: Any) -> list[str]:
        env = step.environment
        warnings = []
        if env is not None and env.has_packages():
            warnings.append(
                f"Step {step.name!r}: environment {env.name!r} lists packages; DaskCompute does not install them "
                "(the step runs with the workers' Python): install them on every worker."
            )
        if bool(getattr(getattr(env, "docker", None), "enabled", False)):
            warnings.append(
                f"Step {step.name!r}: environment {env.name!r} asks for Docker; DaskCompute runs steps as processes "
                "on its workers. Use a DockerCompute target to run it in a container."
            )
        return warnings

    def start(self, job: StepJob) -> DaskJobHandle:
        made = self._connection()
        argv, description = program_argv(job, WORKER_PYTHON)
        # A local cluster's workers are this machine: the step sees this process's environment, as on
        # LocalCompute. A remote worker keeps its own (PATH, HOME ... of its machine).
        base_env = dict(os.environ) if made.cluster is not None else None
        key = f"amlpipe-step-{job.step_run_id}-{uuid.uuid4().hex[:8]}"
        for path in (job.stdout_path, job.stderr_path):
            path.touch(exist_ok=True)
        future = made.client.submit(
            run_step,
            key,
            argv,
            description,
            job.step_name,
            str(job.workdir),
            base_env,
            dict(job.env),
            str(job.stdout_path),
            str(job.stderr_path),
            key=key,
            pure=False,
            retries=0,
        )
        release_pending()  # the steps finished before: released after this submit, not before it
        where = self.address or "a local Dask cluster"
        return DaskJobHandle(made.client, future, key, job.stderr_path, f"{description} on {where}")

    def __repr__(self) -> str:
        where = self.address or f"local, {self.min_nodes}-{self.max_nodes} workers"
        return f"DaskCompute(name={self.name!r}, {where})"
