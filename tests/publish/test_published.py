"""Publishing freezes a pipeline; enable/disable is persisted; parameters reach the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, PublishedPipeline
from jupyter_amlpipe.errors import DefinitionError, PipelineDisabledError
from jupyter_amlpipe.runner.gc import _published_snapshot_ids


def test_publish_freezes_code_and_shows_v1_fields(
    workspace: Any, pipeline: Any, tmp_path: Path, stdout_of: Any, rewrite: Any
) -> None:
    published = pipeline.publish(name="greet", description="says hello", version="1.0")
    rewrite(tmp_path / "src", "v2")  # edited after publishing

    run = published.submit(workspace, "greet-exp")
    assert "CODE=v1 GREETING=hello" in stdout_of(run)
    assert run.properties["azureml.pipelineid"] == published.id

    again = PublishedPipeline.get(workspace, published.id)
    assert (again.name, again.description, again.version, again.status) == ("greet", "says hello", "1.0", "Active")
    assert again.endpoint == f"http://127.0.0.1:8787/pipelines/v1/published/{published.id}"
    assert again.total_run_steps == 1 and again.get_step_names() == ["hello"]
    assert again.graph_id == published.graph_id and len(again.graph_id) == 32
    assert set(_published_snapshot_ids(workspace)) == set(published._rec["doc"]["snapshot_ids"])


def test_parameter_override_reaches_the_run(workspace: Any, pipeline: Any, stdout_of: Any, rewrite: Any) -> None:
    published = pipeline.publish(name="greet")
    run = Experiment(workspace, "greet-exp").submit(published, pipeline_parameters={"greeting": "bonjour"})
    assert "GREETING=bonjour" in stdout_of(run)
    with pytest.raises(DefinitionError, match="Did you mean 'greeting'"):
        published.submit(workspace, "greet-exp", {"greting": "x"})


def test_disable_is_persisted_and_nothing_runs(workspace: Any, pipeline: Any, stdout_of: Any, rewrite: Any) -> None:
    published = pipeline.publish(name="greet")
    old_handle = PublishedPipeline.get(workspace, published.id)
    published.disable()
    assert old_handle.status == "Disabled"
    assert [p.id for p in PublishedPipeline.list(workspace)] == []
    assert [p.id for p in PublishedPipeline.list(workspace, active_only=False)] == [published.id]
    with pytest.raises(PipelineDisabledError, match="disabled"):
        old_handle.submit(workspace, "greet-exp")
    assert workspace._store.list_runs("greet-exp") == []
    PublishedPipeline.get(workspace, published.id).enable()
    assert published.status == "Active"
    assert "GREETING=hello" in stdout_of(old_handle.submit(workspace, "greet-exp"))


def test_publish_pipeline_from_a_run(
    workspace: Any, pipeline: Any, tmp_path: Path, stdout_of: Any, rewrite: Any
) -> None:
    run = pipeline.submit("first")
    stdout_of(run)
    rewrite(tmp_path / "src", "v3")
    published = run.publish_pipeline(name="from-run", description="d", version="2")
    assert published.version == "2"
    assert "CODE=v1" in stdout_of(published.submit(workspace, "first", {"greeting": "hi"}))
