"""One step that waits for a release file named by the `release` parameter."""

from pathlib import Path

from jupyter_amlpipe import Pipeline, PipelineParameter, Workspace
from jupyter_amlpipe.steps import PythonScriptStep

ws = Workspace.from_config()
release = PipelineParameter(name="release", default_value="")
gate = PythonScriptStep(
    "gate.py", name="gate", arguments=["--release", release], source_directory=str(Path(__file__).parent / "steps")
)
pipeline = Pipeline(ws, [gate])
