"""``Schedule``: start a published pipeline (or an endpoint's default) on a recurrence or when data changes.

Schedules are stored in the workspace; they fire in the serving process
(``amlpipe serve`` runs a :class:`~jupyter_amlpipe.publish.scheduler.SchedulerLoop`).
"""

from __future__ import annotations

import builtins
import time
import uuid
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean
from jupyter_amlpipe.publish.body import parse_body
from jupyter_amlpipe.publish.published import PublishedPipeline, check_name
from jupyter_amlpipe.publish.recurrence import ScheduleRecurrence
from jupyter_amlpipe.publish.stored import StoredObject

__all__ = ["Schedule", "ScheduleRecurrence"]

TABLE = "schedules"


class Schedule(StoredObject):
    """A time-based or data-change schedule of a published pipeline or a pipeline endpoint."""

    TABLE = TABLE
    WHAT = "Schedule"

    # -- creating --------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        workspace: Any,
        name: str,
        pipeline_id: str,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: float = 5,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        **kwargs: Any,
    ) -> Schedule:
        """Schedule runs of a published pipeline: every ``recurrence``, or when files under ``path_on_datastore``
        of ``datastore`` change (checked every ``polling_interval`` minutes)."""
        published = PublishedPipeline.get(workspace, pipeline_id)
        return cls._create(
            workspace, name, {"pipeline_id": published.id}, published.parameters, experiment_name, recurrence,
            description, pipeline_parameters, datastore, polling_interval, data_path_parameter_name,
            continue_on_step_failure, path_on_datastore,
        )  # fmt: skip

    @classmethod
    def create_for_pipeline_endpoint(
        cls,
        workspace: Any,
        name: str,
        pipeline_endpoint_id: str,
        experiment_name: str,
        recurrence: ScheduleRecurrence | None = None,
        description: str | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: float = 5,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
        **kwargs: Any,
    ) -> Schedule:
        """Like :meth:`create`, for the default version of a pipeline endpoint (resolved when it fires)."""
        from jupyter_amlpipe.publish.endpoints import PipelineEndpoint

        endpoint = PipelineEndpoint._by_id_or_name(workspace, pipeline_endpoint_id)
        return cls._create(
            workspace, name, {"pipeline_endpoint_id": endpoint.id}, endpoint.get_pipeline().parameters,
            experiment_name, recurrence, description, pipeline_parameters, datastore, polling_interval,
            data_path_parameter_name, continue_on_step_failure, path_on_datastore,
        )  # fmt: skip

    @classmethod
    def _create(
        cls,
        workspace: Any,
        name: str,
        target: dict[str, str],
        defaults: dict[str, Any],
        experiment_name: str,
        recurrence: ScheduleRecurrence | None,
        description: str | None,
        pipeline_parameters: dict[str, Any] | None,
        datastore: Any,
        polling_interval: float,
        data_path_parameter_name: str | None,
        continue_on_step_failure: bool | None,
        path_on_datastore: str | None,
    ) -> Schedule:
        check_name(name, "Schedule")
        if (recurrence is None) == (datastore is None):
            raise DefinitionError(
                f"Schedule {name!r}: pass either recurrence=ScheduleRecurrence(...) (time-based) or "
                "datastore=... with path_on_datastore (data-change), not both or neither."
            )
        body: dict[str, Any] = {"ExperimentName": experiment_name, "ParameterAssignments": pipeline_parameters or {}}
        if continue_on_step_failure is not None:
            body["ContinueRunOnStepFailure"] = continue_on_step_failure
        parse_body(body, defaults, workspace)  # a bad parameter fails now, not at every firing
        if not isinstance(polling_interval, (int, float)) or polling_interval <= 0:
            raise DefinitionError(f"polling_interval must be a positive number of minutes, got {polling_interval!r}.")
        store_name = None if datastore is None else str(getattr(datastore, "name", datastore))
        if store_name is not None:
            from jupyter_amlpipe.workspace.datastore import Datastore

            Datastore.get(workspace, store_name)
        now = time.time()
        doc = {
            **target,
            "description": description,
            "experiment_name": experiment_name,
            "body": body,
            "recurrence": None if recurrence is None else recurrence.to_json(),
            "anchor": now,
            "datastore": store_name,
            "path_on_datastore": path_on_datastore or "",
            "polling_interval": float(polling_interval),
            "data_path_parameter_name": data_path_parameter_name,
        }
        sid = str(uuid.uuid4())
        workspace._store.put_doc(TABLE, sid, name, "Active", doc)
        state: dict[str, Any] = {}
        if store_name is not None:
            from jupyter_amlpipe.publish.scheduler import fingerprint

            state["fingerprint"] = fingerprint(workspace, store_name, path_on_datastore or "")
        workspace._store.set_schedule_state(sid, now - 1e-3 if recurrence and not recurrence.start_time else now, state)
        return cls.get(workspace, sid)

    # -- finding ----------------------------------------------------------------------------------
    @classmethod
    def get(cls, workspace: Any, id: str, **kwargs: Any) -> Schedule:
        record = workspace._store.get_doc(TABLE, id)
        if record is None:
            known = [r["name"] for r in workspace._store.list_docs(TABLE)]
            raise LookupFailed(
                f"No schedule with id {id!r}.{did_you_mean(str(id), known)} List them with: amlpipe schedule list",
                id=id,
            )
        return cls(workspace, record)

    @classmethod
    def list(
        cls,
        workspace: Any,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
        **kwargs: Any,
    ) -> builtins.list[Schedule]:
        """Schedules, oldest first (active ones unless ``active_only=False``)."""
        out = []
        for r in workspace._store.list_docs(TABLE):
            if active_only and r["status"] != "Active":
                continue
            if pipeline_id is not None and r["doc"].get("pipeline_id") != pipeline_id:
                continue
            if pipeline_endpoint_id is not None and r["doc"].get("pipeline_endpoint_id") != pipeline_endpoint_id:
                continue
            out.append(cls(workspace, r))
        return out

    # -- properties --------------------------------------------------------------------------------
    @property
    def pipeline_id(self) -> str | None:
        return self._rec["doc"].get("pipeline_id")  # type: ignore[no-any-return]

    @property
    def pipeline_endpoint_id(self) -> str | None:
        return self._rec["doc"].get("pipeline_endpoint_id")  # type: ignore[no-any-return]

    @property
    def experiment_name(self) -> str:
        return str(self._rec["doc"]["experiment_name"])

    @property
    def recurrence(self) -> ScheduleRecurrence | None:
        doc = self._rec["doc"].get("recurrence")
        return None if doc is None else ScheduleRecurrence.from_json(doc)

    @property
    def datastore_name(self) -> str | None:
        return self._rec["doc"].get("datastore")  # type: ignore[no-any-return]

    @property
    def path_on_datastore(self) -> str | None:
        return self._rec["doc"].get("path_on_datastore")  # type: ignore[no-any-return]

    @property
    def polling_interval(self) -> float:
        return float(self._rec["doc"]["polling_interval"])

    @property
    def last_error(self) -> str | None:
        """Why the last firing could not start a run, if it could not."""
        state = self._record().get("last_state")
        if not state:
            return None
        import json

        return json.loads(state).get("last_error")  # type: ignore[no-any-return]

    # -- status --------------------------------------------------------------------------------------
    def enable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        self._set_status("Active")

    def disable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        self._set_status("Disabled")

    # -- its runs -------------------------------------------------------------------------------------
    def get_pipeline_runs(self) -> builtins.list[Any]:
        """The pipeline runs this schedule started, newest first."""
        from jupyter_amlpipe.runner.experiment import Experiment
        from jupyter_amlpipe.runner.runs import PipelineRun

        experiment = Experiment(self._workspace, self.experiment_name)
        return [
            PipelineRun(experiment, r["id"], r)
            for r in self._workspace._store.list_runs(self.experiment_name, "pipeline")
            if r["properties"].get("azureml.scheduleid") == self._id
        ]

    def get_last_pipeline_run(self) -> Any:
        """The latest pipeline run this schedule started, or None."""
        runs = self.get_pipeline_runs()
        return runs[0] if runs else None

    def to_json(self) -> dict[str, Any]:
        rec = self._record()
        doc = rec["doc"]
        return {
            "Id": self._id,
            "Name": rec["name"],
            "Status": rec["status"],
            "PipelineId": doc.get("pipeline_id"),
            "PipelineEndpointId": doc.get("pipeline_endpoint_id"),
            "ExperimentName": doc["experiment_name"],
            "Recurrence": doc.get("recurrence"),
            "Datastore": doc.get("datastore"),
            "PathOnDatastore": doc.get("path_on_datastore"),
            "PollingInterval": doc.get("polling_interval"),
            "LastFired": rec.get("last_fired"),
        }

    def __repr__(self) -> str:
        return f"Schedule(Name: {self.name}, Id: {self._id}, Status: {self._rec['status']})"
