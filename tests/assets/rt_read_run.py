"""Not a step: open a workspace in a fresh process and print one run as JSON. Arguments: WS_PATH RUN_ID."""

from __future__ import annotations

import json
import sys

from jupyter_amlpipe import Workspace

ws = Workspace(path=sys.argv[1])
run = ws.get_run(sys.argv[2])
steps = {s.name: s.get_status() for s in run.get_steps()}
step_metrics = {s.name: s.get_metrics() for s in run.get_steps()}
print(
    json.dumps(
        {
            "status": run.get_status(),
            "steps": steps,
            "metrics": run.get_metrics(),
            "step_metrics": step_metrics,
            "experiment": run.experiment.name,
        }
    )
)
