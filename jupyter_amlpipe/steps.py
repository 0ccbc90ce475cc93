"""Every step class, under its Azure ML SDK v1 name (``azureml.pipeline.steps``)."""

from jupyter_amlpipe.core.steps import (
    AdlaStep,
    CommandStep,
    DatabricksStep,
    DataTransferStep,
    NotebookRunConfig,
    NotebookRunnerStep,
    NotebookStep,
    PythonScriptStep,
    SparkStep,
    SqlStep,
    Step,
    StepSequence,
)

__all__ = [
    "AdlaStep",
    "CommandStep",
    "DataTransferStep",
    "DatabricksStep",
    "NotebookRunConfig",
    "NotebookRunnerStep",
    "NotebookStep",
    "PythonScriptStep",
    "SparkStep",
    "SqlStep",
    "Step",
    "StepSequence",
]
