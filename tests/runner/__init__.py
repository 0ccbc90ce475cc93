"""Runner behaviour: ordering, failures, waiting, re-attaching, events, git facts, several processes.

Helpers shared by the runner tests. Steps are the ``tests/assets/rt_*``
scripts, copied into a source directory under ``tmp_path``; helper programs
run with ``sys.executable`` and the repository root on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ASSETS = Path(__file__).resolve().parents[1] / "assets"
REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT = 120  # seconds: a generous bound for a run on a loaded 2-core machine
TERMINAL = ("Finished", "Failed", "Canceled")


def pythonpath() -> str:
    """PYTHONPATH with this checkout first, so every subprocess imports the package under test."""
    return os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))


def use_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Step processes (which inherit the environment) import the package from this checkout."""
    monkeypatch.setenv("PYTHONPATH", pythonpath())


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": pythonpath()}


def copy_assets(folder: Path, *names: str) -> Path:
    """A step source directory with the named assets (default: every ``rt_*`` asset)."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [ASSETS / n for n in names] if names else [p for p in ASSETS.glob("rt_*") if p.is_file()]
    for asset in chosen:
        shutil.copyfile(asset, folder / asset.name)
    return folder


def run_helper(script: str, *args: Any, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
    """Run a helper program from the assets in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, str(ASSETS / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        cwd=str(REPO_ROOT),
    )


def finish(run: Any, timeout: float = WAIT) -> str:
    """Wait for a run without raising; its final status."""
    return str(run.wait_for_completion(show_output=False, timeout_seconds=timeout, raise_on_error=False))


def error_of(run: Any) -> str:
    return str(run.get_details().get("error", {}).get("error", {}).get("message", ""))


def statuses(run: Any) -> dict[str, str]:
    """Step name -> status of a pipeline run."""
    return {step.name: step.get_status() for step in run.get_steps()}


def stamps(folder: Path) -> dict[str, dict[str, Any]]:
    """What rt_stamp.py steps recorded in ``folder``: name -> {start, end, seen}."""
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def stdout_value(step_run: Any, marker: str) -> str:
    """The rest of the first stdout line of a step that starts with ``marker``."""
    for line in step_run.get_stdout_log().splitlines():
        if line.startswith(marker + " "):
            return line[len(marker) + 1 :]
    raise AssertionError(f"no {marker} line in the stdout of {step_run.name!r}:\n{step_run.get_stdout_log()}")


def wait_until(condition: Any, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals open at one moment (an end before a start at a tie)."""
    points = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = best = 0
    for _, delta in points:
        current += delta
        best = max(best, current)
    return best
