"""``amlpipe endpoint enable|disable|archive`` and ``amlpipe schedule create|runs`` on a real workspace (CliRunner)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jupyter_amlpipe import PipelineEndpoint, Schedule
from jupyter_amlpipe.cli.main import cli
from jupyter_amlpipe.errors import PipelineDisabledError
from jupyter_amlpipe.publish import PublishService, SchedulerLoop


def _invoke(ws: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--workspace", str(ws.path), *args], catch_exceptions=False)


@pytest.fixture
def published(workspace: Any, tmp_path: Path) -> Any:
    """A published one-step pipeline whose step prints its ``greeting`` parameter."""
    from jupyter_amlpipe import Pipeline, PipelineParameter
    from jupyter_amlpipe.steps import PythonScriptStep

    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.py").write_text('import sys\nprint("GREETING=" + sys.argv[2])\n', encoding="utf-8")
    step = PythonScriptStep(
        name="hello",
        script_name="hello.py",
        source_directory=str(src),
        arguments=["--greeting", PipelineParameter("greeting", default_value="hello")],
        allow_reuse=False,
    )
    return Pipeline(workspace, [step]).publish(name="greet")


def test_endpoint_disable_enable_archive(workspace: Any, published: Any) -> None:
    made = _invoke(workspace, "endpoint", "create", "ep", published.id[:8])
    assert made.exit_code == 0 and "Created pipeline endpoint 'ep'" in made.output, made.output

    disabled = _invoke(workspace, "endpoint", "disable", "ep")
    assert disabled.exit_code == 0 and "'ep' is Disabled." in disabled.output
    assert "No pipeline endpoints." in _invoke(workspace, "endpoint", "list").output
    assert "Disabled" in _invoke(workspace, "endpoint", "list", "--all").output
    assert "ep (" in _invoke(workspace, "endpoint", "show", "ep").output
    endpoint = PipelineEndpoint.get(workspace, name="ep")  # a handle made before the CLI changed it sees the change
    with pytest.raises(PipelineDisabledError, match="amlpipe endpoint enable ep"):
        endpoint.submit("cli-endpoint")
    with pytest.raises(PipelineDisabledError, match="disabled"):
        PublishService(workspace).submit_endpoint("ep", {"ExperimentName": "cli-endpoint"})
    assert workspace._store.list_runs("cli-endpoint") == []

    enabled = _invoke(workspace, "endpoint", "enable", endpoint.id)
    assert enabled.exit_code == 0 and "'ep' is Active." in enabled.output
    run = endpoint.submit("cli-endpoint", pipeline_parameters={"greeting": "again"})
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert run.get_status() == "Finished"
    assert "GREETING=again" in run.find_step_run("hello")[0].get_stdout_log()

    archived = _invoke(workspace, "endpoint", "archive", "ep")
    assert archived.exit_code == 0 and "'ep' is Archived." in archived.output
    assert endpoint.status == "Archived"
    assert "Archived" in _invoke(workspace, "endpoint", "list", "--all").output
    with pytest.raises(PipelineDisabledError, match="archived"):
        endpoint.submit("cli-endpoint")

    missing = _invoke(workspace, "endpoint", "disable", "nope")
    assert missing.exit_code == 3 and "nope" in missing.output


def test_schedule_runs_lists_what_the_schedule_started(workspace: Any, published: Any) -> None:
    made = _invoke(
        workspace, "schedule", "create", "tick", "--pipeline", "greet", "-e", "cli-sched", "--frequency", "Second",
        "-p", "greeting=scheduled",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "has not started a run yet" in _invoke(workspace, "schedule", "runs", "tick").output

    (schedule,) = Schedule.list(workspace)
    anchor = schedule._rec["doc"]["anchor"]
    loop = SchedulerLoop(workspace)  # what amlpipe serve runs
    (first,) = loop.tick(now=anchor + 0.5)
    (second,) = loop.tick(now=anchor + 1.6)
    listed = _invoke(workspace, "schedule", "runs", schedule.id[:8])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert [line.split()[0] for line in lines] == [second, first]  # newest first
    assert all(line.split()[1] == "Queued" for line in lines)

    assert sorted(PublishService(workspace).start_queued(2)) == sorted([first, second])
    for run_id in (first, second):
        run = workspace.get_run(run_id)
        run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
        assert "GREETING=scheduled" in run.find_step_run("hello")[0].get_stdout_log()
    finished = _invoke(workspace, "schedule", "runs", "tick").output.splitlines()
    assert [line.split()[1] for line in finished] == ["Finished", "Finished"]

    missing = _invoke(workspace, "schedule", "runs", "nope")
    assert missing.exit_code == 3 and "nope" in missing.output


def test_schedule_create_takes_times_of_day_week_days_and_a_windows_time_zone(workspace: Any, published: Any) -> None:
    made = _invoke(
        workspace, "schedule", "create", "weekly", "--pipeline", published.id, "-e", "cli-weekly",
        "--frequency", "Week", "--week-days", "Monday,Thursday", "--hours", "6", "--minutes", "0,30",
        "--time-zone", "W. Europe Standard Time", "--start-time", "2026-01-01T00:00",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    (schedule,) = Schedule.list(workspace)
    rec = schedule.recurrence
    assert rec is not None
    assert (rec.week_days, rec.hours, rec.minutes, rec.time_zone) == (
        ["Monday", "Thursday"],
        [6],
        [0, 30],
        "W. Europe Standard Time",
    )
    # 2026-03-02 is a Monday; 06:00 in Berlin is 05:00 UTC in winter
    after = datetime(2026, 3, 2, 5, 10, tzinfo=timezone.utc).timestamp()
    fire = datetime.fromtimestamp(rec.next_after(after, after), timezone.utc)
    assert fire == datetime(2026, 3, 2, 5, 30, tzinfo=timezone.utc)

    typo = _invoke(
        workspace, "schedule", "create", "x", "--pipeline", published.id, "-e", "e", "--frequency", "Day",
        "--time-zone", "Pacific Standrd Time",
    )  # fmt: skip
    assert typo.exit_code == 2 and "Did you mean 'Pacific Standard Time'" in typo.output
    no_frequency = _invoke(workspace, "schedule", "create", "x", "--pipeline", published.id, "-e", "e", "--hours", "3")
    assert no_frequency.exit_code == 2 and "--hours need --frequency" in no_frequency.output
    bad_hours = _invoke(
        workspace, "schedule", "create", "x", "--pipeline", published.id, "-e", "e", "--frequency", "Day",
        "--hours", "six",
    )  # fmt: skip
    assert bad_hours.exit_code == 2 and "--hours takes whole numbers" in bad_hours.output
    assert [s.name for s in Schedule.list(workspace)] == ["weekly"]
