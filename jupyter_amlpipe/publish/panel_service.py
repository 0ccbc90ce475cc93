"""``PanelService``: what the JupyterLab sidebar panel shows and does, as JSON-ready dicts (framework-free).

One workspace per service. Reading goes through the run read model
(:mod:`jupyter_amlpipe.runner.view`) and the workspace's event stream, so the
panel shows runs whichever process runs them (a kernel, the CLI, a server).
Acting reuses the package's own code paths: ``PipelineRun.cancel()``,
``PipelineRun.resume()`` (what ``amlpipe resume`` calls), and
:class:`PublishService` for published pipelines (a panel submission is queued
like a REST one; a :class:`QueueWorker` runs it).

Errors are the package's own (LookupFailed for an unknown run, step or
pipeline; DefinitionError for a bad request; PipelineDisabledError for a
disabled pipeline); the server extension maps them to HTTP statuses.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean
from jupyter_amlpipe.publish.published import PublishedPipeline
from jupyter_amlpipe.publish.service import PublishService
from jupyter_amlpipe.runner import view
from jupyter_amlpipe.runner.runs import STATUSES, TERMINAL, reconcile

__all__ = ["PANEL_SOURCE", "PanelService", "open_workspace"]

PANEL_SOURCE = "lab"  # ``amlpipe.started_by`` of runs started from the panel
MAX_LINES = 5000


def open_workspace(folder: str | Path) -> Any:
    """The workspace in ``folder`` (a workspace folder, or a folder whose config names one, like ``from_config``)."""
    from jupyter_amlpipe.workspace import config as _config
    from jupyter_amlpipe.workspace.workspace import Workspace

    path = Path(folder).expanduser().resolve()
    if (path / _config.WORKSPACE_FILE).is_file():
        return Workspace(path=path)
    if not path.is_dir():
        raise LookupFailed(
            f"No folder {str(path)!r}: choose a workspace folder, or create a workspace with "
            f"Workspace.create(name, path=...) or: amlpipe workspace create NAME --path FOLDER",
            path=str(path),
        )
    return Workspace.from_config(path)


def _row_progress(children: list[dict[str, Any]]) -> dict[str, int]:
    counts = view.progress([{"status": c["status"], "reused": bool(c["details"].get("reused_from"))} for c in children])
    counts["finished"] = counts["ran"] + counts["reused"]
    return counts


def _duration(rec: dict[str, Any]) -> float | None:
    if not rec.get("started"):
        return None
    return round(float(rec.get("ended") or time.time()) - float(rec["started"]), 3)


def _param_type(default: Any) -> str:
    if default is None:
        return "null"
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, dict):
        return "datapath"
    return "string"


class PanelService:
    """The sidebar panel's reads and actions on one workspace."""

    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace
        self._store = workspace._store

    # -- workspace and experiments -----------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {"name": self.workspace.name, "path": str(self.workspace.path)}

    def cursor(self) -> int:
        """The newest event's number: a client that saw this cursor asks ``changes(after=cursor)``."""
        return int(self._store.last_event_seq())

    def experiments(self) -> dict[str, Any]:
        """Experiments with their count of pipeline runs and the newest run's start (or creation) time."""
        counts: dict[str, int] = {}
        last: dict[str, float] = {}
        for rec in self._store.list_runs(None, "pipeline"):
            name = rec["experiment"]
            counts[name] = counts.get(name, 0) + 1
            when = rec.get("started") or rec.get("created")
            if when is not None:
                last[name] = max(last.get(name, 0.0), float(when))
        return {
            "experiments": [
                {"name": name, "runs": counts.get(name, 0), "last_start": last.get(name)}
                for name in self._store.list_experiments()
            ]
        }

    # -- runs ---------------------------------------------------------------------------------
    def _current(self, rec: dict[str, Any]) -> dict[str, Any]:
        return rec if rec["status"] in TERMINAL else reconcile(self.workspace, rec)

    def run_row(self, rec: dict[str, Any]) -> dict[str, Any]:
        """One row of the runs list (``rec``: a pipeline run record)."""
        rec = self._current(rec)
        props = rec.get("properties") or {}
        return {
            "id": rec["id"],
            "experiment": rec["experiment"],
            "status": rec["status"],
            "start_time": rec.get("started"),
            "end_time": rec.get("ended"),
            "created": rec.get("created"),
            "duration": _duration(rec),
            "progress": _row_progress(self._store.child_runs(rec["id"])),
            "started_by": props.get("amlpipe.started_by") or rec["details"].get("started_by"),
            "display_name": rec.get("name"),
            "error": str(rec["error"]).splitlines()[0] if rec.get("error") else None,
        }

    def runs(self, experiment: str | None = None, status: str | None = None, limit: int = 50) -> dict[str, Any]:
        """Pipeline runs, newest first, with the cursor of the event stream they were read at."""
        if status and status not in STATUSES:
            raise DefinitionError(f"Unknown run status {status!r}.{did_you_mean(status, STATUSES)}", status=status)
        if limit < 1:
            raise DefinitionError(f"limit must be at least 1, got {limit}.", limit=limit)
        cursor = self.cursor()  # read first: a change made while listing shows up on the next poll
        records = self._store.list_runs(experiment or None, "pipeline", None if status else limit)
        rows: list[dict[str, Any]] = []
        for rec in records:
            if status and rec["status"] != status and rec["status"] in TERMINAL:
                continue
            row = self.run_row(rec)
            if status and row["status"] != status:
                continue
            rows.append(row)
            if len(rows) >= limit:
                break
        return {"cursor": cursor, "runs": rows}

    def changes(self, after: int) -> dict[str, Any]:
        """The pipeline runs that changed since event ``after``: ``{"cursor", "runs"}`` (empty when none)."""
        events = self._store.events(after=max(0, int(after)))
        if not events:  # a cursor above this one came from another database: the client starts again from here
            return {"cursor": self.cursor(), "runs": []}
        roots: list[str] = []
        for event in events:
            if event["root_id"] not in roots:
                roots.append(event["root_id"])
        return {"cursor": int(events[-1]["seq"]), "runs": roots}

    def _root(self, run_id: str) -> dict[str, Any]:
        rec = self._store.get_run(run_id)
        if rec["kind"] != "pipeline" and rec.get("parent_id"):
            rec = self._store.get_run(rec["parent_id"])
        return rec  # type: ignore[no-any-return]

    def run(self, run_id: str) -> dict[str, Any]:
        """The run view (steps, progress, graph) with the run's properties and parameters."""
        out = view.run_view(self.workspace, run_id)
        rec = self._store.get_run(out["id"])
        props = dict(rec.get("properties") or {})
        for step in out["steps"]:
            step["step_run_id"] = step["run_id"]
            step["reason"] = "; ".join(step["reasons"]) or None
        out.update(
            {
                "start_time": out["started"],
                "end_time": out["ended"],
                "started_by": props.get("amlpipe.started_by") or rec["details"].get("started_by"),
                "display_name": rec.get("name"),
                "graph": {"nodes": out["nodes"], "edges": out["edges"]},
                "properties": props,
                "parameters": dict(props.get("amlpipe.parameters") or rec["details"].get("parameters") or {}),
            }
        )
        return out

    def _step(self, run_id: str, step_name: str) -> dict[str, Any]:
        root = self._root(run_id)
        children = self._store.child_runs(root["id"])
        for child in children:
            if child["name"] == step_name:
                return dict(child)
        names = [c["name"] for c in children]
        raise LookupFailed(
            f"Run {root['id']} has no step {step_name!r}.{did_you_mean(step_name, names)}",
            run_id=root["id"],
            step=step_name,
        )

    def _artifact_dirs(self, rec: dict[str, Any]) -> list[Path]:
        dirs = [Path(self.workspace.run_dir(rec["id"]))]
        origin = rec["details"].get("artifacts_of") or rec["details"].get("reused_from")
        if origin:
            dirs.append(Path(self.workspace.run_dir(origin)))
        return dirs

    def _outputs(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        from jupyter_amlpipe.workspace.datastore import Datastore

        out = []
        for name, where in sorted((rec["details"].get("outputs") or {}).items()):
            path_on_datastore = str(where.get("path", ""))
            try:
                store = Datastore.get(self.workspace, where["datastore"])
                local = store.local_path(path_on_datastore)
                path = str(local) if local is not None else f"{store.url.rstrip('/')}/{path_on_datastore}"
            except LookupFailed:
                path = path_on_datastore
            out.append({"name": name, "path": path, "datastore": where.get("datastore")})
        return out

    def _notebook(self, rec: dict[str, Any]) -> str | None:
        definition = rec["details"].get("definition") or {}
        if definition.get("type") != "notebook" and rec["properties"].get("StepType") != "notebook":
            return None
        for folder in self._artifact_dirs(rec):
            found = sorted((folder / "notebooks").glob("*.ipynb"))
            if found:
                return str(found[0])
        return None

    def step(self, run_id: str, step_name: str, lines: int = 200) -> dict[str, Any]:
        """A step's log tails, metrics, properties, reuse facts, outputs and executed notebook (absolute path)."""
        rec = self._current(self._step(run_id, step_name))
        detail = view.step_detail(self.workspace, rec["id"], max(1, min(int(lines), MAX_LINES)))
        return {
            "name": rec["name"],
            "step_run_id": rec["id"],
            "run_id": rec["parent_id"],
            "status": detail["status"],
            "stdout": detail["stdout"],
            "stderr": detail["stderr"],
            "metrics": detail["metrics"],
            "properties": dict(rec.get("properties") or {}),
            "reused": detail["reused"],
            "reused_from": detail["reused_from"],
            "reason": "; ".join(detail["reasons"]) or None,
            "reasons": detail["reasons"],
            "duration": detail["duration"],
            "error": detail["error"],
            "outputs": self._outputs(rec),
            "notebook": self._notebook(rec),
        }

    # -- actions on runs -------------------------------------------------------------------------
    def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask the run to stop (the process running it stops its steps within seconds); answer its status now."""
        root = self._current(self._root(run_id))
        if root["status"] not in TERMINAL:
            self.workspace.get_run(root["id"]).cancel()
            root = self._current(self._store.get_run(root["id"]))
        return {"id": root["id"], "status": root["status"]}

    def resume(self, run_id: str) -> dict[str, Any]:
        """Continue a Failed or Canceled run as a new run in this process (``PipelineRun.resume()``); answer its id.

        The new run goes on in this process's runner threads; the call returns once it is recorded.
        """
        root = self._current(self._root(run_id))
        run = self.workspace.get_run(root["id"])
        new = run.resume()
        self._store.merge_json(new.id, "properties", {"amlpipe.started_by": PANEL_SOURCE})
        self._store.merge_json(new.id, "details", {"started_by": PANEL_SOURCE})
        return {"id": new.id, "resumed_from": root["id"]}

    def snapshot(self, run_id: str, step_name: str | None = None) -> dict[str, Any]:
        """Materialize a step's code snapshot into the step run's folder; answer where and which files."""
        root = self._root(run_id)
        if step_name:
            rec = self._step(root["id"], step_name)
        else:
            children = [c for c in self._store.child_runs(root["id"]) if c["details"].get("snapshot_id")]
            snapshots = {c["details"]["snapshot_id"] for c in children}
            if len(snapshots) != 1:
                names = ", ".join(repr(c["name"]) for c in children) or "none"
                raise DefinitionError(
                    f"The steps of run {root['id']} have {len(snapshots)} different code snapshots: "
                    f"name the step with step=NAME (steps: {names}).",
                    run_id=root["id"],
                )
            rec = children[0]
        snapshot_id = rec["details"].get("snapshot_id")
        if not snapshot_id:
            raise LookupFailed(f"Step {rec['name']!r} of run {root['id']} has no code snapshot.", run_id=root["id"])
        store = self.workspace.snapshots
        snap = store.load(snapshot_id)
        dest = Path(self.workspace.run_dir(rec["id"])) / "snapshot"
        store.materialize(snap, dest)
        return {"absolute": str(dest), "files": sorted(snap.files), "step": rec["name"], "snapshot_id": snapshot_id}

    # -- published pipelines ---------------------------------------------------------------------
    @staticmethod
    def pipeline_row(published: PublishedPipeline) -> dict[str, Any]:
        doc = published.to_json()
        return {
            "id": doc["Id"],
            "name": doc["Name"],
            "version": doc["Version"],
            "description": doc["Description"],
            "status": doc["Status"],
            "endpoint": doc["Endpoint"],
            "parameters": [
                {"name": name, "default": default, "type": _param_type(default)}
                for name, default in doc["Parameters"].items()
            ],
            "steps": doc["StepNames"],
            "created": doc["CreatedTime"],
        }

    def pipelines(self, include_disabled: bool = False) -> dict[str, Any]:
        published = PublishedPipeline.list(self.workspace, active_only=not include_disabled)
        return {"pipelines": [self.pipeline_row(p) for p in published]}

    def set_pipeline_enabled(self, pipeline_id: str, enabled: bool) -> dict[str, Any]:
        published = PublishedPipeline.get(self.workspace, pipeline_id)
        if enabled:
            published.enable()
        else:
            published.disable()
        return self.pipeline_row(published)

    def submit(self, pipeline_id: str, body: Any) -> dict[str, Any]:
        """Queue a run of a published pipeline from a v1 body; answer ``{"Id": run_id}`` (status Queued).

        Something must run the queue: the caller keeps a :class:`QueueWorker` on this workspace.
        """
        if not isinstance(body, dict):
            raise DefinitionError(
                'The body must be a JSON object like {"ExperimentName": "...", "ParameterAssignments": {...}}.'
            )
        run_id = PublishService(self.workspace).submit_published(pipeline_id, body, source=PANEL_SOURCE)
        # the queue writes no event; this one lets every panel see the new Queued run at once
        self._store.add_events([(run_id, run_id, "status", {"status": "Queued"})])
        return {"Id": run_id}
