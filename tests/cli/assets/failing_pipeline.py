"""One script step that exits non-zero."""

from pathlib import Path

from jupyter_amlpipe import Pipeline, Workspace
from jupyter_amlpipe.steps import PythonScriptStep

ws = Workspace.from_config()
pipeline = Pipeline(
    ws, [PythonScriptStep("fail.py", name="check", source_directory=str(Path(__file__).parent / "steps"))]
)
