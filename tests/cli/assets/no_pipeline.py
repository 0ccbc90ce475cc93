"""Builds its pipeline only under __main__, so there is none at module level."""

from jupyter_amlpipe import Pipeline, Workspace
from jupyter_amlpipe.steps import CommandStep

if __name__ == "__main__":
    pipeline = Pipeline(Workspace.from_config(), [CommandStep(name="x", command="echo x")])
