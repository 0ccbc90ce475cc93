"""Step: print ``LIMITS {json}``: the container's CPU quota (in CPUs), memory limit, uid and HOME (cgroup v1 or v2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

CG = Path("/sys/fs/cgroup")


def cpus() -> float | None:
    if (CG / "cpu.max").exists():
        quota, period = (CG / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    quota = int((CG / "cpu" / "cpu.cfs_quota_us").read_text())
    period = int((CG / "cpu" / "cpu.cfs_period_us").read_text())
    return None if quota < 0 else quota / period


def memory() -> int | None:
    for path in (CG / "memory.max", CG / "memory" / "memory.limit_in_bytes"):
        if path.exists():
            text = path.read_text().strip()
            return None if text == "max" else int(text)
    return None


print("LIMITS " + json.dumps({"cpus": cpus(), "memory": memory(), "uid": os.getuid(), "home": os.environ["HOME"]}))
