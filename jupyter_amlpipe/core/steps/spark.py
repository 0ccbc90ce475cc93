"""``DatabricksStep`` (alias ``SparkStep``): a PySpark script or notebook as a pipeline step.

The step compiles to a ``module`` program: the step process runs the Spark
runtime module (:mod:`jupyter_amlpipe.compute.spark._runtime`) with the
backend's Python. The
runtime runs the script with ``spark-submit``, or the notebook with papermill
and a ready ``spark`` session. The Spark master comes from the compute target
(``SparkCompute(master=...)``); on any other target it is ``local[*]``.

Settings that only mean something on Azure Databricks (cluster ids, node
types, libraries to install, init scripts) are accepted, so v1 code runs
unchanged, and ignored; :meth:`DatabricksStep._notes` lists them and a
SparkCompute shows them as warnings when the pipeline is submitted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_amlpipe.core.data import PipelineParameter, data_name
from jupyter_amlpipe.core.environment import Environment, RunConfiguration
from jupyter_amlpipe.core.naming import check_json_value
from jupyter_amlpipe.core.steps.base import Resolver, Step, ValueResolver, capture, show
from jupyter_amlpipe.errors import DefinitionError

RUNTIME_MODULE = "jupyter_amlpipe.compute.spark._runtime"
"""The module the step process runs (``python -m``); it lives with the Spark compute backend."""

SUPPORTED = "python_script_name (a script in source_directory) or notebook_path (a .ipynb in source_directory)"

# Azure Databricks cluster settings with no meaning for a local or standalone Spark: accepted and ignored.
_CLUSTER_ONLY = (
    "existing_cluster_id",
    "spark_version",
    "node_type",
    "instance_pool_id",
    "init_scripts",
    "cluster_log_dbfs_path",
)
# Libraries Databricks would install on the cluster: not installed here (as LocalCompute with packages).
_LIBRARIES = ("maven_libraries", "pypi_libraries", "egg_libraries", "jar_libraries", "rcran_libraries")


def _workers(value: Any, what: str, step_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DefinitionError(f"DatabricksStep {step_name!r}: {what} must be a positive integer, got {value!r}.")
    return value


def _string_map(value: Mapping[str, Any] | None, what: str, step_name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DefinitionError(f"DatabricksStep {step_name!r}: {what} must be a dict, got {type(value).__name__}.")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, (str, int, float, bool)):
            raise DefinitionError(
                f"DatabricksStep {step_name!r}: {what}[{key!r}] must be a string, number or boolean, got {item!r}."
            )
        out[str(key)] = str(item).lower() if isinstance(item, bool) else str(item)
    return out


class DatabricksStep(Step):
    """Run a PySpark script or notebook (v1 ``DatabricksStep``; also importable as ``SparkStep``).

    Give either ``python_script_name`` (with ``python_script_params``) or
    ``notebook_path`` (with ``notebook_params``), relative to
    ``source_directory``. A script gets ``python_script_params`` first, then
    ``--<name> <path>`` for every input (its ``data_reference_name`` or
    PipelineData name) and every output. A notebook gets ``notebook_params``,
    inputs and outputs as papermill parameters (and through
    ``dbutils.widgets.get(name)``), and a SparkSession as ``spark``.
    """

    step_type = "databricks"

    def __init__(
        self,
        name: str,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        existing_cluster_id: str | None = None,
        spark_version: str | None = None,
        node_type: str | None = None,
        instance_pool_id: str | None = None,
        num_workers: int | None = None,
        min_workers: int | None = None,
        max_workers: int | None = None,
        spark_env_variables: Mapping[str, Any] | None = None,
        spark_conf: Mapping[str, Any] | None = None,
        init_scripts: Sequence[str] | None = None,
        cluster_log_dbfs_path: str | None = None,
        notebook_path: str | None = None,
        notebook_params: Mapping[str, Any] | None = None,
        python_script_path: str | None = None,
        python_script_params: Sequence[Any] | None = None,
        main_class_name: str | None = None,
        jar_params: Sequence[Any] | None = None,
        python_script_name: str | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        hash_paths: Sequence[str] | None = None,
        run_name: str | None = None,
        timeout_seconds: float | None = None,
        runconfig: RunConfiguration | None = None,
        maven_libraries: Sequence[Any] | None = None,
        pypi_libraries: Sequence[Any] | None = None,
        egg_libraries: Sequence[Any] | None = None,
        jar_libraries: Sequence[Any] | None = None,
        rcran_libraries: Sequence[Any] | None = None,
        compute_target: Any = None,
        allow_reuse: bool = True,
        version: str | None = None,
        *,
        environment: Environment | None = None,
    ) -> None:
        self._spec = capture(locals())
        label = name if isinstance(name, str) and name else "DatabricksStep"
        if main_class_name is not None or jar_params is not None:
            raise DefinitionError(
                f"DatabricksStep {label!r}: JAR steps (main_class_name, jar_params) are not "
                f"supported. Supported: {SUPPORTED}."
            )
        if python_script_path is not None:
            raise DefinitionError(
                f"DatabricksStep {label!r}: python_script_path names a script on DBFS, which does not exist here. "
                f"Put the script in source_directory and pass python_script_name={os.path.basename(python_script_path)!r}."
            )
        if (python_script_name is None) == (notebook_path is None):
            given = "both" if python_script_name is not None else "neither"
            raise DefinitionError(
                f"DatabricksStep {label!r}: give exactly one of python_script_name and notebook_path ({given} given). "
                f"Supported: {SUPPORTED}."
            )
        if python_script_name is not None and (not isinstance(python_script_name, str) or not python_script_name):
            raise DefinitionError(
                f"DatabricksStep {label!r}: python_script_name must be a file name, got {python_script_name!r}."
            )
        if notebook_path is not None:
            if not isinstance(notebook_path, str) or not notebook_path.endswith(".ipynb"):
                raise DefinitionError(
                    f"DatabricksStep {label!r}: notebook_path must name a .ipynb notebook in source_directory "
                    f"(a Databricks workspace path cannot be reached here), got {notebook_path!r}."
                )
            if python_script_params:
                raise DefinitionError(
                    f"DatabricksStep {label!r}: python_script_params go with python_script_name; "
                    "a notebook takes notebook_params."
                )
        if python_script_name is not None and notebook_params:
            raise DefinitionError(
                f"DatabricksStep {label!r}: notebook_params go with notebook_path; a script takes python_script_params."
            )
        self.python_script_name = python_script_name
        self.notebook_path = notebook_path
        self.notebook_params: dict[str, Any] = dict(notebook_params or {})
        for key, value in self.notebook_params.items():
            if not isinstance(value, PipelineParameter):
                check_json_value(value, f"DatabricksStep {label!r}: notebook_params[{key!r}]")
        self.num_workers = _workers(num_workers, "num_workers", label)
        self.min_workers = _workers(min_workers, "min_workers", label)
        self.max_workers = _workers(max_workers, "max_workers", label)
        if self.min_workers and self.max_workers and self.min_workers > self.max_workers:
            raise DefinitionError(
                f"DatabricksStep {label!r}: min_workers ({min_workers}) is larger than max_workers ({max_workers})."
            )
        self.spark_conf = _string_map(spark_conf, "spark_conf", label)
        self.spark_env_variables = _string_map(spark_env_variables, "spark_env_variables", label)
        self.run_name = run_name
        ignored = {
            "existing_cluster_id": existing_cluster_id,
            "spark_version": spark_version,
            "node_type": node_type,
            "instance_pool_id": instance_pool_id,
            "init_scripts": init_scripts,
            "cluster_log_dbfs_path": cluster_log_dbfs_path,
            "maven_libraries": maven_libraries,
            "pypi_libraries": pypi_libraries,
            "egg_libraries": egg_libraries,
            "jar_libraries": jar_libraries,
            "rcran_libraries": rcran_libraries,
        }
        self._ignored = sorted(k for k, v in ignored.items() if v)
        super().__init__(
            name,
            inputs=inputs,
            outputs=outputs,
            arguments=python_script_params,
            compute_target=compute_target,
            source_directory=source_directory,
            params=None,
            allow_reuse=allow_reuse,
            hash_paths=hash_paths,
            runconfig=runconfig,
            environment=environment,
            timeout_seconds=timeout_seconds,
            version=version,
        )

    # -- what the runner and compute targets use --------------------------------------
    @property
    def workers(self) -> int | None:
        """The number of Spark workers asked for: ``num_workers``, else ``max_workers`` (autoscale's upper bound)."""
        return self.num_workers or self.max_workers

    def _notes(self) -> list[str]:
        """Settings of this step that have no effect here, in plain words."""
        notes = []
        cluster = [k for k in self._ignored if k in _CLUSTER_ONLY]
        libraries = [k for k in self._ignored if k in _LIBRARIES]
        if cluster:
            notes.append(
                f"DatabricksStep {self.name!r}: ignored here (Azure Databricks cluster settings): {', '.join(cluster)}. "
                "The step runs on its compute target's Spark master."
            )
        if libraries:
            notes.append(
                f"DatabricksStep {self.name!r}: libraries are not installed here ({', '.join(libraries)}); "
                "install them into the Python environment the step runs with."
            )
        if self.num_workers is None and self.max_workers is not None:
            notes.append(
                f"DatabricksStep {self.name!r}: autoscaling (min_workers/max_workers) runs with max_workers="
                f"{self.max_workers} workers."
            )
        return notes

    def _main_file(self) -> str | None:
        return self.python_script_name or self.notebook_path

    def _parameters(self) -> list[PipelineParameter]:
        found = super()._parameters()
        found.extend(v for v in self.notebook_params.values() if isinstance(v, PipelineParameter))
        return found

    def _data_arguments(self, resolve: Resolver) -> list[str]:
        """``--<name> <path>`` for every input, then every output (v1's convention)."""
        out: list[str] = []
        for item in self._inputs:
            out += [f"--{data_name(item)}", resolve(item)]
        for data in self.outputs:
            out += [f"--{data.name}", resolve(data)]
        return out

    def _spark_spec(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        """What the Spark runtime needs: the code, its arguments or parameters, and the Spark settings."""
        spec: dict[str, Any] = {
            "step": self.name,
            "run_name": self.run_name or self.name,
            "num_workers": self.workers,
            "spark_conf": dict(self.spark_conf),
            "spark_env_variables": dict(self.spark_env_variables),
        }
        if self.python_script_name is not None:
            args = self._resolve_arguments(self.arguments, resolve) + self._data_arguments(resolve)
            spec.update({"kind": "script", "script": self.python_script_name, "args": args})
            return spec
        parameters = {k: value_of(v) for k, v in self.notebook_params.items()}
        for item in self._inputs:
            parameters[data_name(item)] = resolve(item)
        for data in self.outputs:
            parameters[data.name] = resolve(data)
        spec.update({"kind": "notebook", "notebook": self.notebook_path, "parameters": parameters})
        return spec

    def _program(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        spec = self._spark_spec(resolve, value_of)
        what = (
            f"Spark script {self.python_script_name!r}"
            if self.python_script_name
            else f"Spark notebook {self.notebook_path!r}"
        )
        return {
            "type": "module",
            "module": RUNTIME_MODULE,
            "args": [json.dumps(spec)],
            "description": what,
            "spark": spec,
        }

    def _definition(self) -> dict[str, Any]:
        return {
            **super()._definition(),
            "python_script_name": self.python_script_name,
            "notebook_path": self.notebook_path,
            "notebook_params": {k: show(v) for k, v in self.notebook_params.items()},
            "num_workers": self.workers,
            "spark_conf": dict(self.spark_conf),
            "spark_env_variables": dict(self.spark_env_variables),
            "run_name": self.run_name,
        }


SparkStep = DatabricksStep
"""The same step under a name that does not mention Databricks."""

__all__ = ["DatabricksStep", "SparkStep"]
