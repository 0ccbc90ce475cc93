"""What runs inside a Dask worker: one step process per task, and the kill switch for it.

:func:`run_step` is the task DaskCompute submits. It starts the step process
exactly as LocalCompute does (:func:`jupyter_amlpipe.compute.local.spawn_step_process`:
its own session, output appended to the step's log files) and blocks until it
ends. :func:`kill_step` is run on every worker by ``client.run`` when the step
is canceled: it ends the step's process group, or marks the step so that a
task that had not started yet never starts its process.

A step process must not outlive a worker that dies, even one killed with
SIGKILL. Each worker starts a reaper once: a tiny Python process reading the
ids of running step processes from a pipe. When the worker ends, however it
ends, the kernel closes the pipe, and the reaper kills the process groups
still registered. (A parent-death signal set between fork and exec would do
the same, but setting it needs a ``preexec_fn``, which makes ``subprocess``
fork the whole worker and run Python in the child: 8-9 ms per step here,
against 0.6 ms for the ``vfork`` it otherwise uses.)

Only the standard library and the package's own local backend are imported:
this module never imports dask.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

from jupyter_amlpipe.compute.local import _ProcessHandle, spawn_step_process
from jupyter_amlpipe.errors import ComputeError

WORKER_PYTHON = "@amlpipe-worker-python"  # argv placeholder: the worker's own interpreter
CANCELED_CODE = -signal.SIGTERM

# The reaper: "+<pgid>" registers a step's process group, "-<pgid>" forgets it; at end of input it kills the rest.
REAPER = """\
import os, signal, sys
groups = set()
for line in sys.stdin:
    (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""

_LOCK = threading.Lock()
_RUNNING: dict[str, _ProcessHandle] = {}
_CANCELED: set[str] = set()
_REAPER: subprocess.Popen[str] | None = None


def _tell_reaper(line: str) -> None:
    """Send one line to this worker's reaper, starting it (again) if needed. Called with ``_LOCK`` held.

    A reaper that cannot be started or reached does not stop the step: it only loses its guard.
    """
    global _REAPER
    for _ in range(2):
        try:
            if _REAPER is not None and _REAPER.poll() is not None:
                _drop_reaper()
            if _REAPER is None:
                _REAPER = _start_reaper()
            assert _REAPER.stdin is not None
            _REAPER.stdin.write(line + "\n")
            _REAPER.stdin.flush()
            return
        except (OSError, ValueError):  # the reaper is gone (killed by someone): start another
            _drop_reaper()


def _drop_reaper() -> None:
    global _REAPER
    old, _REAPER = _REAPER, None
    if old is not None and old.stdin is not None:
        with contextlib.suppress(OSError, ValueError):
            old.stdin.close()
        old.poll()  # collected if it has ended


def _start_reaper() -> subprocess.Popen[str]:
    reaper = subprocess.Popen(
        [sys.executable, "-c", REAPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # a signal to the worker's process group does not reach it first
    )
    assert reaper.stdin is not None
    for handle in _RUNNING.values():  # a new reaper learns the steps an old one knew
        reaper.stdin.write(f"+{handle.pid}\n")
    return reaper


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
            handle = spawn_step_process(argv, description, step_name, cwd, full_env, stdout_path, stderr_path)
        except (ComputeError, OSError) as exc:
            with contextlib.suppress(OSError), open(stderr_path, "a", encoding="utf-8") as err:
                err.write(f"amlpipe: {exc} (on Dask worker {os.uname().nodename}, pid {os.getpid()})\n")
            return 127
        _RUNNING[key] = handle
        # Registered just after the start, forgotten just after the end: a worker killed in the
        # microseconds between its start and this leaves the step unguarded; one killed between the
        # step's end and its removal could hit a reused group id. Both windows are microseconds wide.
        _tell_reaper(f"+{handle.pid}")
    try:
        return handle.wait()
    finally:
        with _LOCK:
            _RUNNING.pop(key, None)
            _tell_reaper(f"-{handle.pid}")


def kill_step(key: str) -> bool:
    """End step ``key``'s process group if it runs here (True), and keep it from starting later."""
    with _LOCK:
        handle = _RUNNING.get(key)
        if handle is None:
            _CANCELED.add(key)
            return False
    handle.cancel()
    return True
