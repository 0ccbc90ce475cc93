"""Not a step: wait for a go-file, then submit a two-step pipeline and wait for it.

Arguments: WS_PATH SOURCE_DIR EXPERIMENT GO_FILE TAG. Creates GO_FILE.ready-TAG
when it is ready to submit. Prints one JSON line
``{"run_id", "status", "steps"}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from jupyter_amlpipe import Experiment, Pipeline, PipelineData, Workspace
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.steps import PythonScriptStep

ws_path, source, experiment, go_file, tag = sys.argv[1:6]
ws = Workspace(path=ws_path)
target = LocalCompute(ws, "local")
data = PipelineData("copied")
first = PythonScriptStep(
    "rt_copy.py",
    name=f"{tag}-copy",
    arguments=["--src", "rt_copy.py", "--dest", data],
    outputs=[data],
    source_directory=source,
    compute_target=target,
)
second = PythonScriptStep(
    "rt_logs.py", name=f"{tag}-logs", inputs=[data], source_directory=source, compute_target=target
)
pipeline = Pipeline(ws, [second])
Path(f"{go_file}.ready-{tag}").write_text("ready", encoding="utf-8")
deadline = time.monotonic() + 90
while not Path(go_file).exists() and time.monotonic() < deadline:
    time.sleep(0.01)
run = Experiment(ws, experiment).submit(pipeline, tags={"tag": tag})
status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
print(json.dumps({"run_id": run.id, "status": status, "steps": {s.name: s.get_status() for s in run.get_steps()}}))
