"""A script step that prints a PipelineParameter, then a command step."""

from pathlib import Path

from jupyter_amlpipe import Pipeline, PipelineParameter, Workspace
from jupyter_amlpipe.steps import CommandStep, PythonScriptStep

STEPS = str(Path(__file__).parent / "steps")

ws = Workspace.from_config()
greeting = PipelineParameter(name="greeting", default_value="hello")
greet = PythonScriptStep(
    name="greet", script_name="greet.py", arguments=["--greeting", greeting], source_directory=STEPS
)
announce = CommandStep(name="announce", command="echo command step done", source_directory=STEPS)
announce.run_after(greet)
pipeline = Pipeline(workspace=ws, steps=[announce])

if __name__ == "__main__":
    print("MAIN BLOCK RAN")
