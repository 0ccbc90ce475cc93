"""``amlpipe submit`` and what ``runs``, ``show`` and ``logs`` then say, as real ``python -m jupyter_amlpipe`` runs."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from jupyter_amlpipe.workspace.workspace import Workspace

from . import amlpipe, field_of, make_project, row_of, run_id_in, step_table


@dataclass
class Submitted:
    project: Path
    run_id: str
    result: subprocess.CompletedProcess[str]
    git_commit: str | None


def _git_commit(folder: Path) -> str | None:
    """Make ``folder`` a git work tree with one commit; None when git is not installed."""
    git = shutil.which("git")
    if git is None:
        return None
    ident = ["-c", "user.name=amlpipe tests", "-c", "user.email=tests@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "pipeline"]):
        subprocess.run([git, *args], cwd=folder, check=True, capture_output=True, timeout=60)
    out = subprocess.run([git, "rev-parse", "HEAD"], cwd=folder, check=True, capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def hello_run(tmp_path_factory: pytest.TempPathFactory) -> Submitted:
    """The hello pipeline (script step + command step), submitted once with --param greeting=bonjour."""
    root = tmp_path_factory.mktemp("cli-hello")
    ws = Workspace.create("hello", path=root / "ws")
    project = make_project(root / "project", ws)
    commit = _git_commit(project)
    result = amlpipe("submit", "hello_pipeline.py", "--param", "greeting=bonjour", cwd=project)
    return Submitted(project, run_id_in(result.stdout), result, commit)


def test_submit_runs_the_pipeline_and_shows_its_output(hello_run: Submitted) -> None:
    result = hello_run.result
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[greet] greeting=bonjour" in out  # --param overrode the PipelineParameter's default
    assert "[announce] command step done" in out
    assert f"PipelineRun( {hello_run.run_id} ) Status: Finished" in out
    assert "greet: Finished" in out and "announce: Finished" in out
    assert "MAIN BLOCK RAN" not in out  # the file's __main__ block did not run


def test_runs_lists_the_run_as_started_by_the_cli(hello_run: Submitted) -> None:
    listed = amlpipe("runs", cwd=hello_run.project)
    assert listed.returncode == 0, listed.stderr
    row = row_of(listed.stdout, hello_run.run_id)
    assert row[1] == "hello_pipeline"  # experiment: the file's name
    assert row[2] == "Finished"
    assert row[-4:] == ["2", "0", "2", "cli"]  # 2 finished, 0 failed, 2 steps, started by the CLI
    other = amlpipe("runs", "--experiment", "someone-else", cwd=hello_run.project)
    assert hello_run.run_id not in other.stdout


def test_show_gives_status_parameters_git_and_steps(hello_run: Submitted) -> None:
    shown = amlpipe("show", hello_run.run_id, cwd=hello_run.project)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert field_of(out, "Status") == "Finished"
    assert field_of(out, "Parameters") == "greeting: bonjour"
    assert field_of(out, "Started by").startswith("cli")
    if hello_run.git_commit is not None:
        assert f"azureml.git.commit: {hello_run.git_commit}" in out
    steps = step_table(out)
    assert [(name, cells[1]) for name, cells in steps.items()] == [("greet", "Finished"), ("announce", "Finished")]


def test_show_and_logs_work_with_a_step_run_id(hello_run: Submitted) -> None:
    shown = amlpipe("show", hello_run.run_id, cwd=hello_run.project)
    greet_id = step_table(shown.stdout)["greet"][3]
    step = amlpipe("show", greet_id, cwd=hello_run.project)
    assert step.returncode == 0, step.stderr
    assert field_of(step.stdout, "Step") == "greet"
    assert field_of(step.stdout, "Pipeline run") == hello_run.run_id
    logs = amlpipe("logs", greet_id, cwd=hello_run.project)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == "greeting=bonjour\n"


def test_logs_of_one_step_and_of_all_steps(hello_run: Submitted) -> None:
    one = amlpipe("logs", hello_run.run_id, "greet", cwd=hello_run.project)
    assert one.returncode == 0, one.stderr
    assert one.stdout == "greeting=bonjour\n"
    err = amlpipe("logs", hello_run.run_id, "greet", "--stderr", cwd=hello_run.project)
    assert err.stdout == "greet wrote this to stderr\n"
    every = amlpipe("logs", hello_run.run_id, cwd=hello_run.project)
    assert every.stdout == "[greet] greeting=bonjour\n[announce] command step done\n"  # topological order
    both = amlpipe("logs", hello_run.run_id, "--all", cwd=hello_run.project)
    assert both.stdout == every.stdout
    assert both.stderr == "[greet] greet wrote this to stderr\n"
    unknown = amlpipe("logs", hello_run.run_id, "gret", cwd=hello_run.project)
    assert unknown.returncode == 3
    assert "has no step 'gret'. Did you mean 'greet'?" in unknown.stderr


def test_unknown_run_id_is_not_found(hello_run: Submitted) -> None:
    result = amlpipe("show", "7d1c0c1e-0000-0000-0000-000000000000", cwd=hello_run.project)
    assert result.returncode == 3
    assert "No run" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failing_step_makes_exit_1_with_the_reason(workspace: Workspace, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", workspace)
    result = amlpipe("submit", "failing_pipeline.py", "--quiet", cwd=project)
    assert result.returncode == 1
    assert result.stdout == ""  # --quiet
    assert "Error: Pipeline run" in result.stderr
    assert "Step 'check' failed: Script 'fail.py' exited with code 1." in result.stderr
    assert "input is empty: nothing to train on" in result.stderr
    assert "Traceback" not in result.stderr
    run_id = result.stderr.split("Error: Pipeline run ", 1)[1].split()[0]
    shown = amlpipe("show", run_id, cwd=project)
    assert field_of(shown.stdout, "Status") == "Failed"
    assert "Script 'fail.py' exited with code 1." in shown.stdout
    assert amlpipe("logs", run_id, "check", cwd=project).stdout == "checking the input\n"


def test_a_missing_script_is_a_bad_definition(workspace: Workspace, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", workspace)
    result = amlpipe("submit", "missing_script_pipeline.py", cwd=project)
    assert result.returncode == 2
    assert "Error: The pipeline is not valid:" in result.stderr
    assert "Step 'ghost': 'no_such_script.py' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert "No pipeline runs." in amlpipe("runs", cwd=project).stderr  # nothing was started


def test_an_unknown_param_is_a_bad_definition(workspace: Workspace, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", workspace)
    result = amlpipe("submit", "hello_pipeline.py", "--param", "greting=hi", cwd=project)
    assert result.returncode == 2
    assert "'greting', which is not a parameter of this pipeline. Did you mean 'greeting'?" in result.stderr


def test_submit_picks_the_named_pipeline_and_experiment(workspace: Workspace, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", workspace)
    result = amlpipe("submit", "two_pipelines.py:second", "--experiment", "picked", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "[two] this is the second" in result.stdout
    assert "this is the first" not in result.stdout
    assert row_of(amlpipe("runs", cwd=project).stdout, run_id_in(result.stdout))[1] == "picked"
