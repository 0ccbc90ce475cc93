"""``amlpipe submit --no-wait``: the run goes on in a background ``amlpipe`` process.

A run lives in the process that submitted it, so a submit that returns at once
starts ``amlpipe submit ... --quiet`` in a new session (no terminal, so closing
the terminal or Ctrl-C does not stop it). That process reports the run id
through a pipe once the run exists, then keeps running the pipeline; the
caller prints the id and exits. If the background process fails before a run
exists (a bad definition, say), its error and exit code become the caller's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

REPORT_OPTION = "--report-fd"


def start_detached(args: list[str]) -> tuple[str | None, str, int | None]:
    """Run ``amlpipe ARGS --report-fd N`` in the background.

    Returns (run id or None, what the process printed before reporting, its exit code when it ended early).
    """
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as output:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_amlpipe", *args, REPORT_OPTION, str(write_fd)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "rb") as reader:
            reported = reader.read().decode("utf-8", errors="replace").strip()  # EOF: reported, or ended
        code = None if reported else proc.wait()
        output.seek(0)
        printed = output.read().decode("utf-8", errors="replace")
    if reported:
        proc.returncode = 0  # it goes on alone; nobody here waits for it
    return reported or None, printed, code


def report(fd: int, run_id: str) -> None:
    """In the background process: stop writing to the caller's files, then hand it the run id."""
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    finally:
        os.close(devnull)
    try:
        os.write(fd, f"{run_id}\n".encode())
    finally:
        os.close(fd)
