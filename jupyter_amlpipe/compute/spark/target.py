"""``SparkCompute`` (the Azure Databricks compute target, on PySpark) and v1's ``DatabricksCompute`` names.

A SparkCompute runs each step in its own process on this machine, as
LocalCompute does; a DatabricksStep's process submits its Spark job to the
target's ``master`` (``local[*]`` by default, or a standalone cluster's
``spark://host:port``) with the target's ``spark_conf`` under the step's own.
pyspark is not imported here: a step checks for it (and for Java) when it
starts, and fails with the command to run when one is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jupyter_amlpipe.compute.local import DEFAULT_KERNEL_POOL_SIZE, LocalCompute
from jupyter_amlpipe.compute.spark._submit import (
    DEFAULT_MASTER,
    ENV_CONF,
    ENV_MASTER,
    check_master,
    check_spark,
)
from jupyter_amlpipe.core.compute_target import ComputeTarget
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.runner.job import JobHandle, StepJob


def _conf(value: Mapping[str, Any] | None, owner: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DefinitionError(f"{owner}: spark_conf must be a dict of Spark settings, got {type(value).__name__}.")
    out = {}
    for key, item in value.items():
        if not isinstance(item, (str, int, float, bool)):
            raise DefinitionError(f"{owner}: spark_conf[{key!r}] must be a string, number or boolean, got {item!r}.")
        out[str(key)] = str(item).lower() if isinstance(item, bool) else str(item)
    return out


def _pyspark_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyspark")
    except PackageNotFoundError:
        return None


class SparkCompute(LocalCompute):
    """Run steps on this machine; DatabricksSteps submit their Spark jobs to ``master``.

    ``SparkCompute(ws, "spark")`` uses ``local[*]`` (Spark in the step's own
    JVM, on every core); ``master="spark://host:port"`` submits to a
    standalone cluster whose workers may be other machines (steps then need
    their data on shared storage or an object store). ``spark_conf`` applies
    to every Spark job on this target; a step's own ``spark_conf`` wins.
    """

    type = "spark"

    def __init__(
        self,
        workspace: Any = None,
        name: str = "spark",
        master: str = DEFAULT_MASTER,
        spark_conf: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
        kernel_pool_size: int = DEFAULT_KERNEL_POOL_SIZE,
        **kwargs: Any,
    ) -> None:
        owner = f"SparkCompute {name!r}"
        self.master = check_master(master, owner)
        self.spark_conf = _conf(spark_conf, owner)
        super().__init__(None, name, max_concurrency=max_concurrency, kernel_pool_size=kernel_pool_size)
        self.workspace = workspace
        config: dict[str, Any] = {"master": self.master, "spark_conf": self.spark_conf}
        config["max_concurrency"] = max_concurrency
        if kernel_pool_size != DEFAULT_KERNEL_POOL_SIZE:
            config["kernel_pool_size"] = kernel_pool_size
        self._record(config)

    @classmethod
    def _provision(cls, workspace: Any, name: str, config: Any) -> ComputeTarget:
        return cls(
            workspace=workspace,
            name=name,
            master=getattr(config, "master", DEFAULT_MASTER),
            spark_conf=getattr(config, "spark_conf", None),
        )

    @property
    def status(self) -> Any:
        return {
            "provisioning_state": "Succeeded",
            "master": self.master,
            "max_concurrency": self.max_concurrency,
            "pyspark": _pyspark_version(),
        }

    def describe_environment(self, environment: Any) -> dict[str, Any]:
        """LocalCompute's description plus the pyspark version and this target's Spark conf (part of reuse keys)."""
        return {
            **super().describe_environment(environment),
            "spark": {"pyspark": _pyspark_version(), "spark_conf": dict(self.spark_conf)},
        }

    def check_step(self, step: Any) -> list[str]:
        notes = getattr(step, "_notes", None)
        return super().check_step(step) + (list(notes()) if callable(notes) else [])

    def start(self, job: StepJob) -> JobHandle:
        if job.program.get("spark") is not None:  # fail now, with what to install, rather than in the step process
            check_spark(f"DatabricksStep {job.step_name!r} on SparkCompute {self.name!r}")
        job.env[ENV_MASTER] = self.master
        job.env[ENV_CONF] = json.dumps(self.spark_conf)
        return super().start(job)

    def __repr__(self) -> str:
        return f"SparkCompute(name={self.name!r}, master={self.master!r})"


class DatabricksAttachConfiguration:
    """What ``DatabricksCompute.attach_configuration`` returns; ``ComputeTarget.attach`` makes a SparkCompute of it."""

    _target_type = "spark"

    def __init__(
        self,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        access_token: str = "",
        master: str = DEFAULT_MASTER,
        spark_conf: Mapping[str, Any] | None = None,
    ) -> None:
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        self.access_token = access_token  # accepted for v1 code; never stored
        self.master = check_master(master, "DatabricksCompute.attach_configuration")
        self.spark_conf = dict(spark_conf or {})

    def __repr__(self) -> str:
        return f"DatabricksAttachConfiguration(master={self.master!r})"


class _DatabricksComputeMeta(type):
    """Makes every SparkCompute an instance of DatabricksCompute (v1 code checks ``isinstance(t, DatabricksCompute)``)."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, SparkCompute) or type.__instancecheck__(cls, instance)

    def __subclasscheck__(cls, subclass: Any) -> bool:
        return type.__subclasscheck__(cls, subclass) or (
            isinstance(subclass, type) and issubclass(subclass, SparkCompute)
        )


class DatabricksCompute(metaclass=_DatabricksComputeMeta):
    """v1 ``DatabricksCompute``: ``DatabricksCompute(ws, name)`` fetches a target; ``attach_configuration`` makes one.

    ``ComputeTarget.attach(ws, "databricks", DatabricksCompute.attach_configuration(...))``
    gives a SparkCompute. The Azure arguments (resource group, workspace name,
    access token) are accepted and not used; ``master`` and ``spark_conf``
    choose the Spark it runs on.
    """

    def __new__(cls, workspace: Any, name: str) -> Any:
        return ComputeTarget(workspace, name)

    @staticmethod
    def attach_configuration(
        resource_group: str | None = None,
        workspace_name: str | None = None,
        access_token: str = "",
        master: str = DEFAULT_MASTER,
        spark_conf: Mapping[str, Any] | None = None,
    ) -> DatabricksAttachConfiguration:
        return DatabricksAttachConfiguration(resource_group, workspace_name, access_token, master, spark_conf)


__all__ = ["DatabricksAttachConfiguration", "DatabricksCompute", "SparkCompute"]
