"""``Experiment``: a named group of runs in a workspace, and where pipelines are submitted."""

from __future__ import annotations

import os
import re
from typing import Any

from jupyter_amlpipe.core.pipeline import Pipeline
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.runner import liveness
from jupyter_amlpipe.runner.runs import PipelineRun, StepRun

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


class Experiment:
    """v1 ``Experiment(workspace, name)``."""

    def __init__(self, workspace: Any, name: str, _skip_name_validation: bool = False, **kwargs: Any) -> None:
        if workspace is None or not hasattr(workspace, "_store"):
            raise DefinitionError(f"Experiment({name!r}) needs a Workspace, got {workspace!r}.")
        if not _skip_name_validation and (not isinstance(name, str) or not _NAME_RE.match(name)):
            raise DefinitionError(
                f"Experiment name {name!r} is not valid: use letters, digits, '-', '_' or '.' (at most 255).",
                name=name,
            )
        self.workspace = workspace
        self.name = name

    def submit(
        self,
        config: Any,
        tags: dict[str, Any] | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        regenerate_outputs: bool = False,
        continue_on_step_failure: bool = False,
        **kwargs: Any,
    ) -> PipelineRun:
        """Start a run of ``config`` (a Pipeline) and return its PipelineRun at once."""
        from jupyter_amlpipe.runner.engine import PipelineRunner
        from jupyter_amlpipe.runner.plan import make_plan, record_pipeline, records

        if not isinstance(config, Pipeline):
            submit = getattr(config, "_submit", None)
            if submit is not None:  # published pipelines and endpoints submit themselves
                run: PipelineRun = submit(self, pipeline_parameters=pipeline_parameters, tags=tags, **kwargs)
                return run
            raise DefinitionError(f"Experiment.submit() takes a Pipeline, got {type(config).__name__}.")
        config.validate()
        parameters = config.resolve_parameters(pipeline_parameters)
        plan = make_plan(self.workspace, self.name, config, parameters, continue_on_step_failure, regenerate_outputs)
        resume = kwargs.get("_resume")
        if resume is not None:
            plan.resume_from = dict(resume[1])
            plan.properties["amlpipe.resumed_from"] = resume[0]
        self.workspace._store.ensure_experiment(self.name)
        recs = records(plan)
        recs[0].update(
            runner_pid=os.getpid(),
            runner_host=liveness.host(),
            runner_start=liveness.start_token(os.getpid()),
            tags=dict(tags or {}),
        )
        record_pipeline(plan)
        self.workspace._store.insert_runs(recs)
        runner = PipelineRunner(plan)
        runner.start()
        return PipelineRun(self, plan.root_id)

    def get_runs(
        self, type: str | None = None, tags: Any = None, properties: Any = None, include_children: bool = False
    ) -> list[PipelineRun | StepRun]:
        """Runs of this experiment, newest first."""
        out: list[PipelineRun | StepRun] = [
            PipelineRun(self, r["id"], r) for r in self.workspace._store.list_runs(self.name, "pipeline")
        ]
        if include_children:
            out += [StepRun(self, r["id"], r) for r in self.workspace._store.list_runs(self.name, "step")]
        return out

    @staticmethod
    def list(workspace: Any, experiment_name: str | None = None, **kwargs: Any) -> list[Experiment]:
        names = workspace._store.list_experiments()
        return [Experiment(workspace, n) for n in names if experiment_name is None or n == experiment_name]

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name}, Workspace: {self.workspace.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and other.name == self.name and other.workspace == self.workspace

    def __hash__(self) -> int:
        return hash((self.name, self.workspace))
