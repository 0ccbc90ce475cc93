"""Submit published pipelines and endpoints with Azure ML v1's body; list what is published.

Submission routes (POST, v1 body, answer ``{"Id": RUN_ID, "Status": ...}`` at once; the run is queued):

- ``/pipelines/v1/published/{pipeline_id}``: a published pipeline's ``endpoint``.
- ``/pipelines/v1/endpoints/{endpoint}?pipelineVersion=V``: a pipeline endpoint (id or name), its default
  version unless ``pipelineVersion`` names another.
- v1's own URL shapes, after any prefix (a v1 caller only changes the host):
  ``.../PipelineRuns/PipelineSubmit/{pipeline_id}``,
  ``.../PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}?pipelineVersion=V`` (and ``.../Name/{name}``).

Lookups are per request, so a pipeline published after the server started is served at once.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.server.auth import TokenName, service_of
from jupyter_amlpipe.server.schemas import SUBMIT_REQUEST_BODY, SubmittedRun

__all__ = ["router"]

router = APIRouter(tags=["pipelines"])

PipelineVersion = Annotated[
    str | None, Query(description="The endpoint version to run; default: the endpoint's default version.")
]


async def read_submission(request: Request) -> dict[str, Any]:
    """The request's JSON object; DefinitionError (400) for an empty, malformed or non-object body."""
    raw = await request.body()
    if not raw.strip():
        raise DefinitionError(
            'The request has no body. Send v1\'s submission body, at least {"ExperimentName": "NAME"}.'
        )
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DefinitionError(
            f'The request body is not valid JSON ({exc}). Send a JSON object such as {{"ExperimentName": "NAME", '
            '"ParameterAssignments": {"lr": 0.05}}.'
        ) from exc
    if not isinstance(body, dict):
        raise DefinitionError(
            f"The request body must be a JSON object (v1's submission body), not a JSON {type(body).__name__}."
        )
    return body


def _iso(ts: Any) -> str | None:
    if not isinstance(ts, (int, float)):
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _answer(request: Request, run_id: str, body: dict[str, Any], **ids: str | None) -> SubmittedRun:
    record = request.app.state.workspace._store.find_run(run_id) or {}
    return SubmittedRun(
        Id=run_id,
        Status=str(record.get("status") or "Queued"),
        ExperimentName=record.get("experiment") or body.get("ExperimentName"),
        Description=(record.get("details") or {}).get("description") or body.get("Description"),
        CreatedTime=_iso(record.get("created")),
        Tags=record.get("tags") or {},
        Properties=record.get("properties") or {},
        RunUrl=str(request.url_for("get_run", run_id=run_id)),
        **ids,
    )


async def _submit_published(request: Request, pipeline_id: str) -> SubmittedRun:
    body = await read_submission(request)
    run_id = await run_in_threadpool(service_of(request).submit_published, pipeline_id, body, source="rest")
    return _answer(request, run_id, body, PipelineId=pipeline_id)


async def _submit_endpoint(request: Request, endpoint: str, version: str | None) -> SubmittedRun:
    body = await read_submission(request)
    run_id = await run_in_threadpool(service_of(request).submit_endpoint, endpoint, body, version, source="rest")
    record = request.app.state.workspace._store.find_run(run_id) or {}
    pipeline_id = (record.get("properties") or {}).get("azureml.pipelineid")
    return _answer(request, run_id, body, PipelineEndpointId=endpoint, PipelineId=pipeline_id)


# --- published pipelines ---------------------------------------------------------------


@router.post(
    "/pipelines/v1/published/{pipeline_id}",
    response_model=SubmittedRun,
    summary="Run a published pipeline (its endpoint)",
    openapi_extra=SUBMIT_REQUEST_BODY,
)
async def submit_published(pipeline_id: str, request: Request, _token: TokenName) -> SubmittedRun:
    """Start a run of the published pipeline with v1's body; answers at once with the queued run's ``Id``."""
    return await _submit_published(request, pipeline_id)


@router.post(
    "/PipelineRuns/PipelineSubmit/{pipeline_id}",
    response_model=SubmittedRun,
    summary="Run a published pipeline (v1 URL shape; any prefix before /PipelineRuns is accepted)",
    openapi_extra=SUBMIT_REQUEST_BODY,
)
async def v1_pipeline_submit(pipeline_id: str, request: Request, _token: TokenName) -> SubmittedRun:
    """v1's ``.../PipelineRuns/PipelineSubmit/{id}``: the same as POSTing to the pipeline's endpoint."""
    return await _submit_published(request, pipeline_id)


