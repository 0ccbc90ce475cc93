"""Pipeline endpoints: versions, the default version, submitting, disabling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import PipelineEndpoint
from jupyter_amlpipe.errors import LookupFailed, PipelineDisabledError
from jupyter_amlpipe.publish import PublishService


def test_versions_and_default(workspace: Any, pipeline: Any, tmp_path: Path, stdout_of: Any, rewrite: Any) -> None:
    v0 = pipeline.publish(name="greet", version="a")
    endpoint = PipelineEndpoint.publish(workspace, "greeter", "greets", v0)
    rewrite(tmp_path / "src", "v2")
    v1 = pipeline.publish(name="greet", version="b")
    assert endpoint.add(v1) == "1"
    assert endpoint.get_default_version() == "0"
    assert [v["pipeline_id"] for v in endpoint.list_versions()] == [v0.id, v1.id]

    by_name = PipelineEndpoint.get(workspace, name="greeter")
    assert by_name == PipelineEndpoint.get(workspace, id=endpoint.id)
    assert by_name.get_pipeline().id == v0.id and by_name.get_pipeline("1").id == v1.id
    assert "CODE=v1" in stdout_of(by_name.submit("ep-exp"))
    assert "CODE=v2 GREETING=hey" in stdout_of(by_name.submit("ep-exp", {"greeting": "hey"}, pipeline_version="1"))

    endpoint.set_default_version("1")
    service = PublishService(workspace)
    run_id = service.submit_endpoint("greeter", {"ExperimentName": "ep-exp"})
    assert service.start_queued(2) == [run_id]
    run = workspace.get_run(run_id)
    assert "CODE=v2" in stdout_of(run)
    assert run.properties["amlpipe.pipeline_endpoint_version"] == "1"
    assert service.get_endpoint(endpoint.id)["DefaultVersion"] == "1"
    with pytest.raises(LookupFailed, match="no version '7'"):
        endpoint.set_default_version(7)

    v2 = pipeline.publish(name="greet", version="c")
    assert endpoint.add_default(v2) == "2" and by_name.get_default_version() == "2"


def test_disabled_endpoint_refuses(workspace: Any, pipeline: Any) -> None:
    endpoint = PipelineEndpoint.publish(workspace, "greeter", None, pipeline.publish(name="greet"))
    endpoint.disable()
    with pytest.raises(PipelineDisabledError, match="disabled"):
        PublishService(workspace).submit_endpoint(endpoint.id, {"ExperimentName": "x"})
    with pytest.raises(PipelineDisabledError, match="disabled"):
        endpoint.submit("x")
    assert workspace._store.list_runs() == []
    assert PipelineEndpoint.list(workspace) == []
    endpoint.archive()
    assert PipelineEndpoint.list(workspace, active_only=False)[0].status == "Archived"
