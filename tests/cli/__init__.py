"""The ``amlpipe`` command line, in process (click's CliRunner) and as real ``python -m jupyter_amlpipe`` runs.

Helpers shared by the CLI tests. A test project is a folder holding copies of
``tests/cli/assets`` (pipeline files and their ``steps/`` scripts) and a
``.azureml/config.json`` naming the test's workspace, so both the command line
and the pipeline files' ``Workspace.from_config()`` find it from there.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jupyter_amlpipe

ASSETS = Path(__file__).resolve().parent / "assets"
PACKAGE_ROOT = str(Path(jupyter_amlpipe.__file__).resolve().parent.parent)
WAIT = 120  # seconds: a generous bound for anything on a loaded 2-core machine
RUN_ID_RE = re.compile(r"PipelineRunId: (\S+)")


def child_env() -> dict[str, str]:
    """This environment, with the checkout importable and nothing that would look like a step or a CLI run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    for key in [k for k in env if k.startswith(("AMLPIPE_CONTEXT", "AMLPIPE_RUN_DIR", "AZUREML_"))]:
        del env[key]
    for key in ("AMLPIPE_STARTED_BY", "AMLPIPE_WORKSPACE_PATH"):
        env.pop(key, None)
    return env


def make_project(folder: Path, workspace: Any) -> Path:
    """Copy the assets into ``folder`` and point its .azureml/config.json at ``workspace``."""
    shutil.copytree(ASSETS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    workspace.write_config(folder)
    return folder


def amlpipe(*args: str, cwd: Path, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
    """Run ``python -m jupyter_amlpipe ARGS`` in ``cwd`` to the end."""
    return subprocess.run(
        [sys.executable, "-m", "jupyter_amlpipe", *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_amlpipe(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``python -m jupyter_amlpipe ARGS`` in ``cwd`` without waiting."""
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_amlpipe", *args],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_id_in(output: str) -> str:
    match = RUN_ID_RE.search(output)
    assert match, f"no PipelineRunId in:\n{output}"
    return match.group(1)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def row_of(table: str, run_id: str) -> list[str]:
    """The cells of the table row that starts with ``run_id``."""
    for line in table.splitlines():
        if line.startswith(run_id):
            return line.split()
    raise AssertionError(f"no row for {run_id} in:\n{table}")


class LineReader:
    """Reads a process's stdout lines in a thread, so a test can wait for one with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout

        def pump() -> None:
            for line in stream:
                self.lines.put(line)
            self.lines.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str, timeout: float = WAIT) -> list[str]:
        """Lines read until one containing ``text`` (inclusive)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{text!r} not printed within {timeout} s; got {self.seen}") from None
            if line is None:
                raise AssertionError(f"the process ended before printing {text!r}; got {self.seen}")
            self.seen.append(line)
            if text in line:
                return list(self.seen)

    def rest(self) -> str:
        """Everything printed after what was already read (call once the process has ended)."""
        out = []
        while True:
            line = self.lines.get(timeout=WAIT)
            if line is None:
                break
            out.append(line)
        self.seen.extend(out)
        return "".join(out)


def step_table(show_output: str) -> dict[str, list[str]]:
    """The rows of ``amlpipe show``'s step table by step name: [name, status, duration, step run id, ...]."""
    lines = show_output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("STEP ") and "STEP RUN ID" in line)
    rows: dict[str, list[str]] = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells
    return rows


def field_of(output: str, label: str) -> str:
    """The value on the ``Label:  value`` line of ``amlpipe show`` output."""
    match = re.search(rf"^{re.escape(label)}:\s+(.*)$", output, re.M)
    assert match, f"no {label!r} line in:\n{output}"
    return match.group(1)
