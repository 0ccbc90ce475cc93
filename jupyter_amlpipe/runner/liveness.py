"""Is the process that runs a pipeline still alive?

A run lives in the process that submitted it. Each pipeline run records that
process's pid, host and start time; a reader that finds the run unfinished but
the process gone marks the run Failed, with the reason.
"""

from __future__ import annotations

import os
import socket


def host() -> str:
    return socket.gethostname()


def start_token(pid: int) -> str | None:
    """The process's start time (Linux), so a reused pid is not mistaken for the runner."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None


def is_alive(pid: int | None, token: str | None, run_host: str | None) -> bool:
    if pid is None:
        return False
    if run_host and run_host != host():
        return True  # another machine's process: we cannot tell, assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if token is not None:
        current = start_token(pid)
        if current is not None and current != token:
            return False
    return True
