"""Read routes for runs, so any HTTP client can follow a run it started.

The same read model as the widgets and the Lab panel
(:mod:`jupyter_amlpipe.runner.view`): a pipeline run id or a step run id.

- ``GET /runs/{run_id}``: status, times, progress counts, steps, graph, metrics.
- ``GET /runs/{run_id}/steps``: one row per step run (status, reuse, outputs, error).
- ``GET /runs/{run_id}/metrics``: the run's metrics (a pipeline run: also each step's).
- ``GET /runs/{run_id}/logs?lines=N``: the last lines of stdout/stderr (a pipeline run: of each step).
- ``GET /runs/{run_id}/outputs``: the files the run kept and the datastore paths of its outputs.
- ``POST /runs/{run_id}/cancel``: cancel the run (a queued run never starts).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from jupyter_amlpipe.runner.runs import run_from_id
from jupyter_amlpipe.runner.view import run_view, step_metrics, step_tail
from jupyter_amlpipe.server.auth import TokenName

__all__ = ["router"]

router = APIRouter(prefix="/runs", tags=["runs"])

MAX_LOG_LINES = 10000
Lines = Annotated[int, Query(ge=1, le=MAX_LOG_LINES, description="How many of the last lines of each log.")]


def _workspace(request: Request) -> Any:
    return request.app.state.workspace


def _record(request: Request, run_id: str) -> dict[str, Any]:
    record: dict[str, Any] = _workspace(request)._store.get_run(run_id)  # LookupFailed → 404
    return record


@router.get("/{run_id}", summary="A run's status, progress, steps and graph")
def get_run(run_id: str, request: Request, _token: TokenName) -> dict[str, Any]:
    """Everything a viewer shows about a pipeline run (a step run's id shows its pipeline run)."""
    return run_view(_workspace(request), run_id)


@router.get("/{run_id}/steps", summary="The step runs of a pipeline run")
def get_steps(run_id: str, request: Request, _token: TokenName) -> list[dict[str, Any]]:
    """One row per step run: name, run_id, status, times, reused, reasons, outputs, error."""
    steps: list[dict[str, Any]] = run_view(_workspace(request), run_id)["steps"]
    return steps


@router.get("/{run_id}/metrics", summary="The metrics a run logged")
def get_metrics(run_id: str, request: Request, _token: TokenName) -> dict[str, Any]:
    """``{"run_id", "metrics", "steps": {step name: metrics}}`` (``steps`` only for a pipeline run)."""
    ws = _workspace(request)
    record = _record(request, run_id)
    out: dict[str, Any] = {"run_id": run_id, "metrics": step_metrics(ws, run_id)}
    if record["kind"] == "pipeline":
        out["steps"] = {child["name"]: step_metrics(ws, child["id"]) for child in ws._store.child_runs(run_id)}
    return out


@router.get("/{run_id}/logs", summary="The last lines of a run's logs")
def get_logs(run_id: str, request: Request, _token: TokenName, lines: Lines = 200) -> dict[str, Any]:
    """A step run: ``{"run_id", "step", "status", "stdout", "stderr"}``; a pipeline run: that for each step."""
    ws = _workspace(request)
    record = _record(request, run_id)
    if record["kind"] != "pipeline":
        return step_tail(ws, run_id, lines)
    steps = [step_tail(ws, child["id"], lines) for child in ws._store.child_runs(run_id)]
    return {"run_id": run_id, "status": record["status"], "steps": steps}


def _outputs_of(ws: Any, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": record["id"],
        "name": record["name"],
        "status": record["status"],
        "files": run_from_id(ws, record["id"]).get_file_names(),
        "outputs": dict(record["details"].get("outputs", {})),
    }


@router.get("/{run_id}/outputs", summary="The files and outputs a run kept")
def get_outputs(run_id: str, request: Request, _token: TokenName) -> dict[str, Any]:
    """A step run: its files and ``outputs`` ({name: {"datastore", "path"}}); a pipeline run: that for each step."""
    ws = _workspace(request)
    record = _record(request, run_id)
    out = _outputs_of(ws, record)
    if record["kind"] == "pipeline":
        out["steps"] = [_outputs_of(ws, child) for child in ws._store.child_runs(run_id)]
    return out


@router.post("/{run_id}/cancel", summary="Cancel a run")
def cancel_run(run_id: str, request: Request, _token: TokenName) -> dict[str, Any]:
    """Cancel a queued or running run; answers the run's status after the request."""
    ws = _workspace(request)
    _record(request, run_id)
    run_from_id(ws, run_id).cancel()
    record = _record(request, run_id)
    return {"Id": run_id, "Status": record["status"], "CancelRequested": True}
