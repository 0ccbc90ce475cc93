"""Step: sleep for argument 1 seconds."""

from __future__ import annotations

import sys
import time

print("rt_sleep going to sleep", flush=True)
time.sleep(float(sys.argv[1]))
print("rt_sleep woke up")
