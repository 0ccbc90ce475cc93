"""Step: write many log lines and metrics quickly (argument 1: how many, default 150)."""

from __future__ import annotations

import sys
import time

from jupyter_amlpipe import Run

run = Run.get_context()
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 150):
    print(f"chatty line {i}", flush=True)
    run.log("i", i)
    time.sleep(0.005)
