"""The publishing commands through click's CliRunner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from jupyter_amlpipe import PublishedPipeline
from jupyter_amlpipe.cli.main import cli

PIPELINE_FILE = """
from jupyter_amlpipe import Pipeline, PipelineParameter, Workspace
from jupyter_amlpipe.steps import PythonScriptStep

ws = Workspace(path={ws!r})
greet = Pipeline(ws, [PythonScriptStep(name="hello", script_name="hello.py", source_directory={src!r},
                                       arguments=["--greeting", PipelineParameter("greeting", default_value="hi")])])
"""


def _invoke(ws: Any, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--workspace", str(ws.path), *args], catch_exceptions=False)
    return result


def test_publish_list_disable_enable(workspace: Any, tmp_path: Path, rewrite: Any) -> None:
    src = tmp_path / "src"
    src.mkdir()
    rewrite(src, "v1")
    spec = tmp_path / "flow.py"
    spec.write_text(PIPELINE_FILE.format(ws=str(workspace.path), src=str(src)), encoding="utf-8")

    result = _invoke(workspace, "publish", f"{spec}:greet", "--name", "nightly", "--version", "1", "--endpoint", "ep")
    assert result.exit_code == 0, result.output
    (published,) = PublishedPipeline.list(workspace)
    assert (
        f"Published 'nightly' as {published.id}" in result.output and "Created pipeline endpoint 'ep'" in result.output
    )
    assert published.version == "1"

    listing = _invoke(workspace, "pipelines")
    assert published.id in listing.output and "nightly" in listing.output
    assert _invoke(workspace, "disable", published.id[:8]).exit_code == 0
    assert published.status == "Disabled"
    assert "No published pipelines" in _invoke(workspace, "pipelines").output
    assert "Disabled" in _invoke(workspace, "pipelines", "--all").output
    assert _invoke(workspace, "enable", "nightly").exit_code == 0
    assert published.status == "Active"

    shown = _invoke(workspace, "endpoint", "show", "ep")
    assert f"* 0    {published.id}" in shown.output
    missing = _invoke(workspace, "enable", "nope")
    assert missing.exit_code == 3 and "No published pipeline" in missing.output


def test_token_and_schedule_commands(workspace: Any, pipeline: Any) -> None:
    created = _invoke(workspace, "token", "create", "--name", "ci")
    token = created.output.strip()
    assert created.exit_code == 0 and len(token) >= 43
    listing = _invoke(workspace, "token", "list")
    assert "ci" in listing.output and "Active" in listing.output and token not in listing.output
    assert _invoke(workspace, "token", "revoke", "ci").exit_code == 0
    assert "Revoked" in _invoke(workspace, "token", "list").output

    published = pipeline.publish(name="greet")
    made = _invoke(
        workspace, "schedule", "create", "hourly", "--pipeline", published.id, "-e", "sched", "--frequency", "Hour"
    )
    assert made.exit_code == 0, made.output
    assert "every 1 Hour" in _invoke(workspace, "schedule", "list").output
    assert "Disabled" in _invoke(workspace, "schedule", "disable", "hourly").output
    bad = _invoke(workspace, "schedule", "create", "x", "-e", "sched", "--frequency", "Hour")
    assert bad.exit_code == 2 and "exactly one of --pipeline and --endpoint" in bad.output
    again = _invoke(
        workspace, "schedule", "create", "hourly", "--pipeline", published.id, "-e", "sched", "--frequency", "Hour"
    )
    assert again.exit_code == 0, again.output
    ambiguous = _invoke(workspace, "schedule", "enable", "hourly")
    assert ambiguous.exit_code == 2 and "'hourly' names 2 schedules: give more of the id" in ambiguous.output
