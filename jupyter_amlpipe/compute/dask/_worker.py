"""What runs inside a Dask worker: one step process per task, and the kill switch for it.

:func:`run_step` is the task DaskCompute submits. It starts the step process
exactly as LocalCompute does (:func:`jupyter_amlpipe.compute.local.spawn_step_process`:
its own session, output appended to the step's log files), gives it a
parent-death signal so it does not outlive a worker that dies, and blocks
until it ends. :func:`kill_step` is run on every worker by ``client.run`` when
the step is canceled: it ends the step's process group, or marks the step so
that a task that had not started yet never starts its process.

Only the standard library and the package's own local backend are imported:
this module never imports dask.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from jupyter_amlpipe.compute.local import _ProcessHandle, spawn_step_process
from jupyter_amlpipe.errors import ComputeError

WORKER_PYTHON = "@amlpipe-worker-python"  # argv placeholder: the worker's own interpreter
CANCELED_CODE = -signal.SIGTERM
PR_SET_PDEATHSIG = 1

_LOCK = threading.Lock()
_RUNNING: dict[str, _ProcessHandle] = {}
_CANCELED: set[str] = set()


def _parent_death_signal() -> Callable[[], Any] | None:
    """A ``preexec_fn`` that makes the kernel SIGKILL the step when the worker thread that started it dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_signal() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    return set_signal


def run_step(
    key: str,
    argv: list[str],
    description: str,
    step_name: str,
    cwd: str,
    env: dict[str, str] | None,
    job_env: dict[str, str],
    stdout_path: str,
    stderr_path: str,
) -> int:
    """Run one step process on this worker; its exit code.

    ``env`` is the whole environment to give the step (a local cluster passes
    the submitter's); None means this worker's own environment. ``job_env``
    (the run's and data's variables) is laid over it either way.
    """
    argv = [sys.executable if arg == WORKER_PYTHON else arg for arg in argv]
    full_env = {**(os.environ if env is None else env), **job_env}
    full_env.pop("JPY_SESSION_NAME", None)
    with _LOCK:
        if key in _CANCELED:
            _CANCELED.discard(key)
            return CANCELED_CODE
        try:
            handle = spawn_step_process(
                argv, description, step_name, cwd, full_env, stdout_path, stderr_path, _parent_death_signal()
            )
        except (ComputeError, OSError) as exc:
            with contextlib.suppress(OSError), open(stderr_path, "a", encoding="utf-8") as err:
                err.write(f"amlpipe: {exc} (on Dask worker {os.uname().nodename}, pid {os.getpid()})\n")
            return 127
        _RUNNING[key] = handle
    try:
        return handle.wait()
    finally:
        with _LOCK:
            _RUNNING.pop(key, None)


def kill_step(key: str) -> bool:
    """End step ``key``'s process group if it runs here (True), and keep it from starting later."""
    with _LOCK:
        handle = _RUNNING.get(key)
        if handle is None:
            _CANCELED.add(key)
            return False
    handle.cancel()
    return True
