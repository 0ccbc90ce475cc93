"""Step definitions and the registry of step types."""

from jupyter_amlpipe.core.registry import Registry
from jupyter_amlpipe.core.steps.base import Step, StepSequence
from jupyter_amlpipe.core.steps.notebook import NotebookRunConfig, NotebookRunnerStep, NotebookStep
from jupyter_amlpipe.core.steps.script import CommandStep, PythonScriptStep
from jupyter_amlpipe.core.steps.spark import DatabricksStep, SparkStep
from jupyter_amlpipe.core.steps.sql import AdlaStep, SqlStep
from jupyter_amlpipe.core.steps.transfer import DataTransferStep

STEP_TYPES: Registry[type[Step]] = Registry("step type", "jupyter_amlpipe.step_types")
STEP_TYPES.register(PythonScriptStep.step_type, PythonScriptStep)
STEP_TYPES.register(CommandStep.step_type, CommandStep)
STEP_TYPES.register(NotebookStep.step_type, NotebookStep)
STEP_TYPES.register(DatabricksStep.step_type, DatabricksStep)
STEP_TYPES.register(DataTransferStep.step_type, DataTransferStep)
STEP_TYPES.register(AdlaStep.step_type, AdlaStep)

__all__ = [
    "STEP_TYPES",
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
