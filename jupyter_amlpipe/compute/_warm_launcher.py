"""A notebook launcher started ahead of time, with papermill imported and a kernel running.

``python -m jupyter_amlpipe.compute._warm_launcher KERNEL_NAME`` (started by
:mod:`jupyter_amlpipe.compute.kernel_pool`, in its own process group):

1. imports papermill, starts a kernel ``KERNEL_NAME`` and waits until it answers;
2. writes ``ready <kernel pid>`` on its stdout pipe (then stdout goes to stderr);
3. reads one step job, a JSON line, from stdin (end of input: it shuts its
   kernel down and exits, which is how the pool discards it);
4. becomes that step's process: stdout/stderr to the step's log files, the
   step's working directory and environment;
5. runs a setup execution on the kernel (not saved in the executed notebook:
   it is sent before papermill gets the kernel, silently and without history)
   that gives the kernel the step's working directory, environment variables
   (including the run context ``Run.get_context()`` reads), ``sys.path`` and
   log files, as a kernel started for this step would have;
6. runs the notebook with papermill on that kernel, which is shut down after
   this one step.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import time
from typing import Any

from jupyter_amlpipe.compute._notebook_launcher import (
    _record_error,
    choose_kernel,
    exit_now,
    import_papermill,
    kernel_manager,
    read_spec,
    run_notebook,
)

READY_TIMEOUT = 120.0
SETUP_TIMEOUT = 60.0

# Runs inside the kernel, in a namespace of its own (nothing is left in the user's).
_SETUP = """\
import os, sys
a = ARGS
os.chdir(a["cwd"])
for key in a["remove"]:
    os.environ.pop(key, None)
os.environ.update(a["update"])
path = [a["cwd"] if p == a["old_cwd"] else p for p in sys.path]
old_pp, new_pp = [p for p in a["old_pythonpath"] if p], [p for p in a["new_pythonpath"] if p]
at = path.index(old_pp[0]) if old_pp and old_pp[0] in path else min(1, len(path))
for p in old_pp:
    if p in path:
        path.remove(p)
path[at:at] = new_pp
sys.path[:] = path
for stream, log in ((sys.stdout, a["stdout"]), (sys.stderr, a["stderr"])):
    copy = getattr(stream, "_original_stdstream_copy", None)
    if isinstance(copy, int):
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, copy)
        os.close(fd)
"""


def setup_code(
    spec: dict[str, Any], warm_env: dict[str, str], step_env: dict[str, str], old_cwd: str, logs: tuple[str, str]
) -> str:
    """The code of the setup execution: the kernel gets the step's cwd, environment, sys.path and log files."""
    args = {
        "cwd": spec["cwd"],
        "old_cwd": old_cwd,
        "remove": sorted(set(warm_env) - set(step_env)),
        "update": step_env,
        "old_pythonpath": warm_env.get("PYTHONPATH", "").split(os.pathsep),
        "new_pythonpath": step_env.get("PYTHONPATH", "").split(os.pathsep),
        "stdout": logs[0],
        "stderr": logs[1],
    }
    return f"exec({_SETUP!r}, {{'ARGS': {args!r}}})"


def _execute_setup(kc: Any, code: str) -> str | None:
    """Run ``code`` silently on the kernel; the error text, or None when it worked."""
    msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
    while True:
        reply = kc.get_shell_msg(timeout=SETUP_TIMEOUT)
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            break
    content = reply["content"]
    if content.get("status") == "ok":
        _drain_iopub(kc, msg_id)
        return None
    return f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"


def _drain_iopub(kc: Any, msg_id: str) -> None:
    """Read the setup's IOPub messages up to its idle status, so none of them reaches papermill."""
    deadline = time.monotonic() + SETUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            return
        if (
            msg.get("parent_header", {}).get("msg_id") == msg_id
            and msg.get("msg_type") == "status"
            and msg.get("content", {}).get("execution_state") == "idle"
        ):
            return


def _redirect(fd: int, path: str) -> None:
    target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(target, fd)
    os.close(target)


def _redirect_logs(job: dict[str, Any]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    _redirect(1, job["stdout"])
    _redirect(2, job["stderr"])


def _kernel_pid(km: Any) -> int:
    provisioner = getattr(km, "provisioner", None)
    pid = getattr(provisioner, "pid", None) or getattr(getattr(provisioner, "process", None), "pid", None)
    return int(pid or 0)


def _discard(km: Any) -> None:
    if km.has_kernel:
        km.shutdown_kernel(now=True)
    shutil.rmtree(os.path.dirname(km.ip), ignore_errors=True)


def main(argv: list[str]) -> int:
    kernel_name = argv[0]
    status = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # until a step arrives, stdout goes where stderr goes (the pool's warm-up log)
    warm_env, start_dir = dict(os.environ), os.getcwd()
    km: Any = None
    try:
        import_papermill()
        km = kernel_manager(kernel_name)
        km.start_kernel(cwd=start_dir)
        kc = km.client()
        # The heartbeat channel is a thread that can start only once: papermill's client start starts it.
        kc.start_channels(hb=False)
        kc.wait_for_ready(timeout=READY_TIMEOUT)
    except Exception as exc:
        print(f"Warm-up of a {kernel_name!r} kernel failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if km is not None:
            _discard(km)
        km = kc = None
    status.write(f"ready {_kernel_pid(km)}\n" if km is not None else "failed\n")
    status.close()

    line = sys.stdin.readline()
    if not line.strip():  # the pool discards this launcher
        if km is not None:
            kc.stop_channels()
            _discard(km)
        return 0
    job: dict[str, Any] = json.loads(line)
    if km is None:  # taken while warming up, and the warm-up failed: run the step as the cold launcher does
        _redirect_logs(job)
        spec = read_spec(job["spec"])
        os.chdir(spec["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        name = choose_kernel(spec)
        return run_notebook(spec, kernel_manager(name), name)
    return _run_job(job, km, kc, kernel_name, warm_env, start_dir)


def _run_job(job: dict[str, Any], km: Any, kc: Any, kernel_name: str, warm_env: dict[str, str], start_dir: str) -> int:
    _redirect_logs(job)
    spec = read_spec(job["spec"])
    env: dict[str, str] = job["env"]
    os.chdir(spec["cwd"])
    os.environ.clear()
    os.environ.update(env)
    try:
        error = _execute_setup(kc, setup_code(spec, warm_env, env, start_dir, (job["stdout"], job["stderr"])))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        kc.stop_channels()
        message = f"Notebook {spec['notebook']!r} could not run: preparing its {kernel_name!r} kernel failed: {error}"
        print(message, file=sys.stderr)
        _record_error(message)
        _discard(km)
        return 1
    # papermill asks the kernel manager for a client: it gets this one, already connected. A new client
    # would wait for its IOPub subscription to connect (about 0.2 s); nbclient ignores the setup's messages.
    km.client = lambda **kwargs: kc
    return run_notebook(spec, km, kernel_name)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
