"""A workspace with a one-step pipeline whose script prints its code version and parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SCRIPT = """import sys
print("CODE={version} GREETING=" + sys.argv[2])
"""


def write_script(src: Path, version: str) -> None:
    (src / "hello.py").write_text(SCRIPT.format(version=version), encoding="utf-8")


@pytest.fixture
def pipeline(workspace: Any, tmp_path: Path) -> Any:
    from jupyter_amlpipe import Pipeline, PipelineParameter
    from jupyter_amlpipe.steps import PythonScriptStep

    src = tmp_path / "src"
    src.mkdir()
    write_script(src, "v1")
    greeting = PipelineParameter("greeting", default_value="hello")
    step = PythonScriptStep(
        name="hello",
        script_name="hello.py",
        source_directory=str(src),
        arguments=["--greeting", greeting],
        allow_reuse=False,
    )
    return Pipeline(workspace, [step])


def _stdout_of(run: Any) -> str:
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert run.get_status() == "Finished", run.get_details()
    return str(run.find_step_run("hello")[0].get_stdout_log())


@pytest.fixture
def stdout_of() -> Any:
    """``stdout_of(run)``: the hello step's stdout once the run finished."""
    return _stdout_of


@pytest.fixture
def rewrite() -> Any:
    """``rewrite(src, version)``: edit the step's script."""
    return write_script
