"""Submit a one-step pipeline on DockerCompute from FOLDER (argv[1]) and print its status and output folder.

Run as the user whose ownership the test checks; prints ``STATUS <status>``,
``OUTPUT <folder>`` and ``RUNDIR <step run folder>``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_amlpipe import Experiment, Pipeline, PipelineData, Workspace
from jupyter_amlpipe.compute import DockerCompute
from jupyter_amlpipe.steps import PythonScriptStep

folder = Path(sys.argv[1])
ws = Workspace.create("owner", path=folder / "ws", exist_ok=True)
out = PipelineData("owned", datastore=ws.get_default_datastore())
step = PythonScriptStep(
    "docker_owner.py",
    name="owner",
    arguments=[out],
    outputs=[out],
    source_directory=str(folder / "src"),
    compute_target=DockerCompute(workspace=ws, name="docker"),
)
run = Experiment(ws, "owner").submit(Pipeline(ws, [step]))
status = run.wait_for_completion(show_output=False, timeout_seconds=240, raise_on_error=False)
print("STATUS", status)
step_run = run.find_step_run("owner")[0]
if status != "Finished":
    print(step_run.get_details())
    print(step_run.get_stderr_log())
print("RUNDIR", ws.run_dir(step_run.id))
print("OUTPUT", step_run.get_output_data("owned").download(folder / "got", show_progress=False))
