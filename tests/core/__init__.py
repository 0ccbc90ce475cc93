"""Helpers shared by the tests of definitions (data links, steps)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def make_source(tmp_path: Path, *names: str) -> Path:
    """A source directory holding copies of the named assets."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(ASSETS / name, src / name)
    return src


def run_steps(ws: Any, steps: list[Any], experiment: str, **submit: Any) -> Any:
    """Submit a pipeline of ``steps`` and wait for it (without raising on failure)."""
    from jupyter_amlpipe import Experiment, Pipeline

    run = Experiment(ws, experiment).submit(Pipeline(workspace=ws, steps=steps), **submit)
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    return run
