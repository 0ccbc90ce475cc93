"""jupyter_amlpipe: Azure ML SDK v1 pipelines, run locally, in Docker, on Dask or Spark.

The public names are the v1 names. They are loaded on first use, so
``import jupyter_amlpipe`` stays fast and pulls in no optional engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Workspace": "jupyter_amlpipe.workspace.workspace",
    "Datastore": "jupyter_amlpipe.workspace.datastore",
    "Dataset": "jupyter_amlpipe.workspace.dataset",
    "OutputFileDatasetConfig": "jupyter_amlpipe.core.dataset",
    "OutputTabularDatasetConfig": "jupyter_amlpipe.core.dataset",
    "EnvSecret": "jupyter_amlpipe.workspace.credentials",
    "DataReference": "jupyter_amlpipe.core.data",
    "DataPath": "jupyter_amlpipe.core.data",
    "DataPathComputeBinding": "jupyter_amlpipe.core.data",
    "PipelineData": "jupyter_amlpipe.core.data",
    "PipelineParameter": "jupyter_amlpipe.core.data",
    "Pipeline": "jupyter_amlpipe.core.pipeline",
    "StepSequence": "jupyter_amlpipe.core.steps.base",
    "Environment": "jupyter_amlpipe.core.environment",
    "RunConfiguration": "jupyter_amlpipe.core.environment",
    "ScriptRunConfig": "jupyter_amlpipe.core.script_run_config",
    "CondaDependencies": "jupyter_amlpipe.core.environment",
    "ComputeTarget": "jupyter_amlpipe.core.compute_target",
    "SparkCompute": "jupyter_amlpipe.compute.spark",
    "DaskCompute": "jupyter_amlpipe.compute.dask",
    "Experiment": "jupyter_amlpipe.runner.experiment",
    "Run": "jupyter_amlpipe.context.run",
    "PipelineRun": "jupyter_amlpipe.runner.runs",
    "StepRun": "jupyter_amlpipe.runner.runs",
    "PortDataReference": "jupyter_amlpipe.runner.runs",
    "AmlpipeError": "jupyter_amlpipe.errors",
    "PublishedPipeline": "jupyter_amlpipe.publish.published",
    "PipelineEndpoint": "jupyter_amlpipe.publish.endpoints",
    "Schedule": "jupyter_amlpipe.publish.schedules",
    "ScheduleRecurrence": "jupyter_amlpipe.publish.recurrence",
    "TimeZone": "jupyter_amlpipe.publish.time_zones",
}

__all__ = [
    "AmlpipeError",
    "ComputeTarget",
    "CondaDependencies",
    "DaskCompute",
    "DataPath",
    "DataPathComputeBinding",
    "DataReference",
    "Dataset",
    "Datastore",
    "EnvSecret",
    "Environment",
    "Experiment",
    "OutputFileDatasetConfig",
    "OutputTabularDatasetConfig",
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineParameter",
    "PipelineRun",
    "PortDataReference",
    "PublishedPipeline",
    "Run",
    "RunConfiguration",
    "Schedule",
    "ScheduleRecurrence",
    "ScriptRunConfig",
    "SparkCompute",
    "StepRun",
    "StepSequence",
    "TimeZone",
    "Workspace",
    "__version__",
]

if TYPE_CHECKING:
    from jupyter_amlpipe.compute.dask import DaskCompute
    from jupyter_amlpipe.compute.spark import SparkCompute
    from jupyter_amlpipe.context.run import Run
    from jupyter_amlpipe.core.compute_target import ComputeTarget
    from jupyter_amlpipe.core.data import (
        DataPath,
        DataPathComputeBinding,
        DataReference,
        PipelineData,
        PipelineParameter,
    )
    from jupyter_amlpipe.core.dataset import OutputFileDatasetConfig, OutputTabularDatasetConfig
    from jupyter_amlpipe.core.environment import CondaDependencies, Environment, RunConfiguration
    from jupyter_amlpipe.core.pipeline import Pipeline
    from jupyter_amlpipe.core.script_run_config import ScriptRunConfig
    from jupyter_amlpipe.core.steps.base import StepSequence
    from jupyter_amlpipe.errors import AmlpipeError
    from jupyter_amlpipe.runner.experiment import Experiment
    from jupyter_amlpipe.runner.runs import PipelineRun, PortDataReference, StepRun
    from jupyter_amlpipe.workspace.credentials import EnvSecret
    from jupyter_amlpipe.workspace.dataset import Dataset
    from jupyter_amlpipe.workspace.datastore import Datastore
    from jupyter_amlpipe.workspace.workspace import Workspace


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_amlpipe``: register the ``%%amlstep`` and ``%amlpipe`` magics."""
    # Imported by name at call time: the root package does not depend on its front-ends.
    importlib.import_module("jupyter_amlpipe.jupyter").load_ipython_extension(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension that serves the JupyterLab panel's API under ``/amlpipe/api``."""
    return [{"module": "jupyter_amlpipe.jupyter.serverext"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (the sidebar panel), built into ``jupyter_amlpipe/labextension``."""
    return [{"src": "labextension", "dest": "jupyter-amlpipe"}]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_amlpipe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
