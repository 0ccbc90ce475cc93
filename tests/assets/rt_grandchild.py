"""Step: start a grandchild ``sleep 300``, print RT_GRANDCHILD <pid>, and wait for it."""

from __future__ import annotations

import subprocess

child = subprocess.Popen(["sleep", "300"])
print(f"RT_GRANDCHILD {child.pid}", flush=True)
child.wait()
