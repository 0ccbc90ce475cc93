"""``PipelineEndpoint``: versions of published pipelines behind one name, with a default version (v1)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, PipelineDisabledError, PublishingError, did_you_mean
from jupyter_amlpipe.publish.published import PublishedPipeline, check_name
from jupyter_amlpipe.publish.stored import StoredObject

TABLE = "pipeline_endpoints"
_VERSION_KEYS = ("version", "pipeline_id")


class PipelineVersion(Mapping[str, str]):
    """One version of an endpoint: ``.version``, ``.pipeline_id`` and ``.pipeline`` (the PublishedPipeline).

    v1 has two such classes, ``PipelineVersion`` (``.version``, ``.pipeline``) from ``list_versions()`` and
    ``PipelineIdVersion`` (``.version``, ``.pipeline_id``) in ``pipeline_version_list``; this one is both.
    It is also a read-only mapping ``{"version": ..., "pipeline_id": ...}``, as ``list_versions()`` returned here
    before, so ``v["pipeline_id"]`` and ``v == {"version": "0", "pipeline_id": ...}`` keep working.
    """

    def __init__(self, workspace: Any, version: str, pipeline_id: str) -> None:
        self._workspace = workspace
        self._version = str(version)
        self._pipeline_id = str(pipeline_id)

    @property
    def version(self) -> str:
        return self._version

    @property
    def pipeline_id(self) -> str:
        return self._pipeline_id

    @property
    def pipeline(self) -> PublishedPipeline:
        """The published pipeline of this version (looked up now)."""
        return PublishedPipeline.get(self._workspace, self._pipeline_id)

    def __getitem__(self, key: str) -> str:
        if key == "version":
            return self._version
        if key == "pipeline_id":
            return self._pipeline_id
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_VERSION_KEYS)

    def __len__(self) -> int:
        return len(_VERSION_KEYS)

    def __repr__(self) -> str:
        return f"PipelineVersion(Version: {self._version}, PipelineId: {self._pipeline_id})"


PipelineIdVersion = PipelineVersion  # v1's name for the (version, pipeline_id) pair


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
        _check_free(workspace, name)
        published = _as_published(workspace, pipeline, name)
        eid = str(uuid.uuid4())
        store = workspace._store
        with store.write():  # check, take the name and add version "0" at once: two publishers cannot both win
            _check_free(workspace, name)
            _free_name(workspace, name)
            store.put_doc(TABLE, eid, name, "Active", {"description": description, "default_version": "0"})
            store.add_endpoint_version(eid, published.id)
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

    @classmethod
    def get_all(
        cls, workspace: Any, active_only: bool = True, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> builtins.list[PipelineEndpoint]:
        """v1's older name of :meth:`list`."""
        return cls.list(workspace, active_only=active_only)

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

    @property
    def pipeline_version_list(self) -> builtins.list[PipelineVersion]:
        """The versions, oldest first (v1's list of ``PipelineIdVersion``: ``.version``, ``.pipeline_id``)."""
        return self.list_versions()

    # -- versions ---------------------------------------------------------------------------------
    def list_versions(
        self, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> builtins.list[PipelineVersion]:
        """The versions, oldest first: ``.version``, ``.pipeline_id``, ``.pipeline`` (also ``v["pipeline_id"]``)."""
        return [
            PipelineVersion(self._workspace, v["version"], v["pipeline_id"])
            for v in self._workspace._store.endpoint_versions(self._id)
        ]

    def get_all_versions(
        self, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> builtins.list[PipelineVersion]:
        """v1's older name of :meth:`list_versions`."""
        return self.list_versions()

    def list_pipelines(
        self, active_only: bool = True, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> builtins.list[PublishedPipeline]:
        """The published pipelines of the versions, oldest version first (a pipeline added twice counts once)."""
        ids = list(dict.fromkeys(v.pipeline_id for v in self.list_versions()))
        pipelines = [PublishedPipeline.get(self._workspace, pid) for pid in ids]
        return [p for p in pipelines if not active_only or p.status == "Active"]

    def get_all_pipelines(
        self, active_only: bool = True, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> builtins.list[PublishedPipeline]:
        """v1's older name of :meth:`list_pipelines`."""
        return self.list_pipelines(active_only=active_only)

    def add(self, pipeline: Any) -> str:
        """Add ``pipeline`` as a new version (the default does not change); return its version."""
        published = _as_published(self._workspace, pipeline, self.name)
        return str(self._workspace._store.add_endpoint_version(self._id, published.id))

    def add_default(self, pipeline: Any) -> str:
        """Add ``pipeline`` as a new version and make it the default; return its version."""
        published = _as_published(self._workspace, pipeline, self.name)
        store = self._workspace._store
        with store.write():  # nobody sees the new version before it is the default
            version = str(store.add_endpoint_version(self._id, published.id))
            store.update_doc(TABLE, self._id, {"default_version": version})
        self._record()
        return version

    def set_default_version(self, version: str | int) -> None:
        version = str(version)
        self._check_version(version)
        # only the default_version key changes, read and written in one transaction (versions are never removed)
        self._workspace._store.update_doc(TABLE, self._id, {"default_version": version})
        self._record()

    def set_default(self, pipeline: Any) -> None:
        """Make the version that holds ``pipeline`` (a PublishedPipeline or its id) the default."""
        pipeline_id = pipeline if isinstance(pipeline, str) else getattr(pipeline, "id", None)
        versions = [v.version for v in self.list_versions() if v.pipeline_id == pipeline_id]
        if not versions:
            known = [v.pipeline_id for v in self.list_versions()]
            raise LookupFailed(
                f"Published pipeline {pipeline_id!r} is not a version of pipeline endpoint {self.name!r}."
                f"{did_you_mean(str(pipeline_id), known)} Add it with "
                f"PipelineEndpoint.get(ws, name={self.name!r}).add_default(pipeline).",
                id=pipeline_id,
            )
        self.set_default_version(versions[-1])  # added twice: its latest version, as v1 does

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
        """Retire the endpoint: it refuses submissions, and gives its name up to the next endpoint that takes it."""
        self._set_status("Archived")

    def reactivate(self, name: str) -> PipelineEndpoint:
        """Bring an archived (or disabled) endpoint back as ``Active`` under ``name``; returns this endpoint."""
        self._rename(name, "Active")
        return self

    def set_name(self, name: str) -> None:
        """Rename the endpoint (its id, versions and URL stay)."""
        self._rename(name, None)

    def _rename(self, name: str, status: str | None) -> None:
        check_name(name, "Pipeline endpoint")
        store = self._workspace._store

        def change(row: dict[str, Any]) -> None:
            row["name"] = name
            if status is not None:
                row["status"] = status

        # the check, freeing the name and the rename in one transaction; only name (and status) are written,
        # so a default version or status set by another process since this handle read the endpoint stays
        with store.write():
            others = [r for r in _holders(self._workspace, name) if r["id"] != self._id]
            if others:
                raise PublishingError(
                    f"A pipeline endpoint named {name!r} already exists ({others[0]['id']}): choose another name, "
                    f"or archive that one first with PipelineEndpoint.get(ws, name={name!r}).archive().",
                    name=name,
                )
            if self._record()["name"] != name:
                _free_name(self._workspace, name)
            store.modify_doc(TABLE, self._id, change)
        self._record()

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


def _holders(workspace: Any, name: str) -> builtins.list[dict[str, Any]]:
    """The endpoints that hold ``name``: every one of that name but the archived ones."""
    return [r for r in workspace._store.find_docs(TABLE, name) if r["status"] != "Archived"]


def _check_free(workspace: Any, name: str) -> None:
    if _holders(workspace, name):
        raise PublishingError(
            f"A pipeline endpoint named {name!r} already exists: add a version with "
            f"PipelineEndpoint.get(ws, name={name!r}).add_default(pipeline).",
            name=name,
        )


def _free_name(workspace: Any, name: str) -> None:
    """Rename the archived endpoint called ``name`` (if any) to ``"NAME (archived ID)"``, so another can take it.

    Each one is re-read inside the write: one reactivated or changed meanwhile keeps its state.
    """

    def change(row: dict[str, Any]) -> None:
        if row["name"] == name and row["status"] == "Archived":
            row["name"] = f"{name} (archived {row['id']})"
            row["doc"]["archived_name"] = name

    for record in workspace._store.find_docs(TABLE, name):
        if record["status"] == "Archived":
            workspace._store.modify_doc(TABLE, record["id"], change)


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
