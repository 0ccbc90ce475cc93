"""Command-line behaviour that went wrong before: a pipeline file that does not parse, and the logs
of a step that wrote only to stderr."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from jupyter_amlpipe import Experiment, Pipeline
from jupyter_amlpipe.cli.main import cli
from jupyter_amlpipe.steps import PythonScriptStep
from jupyter_amlpipe.workspace.workspace import Workspace

from . import WAIT


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


def test_submit_of_a_file_with_a_syntax_error_is_a_bad_definition(workspace: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "unparsable_pipeline.py"
    bad.write_text("from jupyter_amlpipe import Pipeline\n\ndef build(:\n    pass\n", encoding="utf-8")
    result = invoke("-w", str(workspace.path), "submit", str(bad))
    assert result.exit_code == 2, result.output
    assert "unparsable_pipeline.py" in result.stderr
    assert "SyntaxError" in result.stderr
    assert "def build(:" in result.stderr  # the offending line is shown
    assert "jupyter_amlpipe/" not in result.stderr and "runpy" not in result.stderr  # no frames of ours


def test_logs_of_a_step_that_wrote_only_to_stderr_show_that_text(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "steps"
    src.mkdir()
    (src / "complain.py").write_text(
        "import sys\n\nsys.stderr.write('only on stderr: the input is empty\\n')\nsys.exit(1)\n", encoding="utf-8"
    )
    step = PythonScriptStep("complain.py", name="complain", source_directory=str(src))
    run = Experiment(workspace, "review").submit(Pipeline(workspace, [step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False) == "Failed"

    result = invoke("-w", str(workspace.path), "logs", run.id, "complain")
    assert result.exit_code == 0, result.output
    assert "only on stderr: the input is empty" in result.stderr
    assert result.stdout == ""  # it wrote nothing to stdout
