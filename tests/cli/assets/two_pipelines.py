"""Two Pipeline objects: the command line must be told which one."""

from pathlib import Path

from jupyter_amlpipe import Pipeline, Workspace
from jupyter_amlpipe.steps import CommandStep

STEPS = str(Path(__file__).parent / "steps")
ws = Workspace.from_config()
first = Pipeline(ws, [CommandStep(name="one", command="echo this is the first", source_directory=STEPS)])
second = Pipeline(ws, [CommandStep(name="two", command="echo this is the second", source_directory=STEPS)])
