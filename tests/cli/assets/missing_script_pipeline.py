"""A step whose script does not exist."""

from pathlib import Path

from jupyter_amlpipe import Pipeline, Workspace
from jupyter_amlpipe.steps import PythonScriptStep

ws = Workspace.from_config()
step = PythonScriptStep("no_such_script.py", name="ghost", source_directory=str(Path(__file__).parent / "steps"))
pipeline = Pipeline(ws, [step])
