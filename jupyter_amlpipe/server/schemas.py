"""The JSON shapes of Azure ML v1's pipeline REST API, for the OpenAPI document.

The request body is read and checked by the publish service (one validator for
the server, the CLI and Python); these schemas document it and let OpenAPI
tools (client generators, schemathesis) build requests.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SUBMIT_BODY_SCHEMA", "SUBMIT_REQUEST_BODY", "SubmittedRun"]

# v1's PipelineSubmissionInfo: only ExperimentName is required; a parameter value keeps its JSON type.
SUBMIT_BODY_SCHEMA: dict[str, Any] = {
    "title": "PipelineSubmission",
    "type": "object",
    "required": ["ExperimentName"],
    "properties": {
        "ExperimentName": {"type": "string", "description": "The experiment the run belongs to."},
        "ParameterAssignments": {
            "type": "object",
            "description": "Pipeline parameter values by name; missing ones take their published defaults.",
            "additionalProperties": True,
        },
        "DataPathAssignments": {
            "type": "object",
            "description": "Data path parameters by name: a datastore and a path on it.",
            "additionalProperties": {
                "type": "object",
                "required": ["DataStoreName", "RelativePath"],
                "properties": {"DataStoreName": {"type": "string"}, "RelativePath": {"type": "string"}},
            },
        },
        "Description": {"type": "string", "description": "The run's description."},
        "ContinueRunOnStepFailure": {
            "type": "boolean",
            "description": "Keep running independent steps after a step fails.",
        },
        "tags": {"type": "object", "additionalProperties": {"type": "string"}, "description": "The run's tags."},
        "Properties": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "The run's properties.",
        },
    },
    "additionalProperties": False,
    "example": {
        "ExperimentName": "nightly",
        "ParameterAssignments": {"lr": 0.05, "epochs": 3},
        "DataPathAssignments": {"raw": {"DataStoreName": "workspaceblobstore", "RelativePath": "reviews/2026-07.csv"}},
        "Description": "called from the scheduler",
        "tags": {"caller": "adf"},
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
