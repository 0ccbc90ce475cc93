"""End to end: publish in Python, ``amlpipe serve`` in a subprocess, POST v1 bodies, follow the runs over REST."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from jupyter_amlpipe import Experiment, PipelineRun
from tests.server import follow, write_pipeline
from tests.server.conftest import Served


def _params_of(ws: Any, run_id: str, tmp_path: Path) -> dict[str, Any]:
    """The params.json the run's ``write`` step wrote to its output ``out``."""
    run = PipelineRun(Experiment(ws, ws._store.get_run(run_id)["experiment"]), run_id)
    step = run.find_step_run("write")[0]
    folder = step.get_output_data("out").download(str(tmp_path / run_id), show_progress=False)
    found = list(Path(folder).rglob("params.json"))
    assert found, f"no params.json under {folder}"
    data: dict[str, Any] = json.loads(found[0].read_text())
    return data


def test_post_with_defaults_runs_and_is_followed_over_rest_and_python(served: Served, tmp_path: Path) -> None:
    with served.server.client(served.token) as client:
        answer = client.post(f"/pipelines/v1/published/{served.published.id}", json={"ExperimentName": "rest-defaults"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        run_id = body["Id"]
        assert body["Status"] in ("Queued", "NotStarted", "Running", "Finished")
        assert body["ExperimentName"] == "rest-defaults"
        assert body["PipelineId"] == served.published.id

        view = follow(client, run_id)
        assert view["status"] == "Finished", view
        assert [s["name"] for s in view["steps"]] == ["write"]

        steps = client.get(f"/runs/{run_id}/steps").json()
        assert steps[0]["status"] == "Finished"
        logs = client.get(f"/runs/{run_id}/logs", params={"lines": 5}).json()
        assert "wrote default-text 1" in logs["steps"][0]["stdout"]
        metrics = client.get(f"/runs/{run_id}/metrics").json()
        assert metrics["steps"]["write"]["count"] == 1.0
        outputs = client.get(f"/runs/{run_id}/outputs").json()
        assert "out" in outputs["steps"][0]["outputs"]
        assert "logs/stdout.txt" in outputs["steps"][0]["files"]

    # The same run, attached from Python by id.
    run = PipelineRun(Experiment(served.ws, "rest-defaults"), run_id)
    run.wait_for_completion(timeout_seconds=120)
    assert run.get_status() == "Finished"
    assert _params_of(served.ws, run_id, tmp_path) == {"text": "default-text", "count": "1", "env_count": "1"}


def test_post_overrides_take_effect_in_the_outputs(served: Served, tmp_path: Path) -> None:
    body = {
        "ExperimentName": "rest-overrides",
        "ParameterAssignments": {"text": "from-rest", "count": 7},
        "Description": "called over REST",
        "tags": {"caller": "tests"},
    }
    with served.server.client(served.token) as client:
        answer = client.post(f"/pipelines/v1/published/{served.published.id}", json=body)
        assert answer.status_code == 200, answer.text
        run_id = answer.json()["Id"]
        assert follow(client, run_id)["status"] == "Finished"
    run = PipelineRun(Experiment(served.ws, "rest-overrides"), run_id)
    assert run.get_tags()["caller"] == "tests"
    assert _params_of(served.ws, run_id, tmp_path) == {"text": "from-rest", "count": "7", "env_count": "7"}


def test_every_route_but_health_needs_a_valid_token(served: Served) -> None:
    url = f"/pipelines/v1/published/{served.published.id}"
    with served.server.client() as anonymous:
        assert anonymous.get("/health").json()["status"] == "ok"
        for method, path in [("POST", url), ("GET", "/pipelines/v1/published"), ("GET", "/runs/x"), ("GET", "/whoami")]:
            answer = anonymous.request(method, path, json={"ExperimentName": "no-token"})
            assert answer.status_code == 401, (method, path, answer.text)
            assert "Bearer" in answer.headers["www-authenticate"]
            assert "amlpipe token create" in answer.json()["error"]["message"]
    with served.server.client("not-a-token") as wrong:
        assert wrong.post(url, json={"ExperimentName": "bad-token"}).status_code == 401
    assert served.ws._store.list_runs("no-token") == [] and served.ws._store.list_runs("bad-token") == []


def test_a_revoked_token_is_refused_at_once(served: Served) -> None:
    token = served.ws.create_token(name="short-lived")
    with served.server.client(token) as client:
        assert client.get("/whoami").json() == {"token": "short-lived"}
        served.ws.revoke_token("short-lived")
        answer = client.post(f"/pipelines/v1/published/{served.published.id}", json={"ExperimentName": "revoked"})
        assert answer.status_code == 401
        assert "revoked" in answer.json()["error"]["message"]
    assert served.ws._store.list_runs("revoked") == []


def test_a_disabled_pipeline_answers_409_and_runs_nothing_until_enabled(served: Served, tmp_path: Path) -> None:
    published = write_pipeline(served.ws, tmp_path / "src", text="toggled").publish(name="toggled")
    url = f"/pipelines/v1/published/{published.id}"
    with served.server.client(served.token) as client:
        published.disable()
        answer = client.post(url, json={"ExperimentName": "rest-disabled"})
        assert answer.status_code == 409
        assert "disabled" in answer.json()["error"]["message"]
        assert served.ws._store.list_runs("rest-disabled") == []
        listed = {p["Id"] for p in client.get("/pipelines/v1/published").json()}
        assert published.id not in listed
        every = {p["Id"] for p in client.get("/pipelines/v1/published", params={"active_only": "false"}).json()}
        assert published.id in every

        published.enable()
        answer = client.post(url, json={"ExperimentName": "rest-disabled"})
        assert answer.status_code == 200, answer.text
        assert follow(client, answer.json()["Id"])["status"] == "Finished"
    assert _params_of(served.ws, answer.json()["Id"], tmp_path)["text"] == "toggled"


def test_a_pipeline_published_after_the_server_started_is_served(served: Served, tmp_path: Path) -> None:
    with served.server.client(served.token) as client:
        assert client.get("/health").status_code == 200  # the server is up before the pipeline exists
        late = write_pipeline(served.ws, tmp_path / "src", text="late").publish(name="late", version="2")
        assert client.get(f"/pipelines/v1/published/{late.id}").json()["Name"] == "late"
        answer = client.post(f"/pipelines/v1/published/{late.id}", json={"ExperimentName": "rest-late"})
        assert answer.status_code == 200, answer.text
        assert follow(client, answer.json()["Id"])["status"] == "Finished"
    assert _params_of(served.ws, answer.json()["Id"], tmp_path)["text"] == "late"


V1_PREFIX = (
    "/pipelines/v1.0/subscriptions/0000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/old"
)


def test_endpoint_versions_and_default_version_through_the_v1_url_shapes(served: Served, tmp_path: Path) -> None:
    from jupyter_amlpipe.publish import PipelineEndpoint

    first = write_pipeline(served.ws, tmp_path / "a", text="version-zero").publish(name="ep-a")
    second = write_pipeline(served.ws, tmp_path / "b", text="version-one").publish(name="ep-b")
    endpoint = PipelineEndpoint.publish(served.ws, name="scoring", description="versions", pipeline=first)
    new_version = endpoint.add(second)
    url = f"{V1_PREFIX}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint.id}"

    with served.server.client(served.token) as client:
        listed = client.get("/pipelines/v1/endpoints").json()
        assert any(e.get("Id", e.get("id")) == endpoint.id for e in listed), listed
        default_run = client.post(url, json={"ExperimentName": "rest-endpoint"})
        assert default_run.status_code == 200, default_run.text
        chosen_run = client.post(url, params={"pipelineVersion": new_version}, json={"ExperimentName": "rest-endpoint"})
        assert chosen_run.status_code == 200, chosen_run.text
        assert chosen_run.json()["PipelineId"] == second.id
        missing = client.post(url, params={"pipelineVersion": "99"}, json={"ExperimentName": "rest-endpoint"})
        assert missing.status_code == 404
        by_name = client.post("/pipelines/v1/endpoints/scoring", json={"ExperimentName": "rest-endpoint"})
        assert by_name.status_code == 200, by_name.text
        # v1's PipelineSubmit shape, after v1's whole prefix: only the host changed.
        v1_submit = client.post(f"{V1_PREFIX}/PipelineRuns/PipelineSubmit/{second.id}", json={"ExperimentName": "v1"})
        assert v1_submit.status_code == 200, v1_submit.text
        ids = [r.json()["Id"] for r in (default_run, chosen_run, by_name, v1_submit)]
        for run_id in ids:
            assert follow(client, run_id)["status"] == "Finished"

        endpoint.set_default_version(new_version)
        after = client.post(url, json={"ExperimentName": "rest-endpoint"})
        assert after.json()["PipelineId"] == second.id
        assert follow(client, after.json()["Id"])["status"] == "Finished"
    texts = [_params_of(served.ws, run_id, tmp_path)["text"] for run_id in [*ids, after.json()["Id"]]]
    assert texts == ["version-zero", "version-one", "version-zero", "version-one", "version-one"]


def test_caller_mistakes_get_4xx_with_a_message_that_helps(served: Served) -> None:
    url = f"/pipelines/v1/published/{served.published.id}"
    with served.server.client(served.token) as client:
        unknown = client.post(url, json={"ExperimentName": "mistakes", "ParameterAssignments": {"txt": "x"}})
        assert unknown.status_code == 400
        assert "Did you mean 'text'" in unknown.json()["error"]["message"]

        wrong_type = client.post(url, json={"ExperimentName": "mistakes", "ParameterAssignments": {"count": "many"}})
        assert wrong_type.status_code == 400
        assert "count" in wrong_type.json()["error"]["message"]

        no_name = client.post(url, json={"ParameterAssignments": {}})
        assert no_name.status_code == 400
        assert "ExperimentName" in no_name.json()["error"]["message"]

        malformed = client.post(
            url, content=b'{"ExperimentName": "mistakes",', headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        assert "not valid JSON" in malformed.json()["error"]["message"]

        not_object = client.post(url, json=["ExperimentName"])
        assert not_object.status_code == 400

        too_big = client.post(url, json={"ExperimentName": "mistakes", "Description": "x" * (2 * 1024 * 1024)})
        assert too_big.status_code == 413
        assert "larger than" in too_big.json()["error"]["message"]

        unknown_pipeline = client.post("/pipelines/v1/published/no-such-id", json={"ExperimentName": "mistakes"})
        assert unknown_pipeline.status_code == 404
        assert client.get("/runs/no-such-run").status_code == 404
        assert client.get("/runs/no-such-run/logs").status_code == 404
        assert client.get("/runs/x/logs", params={"lines": "many"}).status_code == 400
    assert served.ws._store.list_runs("mistakes") == []


def test_the_openapi_document_is_published_and_endpoints_point_at_it(served: Served) -> None:
    from jupyter_amlpipe.publish import PipelineEndpoint

    with httpx.Client(base_url=served.server.url, timeout=60) as client:
        doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/pipelines/v1/published/{pipeline_id}" in doc["paths"]
    assert "/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}" in doc["paths"]
    body = doc["paths"]["/pipelines/v1/published/{pipeline_id}"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["required"] == ["ExperimentName"]
    assert "BearerToken" in doc["components"]["securitySchemes"]
    endpoint = PipelineEndpoint.publish(served.ws, name="swagger", description="", pipeline=served.published)
    assert endpoint.swaggerurl.endswith("/openapi.json")
