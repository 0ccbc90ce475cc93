"""v1 callers' bodies over HTTP: v1's metadata fields accepted, typos refused, the OpenAPI document in agreement."""

from __future__ import annotations

from typing import Any

from tests.server import follow
from tests.server.conftest import Served

_EXAMPLE = {"object": {}, "string": "x", "boolean": False}


def _submit_schema(doc: dict[str, Any]) -> dict[str, Any]:
    op = doc["paths"]["/pipelines/v1/published/{pipeline_id}"]["post"]
    schema: dict[str, Any] = op["requestBody"]["content"]["application/json"]["schema"]
    return schema


def test_a_v1_body_with_metadata_fields_runs_on_v1_url_shape(served: Served) -> None:
    body = {
        "ExperimentName": "v1-metadata",
        "ParameterAssignments": {"text": "from-v1", "count": "4"},  # v1's string form of a number
        "DataSetDefinitionValueAssignments": {},
        "RunSource": "SDK",
        "RunType": "HTTP",
        "ParentRunId": "parent-of-the-caller",
        "StepTags": {},
        "Tags": {"caller": "adf"},
        "ContinueOnStepFailure": False,
    }
    url = f"/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/{served.published.id}"
    with served.server.client(served.token) as client:
        answer = client.post(url, json=body)
        assert answer.status_code == 200, answer.text
        run_id = answer.json()["Id"]
        assert answer.json()["Tags"] == {"caller": "adf"}
        assert answer.json()["Properties"]["amlpipe.ignored_fields"] == "RunSource, RunType, ParentRunId, StepTags"
        assert follow(client, run_id)["status"] == "Finished"
        logs = client.get(f"/runs/{run_id}/logs").json()
        metrics = client.get(f"/runs/{run_id}/metrics").json()
    assert "wrote from-v1 4" in logs["steps"][0]["stdout"]
    assert metrics["steps"]["write"]["count"] == 4.0


def test_a_typo_of_a_known_field_gets_400_with_did_you_mean(served: Served) -> None:
    url = f"/pipelines/v1/published/{served.published.id}"
    with served.server.client(served.token) as client:
        typo = client.post(url, json={"ExperimentName": "v1-typos", "ParameterAssignment": {"text": "x"}})
        assert typo.status_code == 400
        message = typo.json()["error"]["message"]
        assert "'ParameterAssignment'" in message and "Did you mean 'ParameterAssignments'?" in message
        name_typo = client.post(url, json={"ExperimentNme": "v1-typos"})
        assert name_typo.status_code == 400
        assert "Did you mean 'ExperimentName'?" in name_typo.json()["error"]["message"]
    assert served.ws._store.list_runs("v1-typos") == []


def test_every_field_the_openapi_document_names_is_accepted(served: Served) -> None:
    with served.server.client(served.token) as client:
        schema = _submit_schema(client.get("/openapi.json").json())
        assert schema["additionalProperties"] is True and schema["required"] == ["ExperimentName"]
        for name in ("RunSource", "DataSetDefinitionValueAssignments", "ContinueOnStepFailure", "RunId"):
            assert name in schema["properties"]
        body = {name: _EXAMPLE.get(spec.get("type", "string"), "x") for name, spec in schema["properties"].items()}
        body["ExperimentName"] = "v1-openapi"
        answer = client.post(f"/pipelines/v1/published/{served.published.id}", json=body)
        assert answer.status_code == 200, answer.text
        assert follow(client, answer.json()["Id"])["status"] == "Finished"
