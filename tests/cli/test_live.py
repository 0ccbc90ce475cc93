"""Commands on a run that is still going, from other processes: ``cancel``, ``logs --follow``, ``submit --no-wait``."""

from __future__ import annotations

from pathlib import Path

from jupyter_amlpipe.workspace.workspace import Workspace

from . import WAIT, LineReader, amlpipe, field_of, make_project, row_of, start_amlpipe, step_table, wait_until


def _running_run_id(project: Path) -> str:
    """Wait until ``amlpipe runs`` lists a Running run; return its id."""

    def running() -> str | None:
        listed = amlpipe("runs", "--status", "Running", cwd=project)
        lines = listed.stdout.splitlines()
        return lines[1].split()[0] if len(lines) > 1 else None

    return str(wait_until(running, "`amlpipe runs` to show a Running run"))


def test_cancel_from_another_process_ends_the_submit_with_exit_4(workspace: Workspace, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", workspace)
    submit = start_amlpipe("submit", "long_pipeline.py", cwd=project)
    try:
        run_id = _running_run_id(project)
        canceled = amlpipe("cancel", run_id, cwd=project)
        assert canceled.returncode == 0, canceled.stderr
        assert f"Run {run_id} Canceled." in canceled.stdout
        out, err = submit.communicate(timeout=WAIT)
    finally:
        if submit.poll() is None:
            submit.kill()
    assert submit.returncode == 4, err
    assert f"PipelineRun( {run_id} ) Status: Canceled" in out
    assert "nap ended" not in out
    shown = amlpipe("show", run_id, cwd=project)
    assert field_of(shown.stdout, "Status") == "Canceled"
    assert step_table(shown.stdout)["nap"][1] == "Canceled"
    again = amlpipe("cancel", run_id, cwd=project)
    assert again.returncode == 0
    assert "already ended: Canceled. Nothing to cancel." in again.stdout


def test_no_wait_returns_the_run_id_and_follow_streams_until_the_end(workspace: Workspace, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", workspace)
    release = tmp_path / "release"
    submitted = amlpipe("submit", "gated_pipeline.py", "--no-wait", "--param", f"release={release}", cwd=project)
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()  # the only thing on stdout: scripts can capture it
    assert f"amlpipe logs {run_id} --follow" in submitted.stderr
    # The run goes on in a background process, after the submitting command has ended.
    follow = start_amlpipe("logs", run_id, "--follow", cwd=project)
    try:
        lines = LineReader(follow)
        assert lines.wait_for("waiting for release") == ["[gate] waiting for release\n"]
        assert row_of(amlpipe("runs", cwd=project).stdout, run_id)[2] == "Running"
        release.touch()
        follow.wait(timeout=WAIT)
        rest = lines.rest()
    finally:
        if follow.poll() is None:
            follow.kill()
    assert follow.returncode == 0  # the run Finished
    assert rest == "[gate] released, done\n"
    shown = amlpipe("show", run_id, cwd=project)
    assert field_of(shown.stdout, "Status") == "Finished"
    assert field_of(shown.stdout, "Parameters") == f"release: {release}"


def test_no_wait_reports_a_bad_definition_like_a_waiting_submit(workspace: Workspace, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", workspace)
    result = amlpipe("submit", "missing_script_pipeline.py", "--no-wait", cwd=project)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Step 'ghost': 'no_such_script.py' does not exist" in result.stderr


def test_follow_of_one_step_of_a_failing_run_exits_1(workspace: Workspace, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", workspace)
    submitted = amlpipe("submit", "failing_pipeline.py", "--no-wait", cwd=project)
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    followed = amlpipe("logs", run_id, "check", "--follow", "--all", cwd=project)
    assert followed.returncode == 1
    assert followed.stdout == "checking the input\n"
    assert followed.stderr == "input is empty: nothing to train on\n"
