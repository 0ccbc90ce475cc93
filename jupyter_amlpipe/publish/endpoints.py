"""``PipelineEndpoint``: versions of published pipelines behind one name, with a default version (v1)."""

from __future__ import annotations

import builtins
import uuid
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, PipelineDisabledError, PublishingError, did_you_mean
from jupyter_amlpipe.publish.published import PublishedPipeline, check_name
from jupyter_amlpipe.publish.stored import StoredObject

TABLE = "pipeline_endpoints"


class PipelineEndpoint(StoredObject):
    """A named, versioned entry point: callers submit to it; its default version decides what runs."""

    TABLE = TABLE
    WHAT = "Pipeline endpoint"

    # -- creating and finding --------------------------------------------------------------
    @classmethod
    def publish(
        cls, workspace: Any, name: str, description: str | None, pipeline: Any, **kwargs: Any
    ) -> PipelineEndpoint:
        """Create an endpoint whose version "0" (the default) is ``pipeline`` (a PublishedPipeline or Pipeline)."""
        check_name(name, "Pipeline endpoint")
        if workspace._store.find_docs(TABLE, name):
            raise PublishingError(
                f"A pipeline endpoint named {name!r} already exists: add a version with "
                f"PipelineEndpoint.get(ws, name={name!r}).add_default(pipeline).",
                name=name,
            )
        published = _as_published(workspace, pipeline, name)
        eid = str(uuid.uuid4())
        workspace._store.put_doc(TABLE, eid, name, "Active", {"description": description, "default_version": "0"})
        workspace._store.add_endpoint_version(eid, published.id)
        return cls.get(workspace, id=eid)

    @classmethod
    def get(cls, workspace: Any, id: str | None = None, name: str | None = None, **kwargs: Any) -> PipelineEndpoint:
        """The endpoint with this ``id`` or ``name``."""
        store = workspace._store
        if id is not None:
            record = store.get_doc(TABLE, id)
        elif name is not None:
            found = store.find_docs(TABLE, name)
            record = found[0] if found else None
        else:
            raise DefinitionError("PipelineEndpoint.get() needs id= or name=.")
        if record is None:
            known = [r["name"] for r in store.list_docs(TABLE)]
            key = id if id is not None else name
            raise LookupFailed(
                f"No pipeline endpoint {key!r}.{did_you_mean(str(key), known)} List them with: amlpipe endpoint list",
                name=key,
            )
        return cls(workspace, record)

    @classmethod
    def _by_id_or_name(cls, workspace: Any, key: str) -> PipelineEndpoint:
        if workspace._store.get_doc(TABLE, key) is not None:
            return cls.get(workspace, id=key)
        return cls.get(workspace, name=key)

    @classmethod
    def list(cls, workspace: Any, active_only: bool = True, **kwargs: Any) -> builtins.list[PipelineEndpoint]:
        """Endpoints, oldest first; ``active_only=False`` includes disabled and archived ones."""
        records = workspace._store.list_docs(TABLE)
        return [cls(workspace, r) for r in records if not active_only or r["status"] == "Active"]

    # -- properties -----------------------------------------------------------------------------
    @property
    def default_version(self) -> str:
        return str(self._record()["doc"]["default_version"])

    @property
    def endpoint(self) -> str:
        return f"{self._workspace.server_address}/pipelines/v1/endpoints/{self._id}"

    @property
    def swaggerurl(self) -> str:
        return f"{self._workspace.server_address}/openapi.json"

    # -- versions ---------------------------------------------------------------------------------
    def list_versions(self) -> builtins.list[dict[str, Any]]:
        """``[{"version": "0", "pipeline_id": ...}, ...]`` oldest first."""
        return [
            {"version": v["version"], "pipeline_id": v["pipeline_id"]}
            for v in self._workspace._store.endpoint_versions(self._id)
        ]

    def list_pipelines(self, active_only: bool = True) -> builtins.list[PublishedPipeline]:
        pipelines = [PublishedPipeline.get(self._workspace, v["pipeline_id"]) for v in self.list_versions()]
        return [p for p in pipelines if not active_only or p.status == "Active"]

    def add(self, pipeline: Any) -> str:
        """Add ``pipeline`` as a new version (the default does not change); return its version."""
        published = _as_published(self._workspace, pipeline, self.name)
        return str(self._workspace._store.add_endpoint_version(self._id, published.id))

    def add_default(self, pipeline: Any) -> str:
        """Add ``pipeline`` as a new version and make it the default; return its version."""
        version = self.add(pipeline)
        self.set_default_version(version)
        return version

    def set_default_version(self, version: str | int) -> None:
        version = str(version)
        self._check_version(version)
        self._workspace._store.update_doc(TABLE, self._id, {"default_version": version})
        self._record()

    def get_default_version(self) -> str:
        return self.default_version

    def _check_version(self, version: str) -> str:
        versions = {v["version"]: v["pipeline_id"] for v in self.list_versions()}
        if version not in versions:
            raise LookupFailed(
                f"Pipeline endpoint {self.name!r} has no version {version!r}.{did_you_mean(version, versions)}",
                version=version,
            )
        return str(versions[version])

    def get_pipeline(self, version: str | int | None = None) -> PublishedPipeline:
        """The published pipeline of ``version`` (default: the default version)."""
        chosen = self.default_version if version is None or version == "" else str(version)
        return PublishedPipeline.get(self._workspace, self._check_version(chosen))

    def _version_of(self, pipeline_id: str, version: str | None) -> str:
        return self.default_version if version is None or version == "" else str(version)

    # -- status ------------------------------------------------------------------------------------
    def enable(self) -> None:
        self._set_status("Active")

    def disable(self) -> None:
        self._set_status("Disabled")

    def archive(self) -> None:
        self._set_status("Archived")

    def check_active(self) -> None:
        status = self.status
        if status != "Active":
            raise PipelineDisabledError(
                f"Pipeline endpoint {self.name!r} is {status.lower()} (disabled for submissions): nothing was run. "
                f"Enable it with PipelineEndpoint.get(ws, name={self.name!r}).enable() "
                f"or: amlpipe endpoint enable {self.name}",
                id=self._id,
            )

    # -- running -------------------------------------------------------------------------------------
    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        parent_run_id: str | None = None,
        pipeline_version: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the default version (or ``pipeline_version``) in ``experiment_name``; returns its PipelineRun."""
        from jupyter_amlpipe.runner.experiment import Experiment

        return self._submit(
            Experiment(self._workspace, experiment_name),
            pipeline_parameters=pipeline_parameters,
            pipeline_version=pipeline_version,
        )

    def _submit(
        self,
        experiment: Any,
        pipeline_parameters: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        pipeline_version: str | None = None,
        **kwargs: Any,
    ) -> Any:
        from jupyter_amlpipe.publish.launch import launch

        self.check_active()
        published = self.get_pipeline(pipeline_version)
        published.check_active()
        props = {
            **published.run_properties(),
            "amlpipe.pipeline_endpoint": self.name,
            "amlpipe.pipeline_endpoint_id": self._id,
            "amlpipe.pipeline_endpoint_version": self._version_of(published.id, pipeline_version),
        }
        return launch(
            experiment.workspace,
            experiment.name,
            published._rec["doc"]["pipeline"],
            pipeline_parameters,
            continue_on_step_failure=published.continue_on_step_failure,
            properties=props,
            tags=tags,
        )

    def to_json(self) -> dict[str, Any]:
        rec = self._record()
        return {
            "Id": self._id,
            "Name": rec["name"],
            "Description": rec["doc"].get("description"),
            "Status": rec["status"],
            "DefaultVersion": rec["doc"]["default_version"],
            "Endpoint": self.endpoint,
            "SwaggerUrl": self.swaggerurl,
            "Versions": [{"Version": v["version"], "PipelineId": v["pipeline_id"]} for v in self.list_versions()],
        }


def _as_published(workspace: Any, pipeline: Any, name: str) -> PublishedPipeline:
    if isinstance(pipeline, PublishedPipeline):
        return pipeline
    if isinstance(pipeline, str):
        return PublishedPipeline.get(workspace, pipeline)
    publish = getattr(pipeline, "publish", None)
    if publish is None:
        raise DefinitionError(f"Expected a PublishedPipeline or a Pipeline, got {type(pipeline).__name__}.")
    result: PublishedPipeline = publish(name=name)
    return result
