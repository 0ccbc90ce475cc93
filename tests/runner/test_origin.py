"""What started a run, as the run's properties, the CLI and the JupyterLab panel show it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ipykernel  # noqa: F401  (imported, as test runners and tools do, without being a kernel)

from jupyter_amlpipe import Experiment, Pipeline
from jupyter_amlpipe.steps import CommandStep


def test_a_process_that_only_imported_ipykernel_is_a_script_not_a_notebook(workspace: Any, tmp_path: Path) -> None:
    step = CommandStep(name="hello", command="echo hello", source_directory=str(tmp_path))
    run = Experiment(workspace, "origin").submit(Pipeline(workspace, [step]))
    run.wait_for_completion()
    assert run.get_properties()["amlpipe.started_by"] == "script"


def test_the_started_by_variable_wins(workspace: Any, tmp_path: Path) -> None:
    code = (
        "import sys; from jupyter_amlpipe import Workspace, Experiment, Pipeline;"
        "from jupyter_amlpipe.steps import CommandStep;"
        f"ws = Workspace(path={str(workspace.path)!r});"
        f"s = CommandStep(name='hi', command='echo hi', source_directory={str(tmp_path)!r});"
        "r = Experiment(ws, 'origin').submit(Pipeline(ws, [s])); r.wait_for_completion();"
        "print(r.get_properties()['amlpipe.started_by'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "AMLPIPE_STARTED_BY": "scheduler-x"},
    )
    assert out.stdout.strip().splitlines()[-1] == "scheduler-x"