@router.post("/{prefix:path}/PipelineRuns/PipelineSubmit/{pipeline_id}", include_in_schema=False)
async def v1_pipeline_submit_prefixed(
    prefix: str, pipeline_id: str, request: Request, _token: TokenName
) -> SubmittedRun:
    return await _submit_published(request, pipeline_id)


@router.get("/pipelines/v1/published", summary="List published pipelines")
def list_published(
    request: Request,
    _token: TokenName,
    active_only: Annotated[bool, Query(description="Only Active pipelines (false: disabled ones too).")] = True,
) -> list[dict[str, Any]]:
    """Published pipelines: Id, Name, Description, Version, Status, Endpoint, parameters with defaults."""
    published: list[dict[str, Any]] = service_of(request).list_published(active_only=active_only)
    return published


@router.get("/pipelines/v1/published/{pipeline_id}", summary="One published pipeline")
def get_published(pipeline_id: str, request: Request, _token: TokenName) -> dict[str, Any]:
    """A published pipeline: Id, Name, Description, Version, Status, Endpoint, parameters with defaults."""
    published: dict[str, Any] = service_of(request).get_published(pipeline_id)
    return published


# --- pipeline endpoints ----------------------------------------------------------------


@router.post(
    "/pipelines/v1/endpoints/{endpoint}",
    response_model=SubmittedRun,
    summary="Run a pipeline endpoint (id or name), its default version unless pipelineVersion says",
    openapi_extra=SUBMIT_REQUEST_BODY,
)
async def submit_endpoint(
    endpoint: str, request: Request, _token: TokenName, pipelineVersion: PipelineVersion = None
) -> SubmittedRun:
    """Start a run of one version of the endpoint with v1's body; answers at once with the queued run's ``Id``."""
    return await _submit_endpoint(request, endpoint, pipelineVersion)


@router.post(
    "/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}",
    response_model=SubmittedRun,
    summary="Run a pipeline endpoint (v1 URL shape; any prefix before /PipelineRuns is accepted)",
    openapi_extra=SUBMIT_REQUEST_BODY,
)
async def v1_endpoint_submit(
    endpoint_id: str, request: Request, _token: TokenName, pipelineVersion: PipelineVersion = None
) -> SubmittedRun:
    """v1's ``.../PipelineRuns/PipelineEndpointSubmit/Id/{id}?pipelineVersion=V``."""
    return await _submit_endpoint(request, endpoint_id, pipelineVersion)


@router.post("/{prefix:path}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}", include_in_schema=False)
async def v1_endpoint_submit_prefixed(
    prefix: str, endpoint_id: str, request: Request, _token: TokenName, pipelineVersion: PipelineVersion = None
) -> SubmittedRun:
    return await _submit_endpoint(request, endpoint_id, pipelineVersion)


@router.post("/PipelineRuns/PipelineEndpointSubmit/Name/{name}", include_in_schema=False)
async def v1_endpoint_submit_by_name(
    name: str, request: Request, _token: TokenName, pipelineVersion: PipelineVersion = None
) -> SubmittedRun:
    return await _submit_endpoint(request, name, pipelineVersion)


@router.post("/{prefix:path}/PipelineRuns/PipelineEndpointSubmit/Name/{name}", include_in_schema=False)
async def v1_endpoint_submit_by_name_prefixed(
    prefix: str, name: str, request: Request, _token: TokenName, pipelineVersion: PipelineVersion = None
) -> SubmittedRun:
    return await _submit_endpoint(request, name, pipelineVersion)


@router.get("/pipelines/v1/endpoints", summary="List pipeline endpoints")
def list_endpoints(request: Request, _token: TokenName) -> list[dict[str, Any]]:
    """Pipeline endpoints with their versions and default version."""
    endpoints: list[dict[str, Any]] = service_of(request).list_endpoints()
    return endpoints


@router.get("/pipelines/v1/endpoints/{endpoint}", summary="One pipeline endpoint (id or name)")
def get_endpoint(endpoint: str, request: Request, _token: TokenName) -> dict[str, Any]:
    """A pipeline endpoint: id, name, default version, versions and the pipeline of each."""
    found: dict[str, Any] = service_of(request).get_endpoint(endpoint)
    return found
