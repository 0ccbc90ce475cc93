"""The JSON shapes of Azure ML v1's pipeline REST API, for the OpenAPI document.

The request body is read and checked by the publish service (one validator for
the server, the CLI and Python); these schemas document it and let OpenAPI
tools (client generators, schemathesis) build requests.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jupyter_amlpipe.publish.body_fields import BODY_FIELDS

__all__ = ["SUBMIT_BODY_SCHEMA", "SUBMIT_REQUEST_BODY", "SubmittedRun"]


def _properties() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in BODY_FIELDS:
        props[f.name] = {**f.schema, "description": f.description}
    props["tags"] = {**props["Tags"], "description": "The run's tags (v1's spelling in published pipelines' docs)."}
    return props


# v1's PipelineSubmissionInfo / SubmitPipelineRunRequest: only ExperimentName is required; field names match in
# any case; other fields are accepted and ignored unless they look like a misspelt known field (400).
SUBMIT_BODY_SCHEMA: dict[str, Any] = {
    "title": "PipelineSubmission",
    "type": "object",
    "required": ["ExperimentName"],
    "description": (
        "Azure ML v1's submission body, accepted as is. Field names match in any case. Fields this server does "
        "not use are accepted and ignored (listed in the run's property amlpipe.ignored_fields); a field whose "
        "name is a near miss of a known one (ExperimentNme) is refused with 400 and a 'did you mean'."
    ),
    "properties": _properties(),
    "additionalProperties": True,
    "example": {
        "ExperimentName": "nightly",
        "ParameterAssignments": {"lr": 0.05, "epochs": 3},
        "DataPathAssignments": {"raw": {"DataStoreName": "workspaceblobstore", "RelativePath": "reviews/2026-07.csv"}},
        "Description": "called from the scheduler",
        "Tags": {"caller": "adf"},
        "RunSource": "SDK",
    },
}

SUBMIT_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Azure ML v1's submission body, accepted as is.",
        "content": {"application/json": {"schema": SUBMIT_BODY_SCHEMA}},
    }
}


class SubmittedRun(BaseModel):
    """v1's answer to a submission: the new PipelineRun, queued (follow it at ``RunUrl``)."""

    model_config = ConfigDict(extra="allow")

    Id: str = Field(description="The new pipeline run's id.")
    Status: str = Field(description="NotStarted, Queued, Running, Finished, Failed or Canceled.")
    ExperimentName: str | None = None
    PipelineId: str | None = None
    PipelineEndpointId: str | None = None
    Description: str | None = None
    CreatedTime: str | None = None
    Tags: dict[str, Any] = Field(default_factory=dict)
    Properties: dict[str, Any] = Field(default_factory=dict)
    RunUrl: str | None = Field(default=None, description="The read route of the run on this server.")
