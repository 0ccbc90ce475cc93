"""PanelService, the framework-free service behind the JupyterLab panel: the views and actions without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, PipelineDisabledError
from jupyter_amlpipe.publish.panel_service import PanelService, open_workspace

WAIT = 120


def test_open_workspace_from_a_folder_or_its_config(workspace: Any, tmp_path: Path) -> None:
    project = tmp_path / "project" / "deep"
    project.mkdir(parents=True)
    workspace.write_config(tmp_path / "project")
    assert open_workspace(workspace.path).path == workspace.path
    assert open_workspace(project).path == workspace.path
    with pytest.raises(LookupFailed, match="amlpipe workspace create"):
        open_workspace(tmp_path / "nowhere")
    (tmp_path / "bare").mkdir()
    with pytest.raises(LookupFailed, match=r"Workspace\.create"):
        open_workspace(tmp_path / "bare")


def test_a_panel_submission_is_queued_seen_and_canceled(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    service = PanelService(workspace)
    before = service.cursor()
    run_id = service.submit(published.id, {"ExperimentName": "lab-exp"})["Id"]
    # no worker runs the queue here: the run waits, and the event stream says so at once
    changed = service.changes(before)
    assert changed["runs"] == [run_id] and changed["cursor"] > before
    assert service.changes(changed["cursor"]) == {"cursor": changed["cursor"], "runs": []}
    (row,) = service.runs(status="Queued")["runs"]
    assert (row["id"], row["status"], row["started_by"], row["progress"]["total"]) == (run_id, "Queued", "lab", 0)
    assert service.cancel(run_id) == {"id": run_id, "status": "Canceled"}
    assert service.runs(status="Queued")["runs"] == []
    assert service.runs(experiment="lab-exp")["runs"][0]["status"] == "Canceled"


def test_a_cursor_from_another_database_starts_again(workspace: Any) -> None:
    service = PanelService(workspace)
    assert service.changes(10_000) == {"cursor": service.cursor(), "runs": []}


def test_submission_mistakes(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    service = PanelService(workspace)
    with pytest.raises(DefinitionError, match="JSON object"):
        service.submit(published.id, ["ExperimentName"])
    with pytest.raises(DefinitionError, match="Did you mean 'greeting'"):
        service.submit(published.id, {"ExperimentName": "x", "ParameterAssignments": {"greting": "a"}})
    service.set_pipeline_enabled(published.id, False)
    with pytest.raises(PipelineDisabledError, match="disabled"):
        service.submit(published.id, {"ExperimentName": "x"})
    with pytest.raises(LookupFailed, match="amlpipe pipelines --all"):
        service.set_pipeline_enabled("nope", True)
    assert workspace._store.list_runs() == []


def test_parameter_types_for_the_run_form(workspace: Any, tmp_path: Path) -> None:
    from jupyter_amlpipe import Pipeline, PipelineParameter
    from jupyter_amlpipe.steps import PythonScriptStep

    src = tmp_path / "src"
    src.mkdir()
    (src / "p.py").write_text("print('ok')\n")
    params = [
        PipelineParameter("name", default_value="a"),
        PipelineParameter("epochs", default_value=3),
        PipelineParameter("lr", default_value=0.1),
        PipelineParameter("debug", default_value=True),
    ]
    step = PythonScriptStep(name="p", script_name="p.py", source_directory=str(src), arguments=params)
    published = Pipeline(workspace, [step]).publish(name="typed")
    (row,) = PanelService(workspace).pipelines()["pipelines"]
    assert row["id"] == published.id
    assert {p["name"]: p["type"] for p in row["parameters"]} == {
        "name": "string",
        "epochs": "int",
        "lr": "float",
        "debug": "bool",
    }


def test_step_views_and_snapshots_of_a_two_folder_run(workspace: Any, tmp_path: Path) -> None:
    from jupyter_amlpipe import Experiment, Pipeline
    from jupyter_amlpipe.steps import PythonScriptStep

    steps = []
    for name in ("one", "two"):
        src = tmp_path / name
        src.mkdir()
        (src / f"{name}.py").write_text(f"print('this is {name}')\n")
        steps.append(PythonScriptStep(name=name, script_name=f"{name}.py", source_directory=str(src)))
    run = Experiment(workspace, "two-folders").submit(Pipeline(workspace, steps))
    assert run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False) == "Finished"
    service = PanelService(workspace)

    detail = service.step(run.id, "two", lines=1)
    assert detail["stdout"].strip() == "this is two" and detail["stderr"] == ""
    assert detail["run_id"] == run.id and detail["reason"]
    step_run_id = detail["step_run_id"]
    assert service.step(step_run_id, "one")["stdout"].strip() == "this is one"  # a step run id finds its run
    assert service.run(step_run_id)["id"] == run.id

    with pytest.raises(DefinitionError, match="name the step with step=NAME"):
        service.snapshot(run.id)
    snap = service.snapshot(run.id, "one")
    assert snap["files"] == ["one.py"]
    assert (Path(snap["absolute"]) / "one.py").read_text() == "print('this is one')\n"
