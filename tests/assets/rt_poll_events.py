"""Not a step: read a workspace's events in a loop until a stop-file appears.

Arguments: WS_PATH STOP_FILE. Creates STOP_FILE.ready after its first read.
Prints one JSON line: how many events it read,
how many reads it made, and every error it met (there should be none).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from jupyter_amlpipe import Workspace

ws = Workspace(path=sys.argv[1])
stop = Path(sys.argv[2])
store = ws._store
after = 0
seen = 0
reads = 0
errors: list[str] = []
last = False
while True:
    last = stop.exists()
    try:
        for event in store.events(None, after):
            after = event["seq"]
            seen += 1
        for rec in store.list_runs(None, "step"):
            store.metrics(rec["id"])
        reads += 1
        if reads == 1:
            Path(f"{stop}.ready").write_text("ready", encoding="utf-8")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    if last:
        break
    time.sleep(0.01)
print(json.dumps({"events": seen, "reads": reads, "errors": errors}))
