"""``PublishedPipeline``: a frozen pipeline other systems start by id (v1 ``azureml.pipeline.core``)."""

from __future__ import annotations

import builtins
import getpass
import os
import re
import uuid
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, PipelineDisabledError, PublishingError, did_you_mean
from jupyter_amlpipe.publish.freeze import describe, freeze
from jupyter_amlpipe.publish.stored import StoredObject

TABLE = "published_pipelines"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_. -]{0,254}$")


def check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise DefinitionError(
            f"{what} name {name!r} is not valid: use letters, digits, spaces, '-', '_' or '.' (at most 255).",
            name=name,
        )
    return name


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


class PublishedPipeline(StoredObject):
    """A published pipeline: its graph, code snapshots and parameter defaults are frozen at publish time."""

    TABLE = TABLE
    WHAT = "Published pipeline"

    # -- creating -------------------------------------------------------------------------
    @classmethod
    def _publish(
        cls,
        pipeline: Any,
        name: str,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
        *,
        source_run_id: str | None = None,
    ) -> PublishedPipeline:
        ws = pipeline.workspace
        if ws is None:
            raise DefinitionError("Pipeline.publish() needs a pipeline built with a Workspace.")
        check_name(name, "Published pipeline")
        frozen = freeze(pipeline)
        doc = {
            "description": description,
            "version": None if version is None else str(version),
            "continue_on_step_failure": bool(continue_on_step_failure),
            "pipeline": frozen,
            "published_by": _user(),
            "source_run_id": source_run_id,
            **describe(frozen),
        }
        pid = str(uuid.uuid4())
        ws._store.put_doc(TABLE, pid, name, "Active", doc)
        return cls.get(ws, pid)

    # -- v1 class methods -------------------------------------------------------------------
    @classmethod
    def get(
        cls, workspace: Any, id: str, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> PublishedPipeline:
        """The published pipeline with this id."""
        record = workspace._store.get_doc(TABLE, id)
        if record is None:
            known = [r["id"] for r in workspace._store.list_docs(TABLE)]
            raise LookupFailed(
                f"No published pipeline with id {id!r}.{did_you_mean(str(id), known)} "
                "List them with: amlpipe pipelines --all",
                id=id,
            )
        return cls(workspace, record)

    @classmethod
    def list(
        cls, workspace: Any, active_only: bool = True, _service_endpoint: Any = None
    ) -> builtins.list[PublishedPipeline]:
        """Published pipelines, oldest first; ``active_only=False`` includes disabled ones."""
        records = workspace._store.list_docs(TABLE)
        return [cls(workspace, r) for r in records if not active_only or r["status"] == "Active"]

    @classmethod
    def get_all(
        cls, workspace: Any, active_only: bool = True, _service_endpoint: Any = None
    ) -> builtins.list[PublishedPipeline]:
        """v1's older name of :meth:`list`: published pipelines, oldest first."""
        return cls.list(workspace, active_only=active_only)

    # -- properties (read from the database, so every handle sees enable/disable at once) ----
    @property
    def version(self) -> str | None:
        value = self._rec["doc"].get("version")
        return None if value is None else str(value)

    @property
    def endpoint(self) -> str:
        """The REST URL to POST a v1 body to (rebase its path onto another host if the server moved)."""
        return f"{self._workspace.server_address}/pipelines/v1/published/{self._id}"

    @property
    def graph_id(self) -> str:
        return str(self._rec["doc"]["graph_id"])

    @property
    def total_run_steps(self) -> int:
        return int(self._rec["doc"]["total_run_steps"])

    @property
    def continue_on_step_failure(self) -> bool:
        return bool(self._rec["doc"].get("continue_on_step_failure"))

    @property
    def workspace(self) -> Any:
        return self._workspace

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameter names and their published defaults."""
        return dict(self._rec["doc"]["parameters"])

    def get_step_names(self) -> builtins.list[str]:
        """The names of the published pipeline's steps, in definition order."""
        return list(self._rec["doc"]["step_names"])

    def get_graph(self) -> Any:
        """The frozen pipeline rebuilt as a Pipeline object (its steps run the published snapshots)."""
        from jupyter_amlpipe.publish.freeze import rebuild

        return rebuild(self._workspace, self._rec["doc"]["pipeline"])

    # -- enable / disable ------------------------------------------------------------------------
    def enable(self) -> None:
        """Let it run again (persisted: every handle, the CLI and a running server see it at once)."""
        self._set_status("Active")

    def disable(self) -> None:
        """Refuse submissions from now on (persisted); runs already started go on."""
        self._set_status("Disabled")

    def check_active(self) -> None:
        """Raise PipelineDisabledError when this pipeline is disabled."""
        if self.status != "Active":
            raise PipelineDisabledError(
                f"Published pipeline {self.name!r} ({self._id}) is disabled: nothing was run. "
                f"Enable it with PublishedPipeline.get(ws, {self._id!r}).enable() or: amlpipe enable {self._id}",
                id=self._id,
            )

    # -- running ---------------------------------------------------------------------------------
    def submit(
        self,
        workspace: Any,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
        parent_run_id: str | None = None,
        continue_on_step_failure: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Start a run in ``Experiment(workspace, experiment_name)`` and return its PipelineRun at once."""
        from jupyter_amlpipe.runner.experiment import Experiment

        return self._submit(
            Experiment(workspace or self._workspace, experiment_name),
            pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure,
        )

    def _submit(
        self,
        experiment: Any,
        pipeline_parameters: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        continue_on_step_failure: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """``Experiment.submit(published_pipeline)`` lands here: run the frozen pipeline in this process."""
        from jupyter_amlpipe.publish.launch import launch

        self._record()
        self.check_active()
        cont = self.continue_on_step_failure if continue_on_step_failure is None else bool(continue_on_step_failure)
        return launch(
            experiment.workspace,
            experiment.name,
            self._rec["doc"]["pipeline"],
            pipeline_parameters,
            continue_on_step_failure=cont,
            properties=self.run_properties(),
            tags=tags,
        )

    def run_properties(self) -> dict[str, str]:
        """Properties every run of this published pipeline carries."""
        props = {"azureml.pipelineid": self._id, "amlpipe.published_pipeline": self.name}
        if self.version is not None:
            props["amlpipe.published_version"] = self.version
        return props

    def to_json(self) -> dict[str, Any]:
        """v1's JSON shape (Id, Name, Description, Version, Status, Endpoint, GraphId, TotalRunSteps, ...)."""
        rec = self._record()
        doc = rec["doc"]
        return {
            "Id": self._id,
            "Name": rec["name"],
            "Description": doc.get("description"),
            "Version": doc.get("version"),
            "Status": rec["status"],
            "Endpoint": self.endpoint,
            "GraphId": doc["graph_id"],
            "TotalRunSteps": doc["total_run_steps"],
            "ContinueOnStepFailure": doc.get("continue_on_step_failure", False),
            "StepNames": list(doc["step_names"]),
            "Parameters": dict(doc["parameters"]),
            "PublishedBy": doc.get("published_by"),
            "CreatedTime": rec["created"],
        }


def published_or_error(workspace: Any, id: str) -> PublishedPipeline:
    """The published pipeline, raising LookupFailed for an unknown id and PublishingError for a bad one."""
    if not isinstance(id, str) or not id:
        raise PublishingError(f"{id!r} is not a published pipeline id.")
    return PublishedPipeline.get(workspace, id)
