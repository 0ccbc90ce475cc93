"""``Schedule``: start a published pipeline (or an endpoint's default) on a recurrence or when data changes.

Schedules are stored in the workspace; they fire in the serving process
(``amlpipe serve`` runs a :class:`~jupyter_amlpipe.publish.scheduler.SchedulerLoop`).
"""

from __future__ import annotations

import builtins
import json
import time
import uuid
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean
from jupyter_amlpipe.publish.body import parse_body
from jupyter_amlpipe.publish.published import PublishedPipeline, check_name
from jupyter_amlpipe.publish.recurrence import ScheduleRecurrence
from jupyter_amlpipe.publish.stored import StoredObject
from jupyter_amlpipe.publish.time_zones import TimeZone

__all__ = ["Schedule", "ScheduleRecurrence", "TimeZone"]

TABLE = "schedules"
STATUSES = ("Active", "Disabled")


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
            known = [r[key] for r in workspace._store.list_docs(TABLE) for key in ("id", "name")]
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
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
        **kwargs: Any,
    ) -> builtins.list[Schedule]:
        """Schedules, oldest first: the active ones unless ``active_only=False``. With ``pipeline_id`` or
        ``pipeline_endpoint_id``, every schedule of that pipeline or endpoint, active or not (as in v1)."""
        if pipeline_id is not None:
            return cls.get_schedules_for_pipeline_id(workspace, pipeline_id)
        if pipeline_endpoint_id is not None:
            return cls.get_schedules_for_pipeline_endpoint_id(workspace, pipeline_endpoint_id)
        records = workspace._store.list_docs(TABLE)
        return [cls(workspace, r) for r in records if not active_only or r["status"] == "Active"]

    @classmethod
    def get_all(
        cls,
        workspace: Any,
        active_only: bool = True,
        pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> builtins.list[Schedule]:
        """v1's older name of :meth:`list`."""
        return cls.list(workspace, active_only, pipeline_id, pipeline_endpoint_id)

    @classmethod
    def get_schedules_for_pipeline_id(
        cls, workspace: Any, pipeline_id: str, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> builtins.list[Schedule]:
        """Every schedule (active or disabled) of the published pipeline ``pipeline_id``, oldest first."""
        records = workspace._store.list_docs(TABLE)
        found = [cls(workspace, r) for r in records if r["doc"].get("pipeline_id") == pipeline_id]
        if not found:
            PublishedPipeline.get(workspace, pipeline_id)  # an unknown id: LookupFailed with did-you-mean
        return found

    @classmethod
    def get_schedules_for_pipeline_endpoint_id(
        cls, workspace: Any, pipeline_endpoint_id: str, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> builtins.list[Schedule]:
        """Every schedule (active or disabled) of the pipeline endpoint ``pipeline_endpoint_id`` (or its name)."""
        from jupyter_amlpipe.publish.endpoints import PipelineEndpoint

        records = workspace._store.list_docs(TABLE)
        found = [r for r in records if r["doc"].get("pipeline_endpoint_id") == pipeline_endpoint_id]
        if not found:  # a name, or an unknown id: LookupFailed with did-you-mean
            eid = PipelineEndpoint._by_id_or_name(workspace, pipeline_endpoint_id).id
            found = [r for r in records if r["doc"].get("pipeline_endpoint_id") == eid]
        return [cls(workspace, r) for r in found]

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
    def data_path_parameter_name(self) -> str | None:
        return self._rec["doc"].get("data_path_parameter_name")  # type: ignore[no-any-return]

    @property
    def continue_on_step_failure(self) -> bool | None:
        """The schedule's override of the pipeline's ``continue_on_step_failure``, or None."""
        value = self._rec["doc"]["body"].get("ContinueRunOnStepFailure")
        return None if value is None else bool(value)

    @property
    def pipeline_parameters(self) -> dict[str, Any]:
        """The parameter values each run gets (the others take the pipeline's defaults)."""
        return dict(self._rec["doc"]["body"].get("ParameterAssignments") or {})

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

    # -- changing it ----------------------------------------------------------------------------------
    def update(
        self,
        name: str | None = None,
        description: str | None = None,
        recurrence: ScheduleRecurrence | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        status: str | None = None,
        wait_for_provisioning: bool = False,
        wait_timeout: int = 3600,
        datastore: Any = None,
        polling_interval: float | None = None,
        data_path_parameter_name: str | None = None,
        continue_on_step_failure: bool | None = None,
        path_on_datastore: str | None = None,
    ) -> None:
        """Change what is given (None keeps the current value); everything is checked before anything is stored.

        A new ``recurrence`` takes effect at once: its cadence counts from now (or from its ``start_time``) and
        it does not fire for times already past. ``status`` is ``"Active"`` or ``"Disabled"``. A new
        ``datastore`` or ``path_on_datastore`` is watched from now on: only later changes fire the schedule.
        ``pipeline_parameters`` replaces the parameter values the runs get. Only what is given is written, in one
        transaction: a firing the scheduler recorded, or a change another handle made, since stays.
        """
        rec = self._record()
        current = rec["doc"]
        label = f"Schedule {rec['name']!r}"
        data_args = {
            "datastore": datastore,
            "polling_interval": polling_interval,
            "data_path_parameter_name": data_path_parameter_name,
            "path_on_datastore": path_on_datastore,
        }
        _check_kind(label, current.get("recurrence") is not None, recurrence, data_args)
        if status is not None and status not in STATUSES:
            raise DefinitionError(
                f"{label}: status {status!r} is not 'Active' or 'Disabled'.{did_you_mean(str(status), STATUSES)}"
            )
        new_name = None if name is None else check_name(name, "Schedule")
        changes: dict[str, Any] = {}  # only these keys of the stored document are written
        body_changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description
        if pipeline_parameters is not None:
            body_changes["ParameterAssignments"] = dict(pipeline_parameters)
        if continue_on_step_failure is not None:
            body_changes["ContinueRunOnStepFailure"] = bool(continue_on_step_failure)
        if body_changes:  # a bad parameter fails now
            parse_body({**current["body"], **body_changes}, self._defaults(), self._workspace)
        if polling_interval is not None:
            if not isinstance(polling_interval, (int, float)) or polling_interval <= 0:
                raise DefinitionError(
                    f"polling_interval must be a positive number of minutes, got {polling_interval!r}."
                )
            changes["polling_interval"] = float(polling_interval)
        if data_path_parameter_name is not None:
            changes["data_path_parameter_name"] = data_path_parameter_name
        if datastore is not None:
            from jupyter_amlpipe.workspace.datastore import Datastore

            changes["datastore"] = Datastore.get(self._workspace, str(getattr(datastore, "name", datastore))).name
        if path_on_datastore is not None:
            changes["path_on_datastore"] = path_on_datastore
        new_fingerprint = None
        if datastore is not None or path_on_datastore is not None:
            from jupyter_amlpipe.publish.scheduler import fingerprint

            watched = {**current, **changes}
            new_fingerprint = fingerprint(self._workspace, watched["datastore"], watched["path_on_datastore"])
        now = time.time()
        if recurrence is not None:
            changes["recurrence"] = recurrence.to_json()
            changes["anchor"] = now

        def change(row: dict[str, Any]) -> None:
            # the row as stored now: what a scheduler tick or another handle wrote since the read above stays
            row["doc"].update(changes)
            row["doc"]["body"].update(body_changes)
            if new_name is not None:
                row["name"] = new_name
            if status is not None:
                row["status"] = status
            if new_fingerprint is not None:
                state = json.loads(row.get("last_state") or "{}")
                state["fingerprint"] = new_fingerprint
                row["last_state"] = state
            if recurrence is not None:  # the new cadence counts from now: no firing for times already past
                row["last_fired"] = now

        self._workspace._store.modify_doc(TABLE, self._id, change)
        self._record()

    def _defaults(self) -> dict[str, Any]:
        """The parameter defaults of the pipeline this schedule runs (an endpoint's: its default version's)."""
        if self.pipeline_endpoint_id:
            from jupyter_amlpipe.publish.endpoints import PipelineEndpoint

            return PipelineEndpoint.get(self._workspace, id=self.pipeline_endpoint_id).get_pipeline().parameters
        return PublishedPipeline.get(self._workspace, str(self.pipeline_id)).parameters

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


def _check_kind(label: str, time_based: bool, recurrence: Any, data_args: dict[str, Any]) -> None:
    """Refuse data-change arguments for a time-based schedule and a recurrence for a data-change one (v1's rule)."""
    if time_based:
        given = [k for k, v in data_args.items() if v is not None]
        if given:
            raise DefinitionError(
                f"{label} is time-based: {', '.join(given)} apply to data-change schedules only. "
                "Create a data-change schedule with Schedule.create(..., datastore=...) instead."
            )
    elif recurrence is not None:
        raise DefinitionError(
            f"{label} fires when data changes: it takes no recurrence. "
            "Create a time-based schedule with Schedule.create(..., recurrence=ScheduleRecurrence(...)) instead."
        )
