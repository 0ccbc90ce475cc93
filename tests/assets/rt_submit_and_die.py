"""Not a step: submit a pipeline whose step sleeps, then die as soon as the step runs.

Arguments: WS_PATH SOURCE_DIR PID_FILE. Prints RT_RUN_ID <id>; the step
(rt_pid_sleep.py) writes its pid to PID_FILE; this process then ends with
``os._exit(1)``, taking its runner thread with it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from jupyter_amlpipe import Experiment, Pipeline, Workspace
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.steps import PythonScriptStep

ws_path, source, pid_file = sys.argv[1:4]
ws = Workspace(path=ws_path)
step = PythonScriptStep(
    "rt_pid_sleep.py",
    name="sleeper",
    arguments=[pid_file],
    source_directory=source,
    compute_target=LocalCompute(ws, "local"),
)
run = Experiment(ws, "dies").submit(Pipeline(ws, [step]))
print(f"RT_RUN_ID {run.id}", flush=True)
deadline = time.monotonic() + 90
while not Path(pid_file).exists() and time.monotonic() < deadline:
    time.sleep(0.05)
while run.find_step_run("sleeper")[0].get_status() != "Running" and time.monotonic() < deadline:
    time.sleep(0.05)
os._exit(1)
