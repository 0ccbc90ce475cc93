"""The service the REST server calls: v1 bodies, errors, and the queue a worker runs (also after a restart)."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, PipelineDisabledError
from jupyter_amlpipe.publish import PublishService, QueueWorker


def test_submit_is_queued_then_a_new_worker_runs_it(workspace: Any, pipeline: Any, stdout_of: Any) -> None:
    published = pipeline.publish(name="greet")
    service = PublishService(workspace)
    body = {"ExperimentName": "rest-exp", "ParameterAssignments": {"greeting": "hola"}, "tags": {"team": "a"}}
    first = service.submit_published(published.id, body)
    second = service.submit_published(published.id, {"ExperimentName": "rest-exp"})
    # no worker is running (a server that stopped): the runs wait, recorded in the database
    assert workspace.get_run(first).get_status() == "Queued"
    assert [s["id"] for s in workspace._store.submissions("queued")] == [first, second]

    worker = QueueWorker(workspace, max_running=2, poll_seconds=0.2)
    worker.start()  # as a restarted server would
    try:
        assert "GREETING=hola" in stdout_of(workspace.get_run(first))
        assert "GREETING=hello" in stdout_of(workspace.get_run(second))
    finally:
        worker.stop()
    run = workspace.get_run(first)
    assert run.get_tags() == {"team": "a"}
    assert run.properties["amlpipe.started_by"] == "rest"
    assert workspace._store.submissions("queued") == []


def test_a_canceled_queued_run_never_starts(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    service = PublishService(workspace)
    run_id = service.submit_published(published.id, {"ExperimentName": "rest-exp"})
    workspace.get_run(run_id).cancel()
    assert service.start_queued(2) == []
    run = workspace.get_run(run_id)
    assert run.get_status() == "Canceled"
    assert list(run.get_steps()) == []


def test_caller_mistakes_are_package_errors(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    service = PublishService(workspace)
    with pytest.raises(LookupFailed, match="No published pipeline"):
        service.submit_published("nope", {"ExperimentName": "x"})
    with pytest.raises(DefinitionError, match="ExperimentName"):
        service.submit_published(published.id, {})
    with pytest.raises(DefinitionError, match="Did you mean 'greeting'"):
        service.submit_published(published.id, {"ExperimentName": "x", "ParameterAssignments": {"greting": "a"}})
    with pytest.raises(DefinitionError, match="takes a string"):
        service.submit_published(published.id, {"ExperimentName": "x", "ParameterAssignments": {"greeting": 3}})
    with pytest.raises(DefinitionError, match="DataPathAssignments"):
        service.submit_published(
            published.id, {"ExperimentName": "x", "DataPathAssignments": {"greeting": {"RelativePath": "a"}}}
        )
    published.disable()
    with pytest.raises(PipelineDisabledError, match="disabled"):
        service.submit_published(published.id, {"ExperimentName": "x"})
    assert workspace._store.list_runs() == []


def test_json_views(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet", version="3")
    service = PublishService(workspace)
    doc = service.get_published(published.id)
    assert doc["Id"] == published.id and doc["Version"] == "3" and doc["Status"] == "Active"
    assert doc["Endpoint"].endswith(f"/pipelines/v1/published/{published.id}")
    assert doc["Parameters"] == {"greeting": "hello"} and doc["TotalRunSteps"] == 1
    published.disable()
    assert service.list_published() == []
    assert [d["Id"] for d in service.list_published(active_only=False)] == [published.id]


def test_restart_after_a_dead_server(workspace: Any, pipeline: Any, stdout_of: Any) -> None:
    import subprocess
    import sys

    from jupyter_amlpipe.runner import liveness

    published = pipeline.publish(name="greet")
    service = PublishService(workspace)
    interrupted = service.submit_published(published.id, {"ExperimentName": "rest-exp"})
    never_started = service.submit_published(published.id, {"ExperimentName": "rest-exp"})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    store = workspace._store
    for run_id in (interrupted, never_started):
        assert store.claim_submission(run_id, dead_pid)
    store.update_run(interrupted, status="Running", runner_pid=dead_pid, runner_host=liveness.host())

    worker = QueueWorker(workspace, max_running=2, poll_seconds=0.2)
    assert worker.recover() == [interrupted]
    run = workspace.get_run(interrupted)
    assert run.get_status() == "Failed" and "amlpipe resume" in run.get_details()["error"]["error"]["message"]
    worker.start()
    try:
        assert "GREETING=hello" in stdout_of(workspace.get_run(never_started))
    finally:
        worker.stop()
