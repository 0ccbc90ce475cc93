"""LocalCompute passes the compute conformance suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from jupyter_amlpipe.compute import LocalCompute

from .conformance import ComputeConformance


class TestLocalCompute(ComputeConformance):
    def make_target(self, workspace: Any, name: str = "conformance", max_concurrency: int | None = None) -> Any:
        return LocalCompute(workspace=workspace, name=name, max_concurrency=max_concurrency)


def test_the_same_interpreter_by_another_path_keeps_the_environment_key(tmp_path: Path) -> None:
    """`python` and `python3.11` (or a symlink) are one interpreter: steps stay reusable across them."""
    link = tmp_path / "python-alias"
    link.symlink_to(os.path.realpath(sys.executable))
    code = "import json; from jupyter_amlpipe.compute import LocalCompute; print(json.dumps(LocalCompute().describe_environment(None)))"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([str(link), "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == LocalCompute().describe_environment(None)
