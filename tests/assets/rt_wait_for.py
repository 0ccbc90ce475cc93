"""Step: wait until the file named by argument 1 exists (at most 90 s), then sleep argument 2 seconds."""

from __future__ import annotations

import sys
import time
from pathlib import Path

deadline = time.monotonic() + 90
while not Path(sys.argv[1]).exists() and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(float(sys.argv[2]))
print("rt_wait_for done")
