"""Getting a run back by its id, the v1 ways: ``Run.get``, ``Run(experiment, run_id)``, ``PipelineRun.get``.

One tiny pipeline (two steps that print) runs on LocalCompute in a fresh
workspace; the lookups are then made in this process and in a new one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline, PipelineRun, Run, StepRun
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.errors import DefinitionError, LookupFailed
from jupyter_amlpipe.steps import PythonScriptStep

from . import ASSETS, WAIT, child_env, copy_assets, finish, use_checkout

EXPERIMENT = "lookup"


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


@pytest.fixture
def finished(workspace: Any, tmp_path: Path) -> PipelineRun:
    """A Finished run of steps ``first`` and ``second``, each printing ``argv: <its marker>``."""
    src = copy_assets(tmp_path / "src", "core_echo.py")
    target = LocalCompute(workspace, "local", max_concurrency=2)
    steps = [
        PythonScriptStep(
            "core_echo.py", name=name, arguments=[f"{name}-marker"], source_directory=src, compute_target=target
        )
        for name in ("first", "second")
    ]
    run = Experiment(workspace, EXPERIMENT).submit(Pipeline(workspace, steps))
    assert finish(run) == "Finished"
    return run


def _step(run: PipelineRun, name: str) -> StepRun:
    return run.find_step_run(name)[0]


def test_run_get_gives_the_pipeline_run_with_its_status_and_steps(workspace: Any, finished: PipelineRun) -> None:
    got = Run.get(workspace, finished.id)
    assert type(got) is PipelineRun
    assert got.id == finished.id
    assert got.get_status() == "Finished"
    assert got.experiment.name == EXPERIMENT
    assert sorted((s.name, s.id, s.get_status()) for s in got.get_steps()) == sorted(
        (s.name, s.id, "Finished") for s in finished.get_steps()
    )
    assert PipelineRun.get(workspace, finished.id).id == finished.id


def test_run_get_gives_a_step_run_whose_details_with_logs_hold_its_stdout(
    workspace: Any, finished: PipelineRun
) -> None:
    step = _step(finished, "second")
    got = Run.get(workspace, step.id)
    assert type(got) is StepRun
    assert got.name == "second" and got.parent.id == finished.id
    details = got.get_details_with_logs()
    assert details["runId"] == step.id and details["status"] == "Finished"
    assert "argv: second-marker" in details["logFiles"]["logs/stdout.txt"]
    assert "first-marker" not in details["logFiles"]["logs/stdout.txt"]
    assert "exit code: 0" in details["logFiles"]["logs/runner.txt"]
    assert StepRun.get(workspace, step.id).id == step.id


def test_get_details_has_the_v1_fields(finished: PipelineRun) -> None:
    details = _step(finished, "first").get_details()
    assert {"runId", "status", "startTimeUtc", "endTimeUtc", "properties", "inputDatasets", "outputDatasets"} <= set(
        details
    )
    assert details["startTimeUtc"] <= details["endTimeUtc"]
    assert details["properties"]["azureml.runsource"] == "azureml.StepRun"
    assert set(details["logFiles"]) == {"logs/stdout.txt", "logs/stderr.txt", "logs/runner.txt"}
    assert Path(details["logFiles"]["logs/stdout.txt"]).read_text(encoding="utf-8").startswith("argv: first-marker")
    assert details["runDefinition"]["script_name"] == "core_echo.py"
    assert details["runDefinition"]["arguments"] == ["first-marker"]
    assert finished.get_details()["runId"] == finished.id


def test_v1_constructors_build_runs_from_an_id(workspace: Any, finished: PipelineRun) -> None:
    experiment = Experiment(workspace, EXPERIMENT)
    step = _step(finished, "first")

    by_run = Run(experiment, finished.id)
    assert type(by_run) is PipelineRun and by_run.id == finished.id and by_run.get_status() == "Finished"
    assert type(Run(experiment=experiment, run_id=step.id, outputs=None)) is StepRun
    assert PipelineRun(experiment, finished.id).get_status() == "Finished"
    # v1: StepRun(experiment, step_run_id, pipeline_run_id, node_id)
    assert StepRun(experiment, step.id, finished.id, "node").get_stdout_log().startswith("argv: first-marker")
    with pytest.raises(LookupFailed) as info:
        StepRun(experiment, step.id, "another-pipeline-run", "node")
    assert finished.id in str(info.value) and "another-pipeline-run" in str(info.value)


def test_a_run_of_the_wrong_kind_or_experiment_is_refused(workspace: Any, finished: PipelineRun) -> None:
    step = _step(finished, "first")
    with pytest.raises(LookupFailed, match=f"Run '{step.id}' is a StepRun, not a PipelineRun"):
        PipelineRun.get(workspace, step.id)
    with pytest.raises(LookupFailed, match="is a PipelineRun, not a StepRun"):
        StepRun(Experiment(workspace, EXPERIMENT), finished.id)
    with pytest.raises(LookupFailed) as info:
        Run(Experiment(workspace, "elsewhere"), finished.id)
    assert f"belongs to experiment '{EXPERIMENT}', not 'elsewhere'" in str(info.value)
    with pytest.raises(DefinitionError, match=r"Run\(experiment, run_id\) needs an Experiment"):
        Run(workspace, finished.id)  # the workspace where the experiment belongs


def test_an_unknown_id_names_the_id_the_workspace_and_the_closest_run(workspace: Any, finished: PipelineRun) -> None:
    typo = finished.id[:-1] + ("0" if finished.id[-1] != "0" else "1")
    with pytest.raises(LookupFailed) as info:
        Run.get(workspace, typo)
    message = str(info.value)
    assert f"No run with id '{typo}' in workspace 'test'" in message
    assert str(workspace.path) in message
    assert f"Did you mean '{finished.id}'?" in message
    with pytest.raises(LookupFailed) as info:
        Run(Experiment(workspace, EXPERIMENT), "no-such-run")
    assert "No run with id 'no-such-run' in workspace 'test'" in str(info.value)
    assert "Did you mean" not in str(info.value)  # nothing close: no list of every run id
    with pytest.raises(LookupFailed, match="No run with id 'no-such-run'"):
        PipelineRun(Experiment(workspace, EXPERIMENT), "no-such-run")


def test_another_process_gets_the_runs_back_by_id(workspace: Any, finished: PipelineRun) -> None:
    step = _step(finished, "second")
    program = (
        "import sys\n"
        "from jupyter_amlpipe import Run, Workspace\n"
        "ws = Workspace(path=sys.argv[1])\n"
        "run = Run.get(ws, sys.argv[2])\n"
        "step = Run.get(ws, sys.argv[3])\n"
        "print(type(run).__name__, run.get_status(), [s.name for s in run.get_steps()])\n"
        "print(type(step).__name__, step.get_details_with_logs()['logFiles']['logs/stdout.txt'].strip())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(workspace.path), finished.id, step.id],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=child_env(),
        cwd=str(ASSETS),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "PipelineRun Finished ['first', 'second']"
    assert lines[1] == "StepRun argv: second-marker"
