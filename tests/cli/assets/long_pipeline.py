"""One command step that sleeps far longer than any test waits."""

from pathlib import Path

from jupyter_amlpipe import Pipeline, Workspace
from jupyter_amlpipe.steps import CommandStep

ws = Workspace.from_config()
nap = CommandStep(
    name="nap",
    command="echo nap started; sleep 300; echo nap ended",
    source_directory=str(Path(__file__).parent / "steps"),
)
pipeline = Pipeline(ws, [nap])
