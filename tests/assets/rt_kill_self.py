"""Step: kill itself with SIGKILL."""

from __future__ import annotations

import os
import signal

print("rt_kill_self about to die", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
