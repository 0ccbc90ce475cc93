"""Every step class, under its Azure ML SDK v1 name (``azureml.pipeline.steps``)."""

from jupyter_amlpipe.core.steps import (
    CommandStep,
    NotebookRunConfig,
    NotebookRunnerStep,
    NotebookStep,
    PythonScriptStep,
    Step,
    StepSequence,
)

__all__ = [
    "CommandStep",
    "NotebookRunConfig",
    "NotebookRunnerStep",
    "NotebookStep",
    "PythonScriptStep",
    "Step",
    "StepSequence",
]
