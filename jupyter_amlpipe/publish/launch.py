"""Starting a run of a frozen pipeline in this process (a published pipeline's submit, the queue worker)."""

from __future__ import annotations

import os
from typing import Any

from jupyter_amlpipe.publish.freeze import rebuild
from jupyter_amlpipe.runner import liveness
from jupyter_amlpipe.runner.engine import PipelineRunner
from jupyter_amlpipe.runner.experiment import Experiment
from jupyter_amlpipe.runner.plan import make_plan, record_pipeline, records
from jupyter_amlpipe.runner.runs import PipelineRun


def launch(
    workspace: Any,
    experiment_name: str,
    frozen: dict[str, Any],
    parameters: dict[str, Any] | None,
    *,
    continue_on_step_failure: bool = False,
    regenerate_outputs: bool = False,
    properties: dict[str, str] | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    root_id: str | None = None,
    started_by: str | None = None,
) -> PipelineRun:
    """Run ``frozen`` as a new pipeline run; with ``root_id`` it takes the place of that queued run."""
    experiment = Experiment(workspace, experiment_name)
    pipeline = rebuild(workspace, frozen)
    pipeline.validate()
    values = pipeline.resolve_parameters(parameters)
    plan = make_plan(workspace, experiment_name, pipeline, values, continue_on_step_failure, regenerate_outputs)
    if root_id is not None:
        plan.root_id = root_id
    if started_by:
        plan.started_by = started_by
    plan.properties.update(properties or {})
    workspace._store.ensure_experiment(experiment_name)
    recs = records(plan)
    recs[0].update(
        runner_pid=os.getpid(),
        runner_host=liveness.host(),
        runner_start=liveness.start_token(os.getpid()),
        tags=dict(tags or {}),
    )
    if description:
        recs[0]["name"] = description
    record_pipeline(plan)
    if root_id is not None:
        workspace._store.replace_run_records(recs)
    else:
        workspace._store.insert_runs(recs)
    PipelineRunner(plan).start()
    return PipelineRun(experiment, plan.root_id)
