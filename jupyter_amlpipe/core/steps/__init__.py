"""Step definitions and the registry of step types."""

from jupyter_amlpipe.core.registry import Registry
from jupyter_amlpipe.core.steps.base import Step, StepSequence
from jupyter_amlpipe.core.steps.notebook import NotebookRunConfig, NotebookRunnerStep, NotebookStep
from jupyter_amlpipe.core.steps.script import CommandStep, PythonScriptStep

STEP_TYPES: Registry[type[Step]] = Registry("step type", "jupyter_amlpipe.step_types")
STEP_TYPES.register(PythonScriptStep.step_type, PythonScriptStep)
STEP_TYPES.register(CommandStep.step_type, CommandStep)
STEP_TYPES.register(NotebookStep.step_type, NotebookStep)

__all__ = [
    "STEP_TYPES",
    "CommandStep",
    "NotebookRunConfig",
    "NotebookRunnerStep",
    "NotebookStep",
    "PythonScriptStep",
    "Step",
    "StepSequence",
]
