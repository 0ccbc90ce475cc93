"""Property-based fuzzing of the REST API from its own OpenAPI document (schemathesis): never a 5xx.

Every operation of ``/openapi.json`` gets up to 30 generated requests (valid and
invalid bodies, query values and headers) with a valid token, against a server
whose published pipeline is a no-op. Path parameters name real objects (the
published pipeline, an endpoint, a run), so bodies reach the submission
checks instead of stopping at 404. Runs still queued at the end are canceled.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="fuzzing needs schemathesis (pip install schemathesis)")
from hypothesis import HealthCheck, settings  # noqa: E402

import jupyter_amlpipe  # noqa: E402
from tests.server import Server, follow, noop_pipeline  # noqa: E402

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 30


class Fuzzed:
    def __init__(self, ws: Any, server: Server, token: str, ids: dict[str, str]) -> None:
        self.ws = ws
        self.server = server
        self.token = token
        self.ids = ids


def _cancel_queued(ws: Any) -> int:
    from jupyter_amlpipe.runner.runs import TERMINAL, run_from_id

    canceled = 0
    for rec in ws._store.list_runs(None, "pipeline"):
        if rec["status"] not in TERMINAL:
            run_from_id(ws, rec["id"]).cancel()
            canceled += 1
    return canceled


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    from jupyter_amlpipe.publish import PipelineEndpoint

    root: Path = tmp_path_factory.mktemp("fuzz")
    ws = jupyter_amlpipe.Workspace.create("fuzz", path=root / "ws")
    published = noop_pipeline(ws, root / "src").publish(name="noop", description="does nothing")
    endpoint = PipelineEndpoint.publish(ws, name="noop-endpoint", description="", pipeline=published)
    token = ws.create_token(name="fuzz")
    server = Server(root / "ws", root / "server.log", "--max-running", "1").start()
    try:
        with server.client(token) as client:
            first = client.post(f"/pipelines/v1/published/{published.id}", json={"ExperimentName": "fuzz"})
            run_id = first.json()["Id"]
            follow(client, run_id)
        ids = {"pipeline_id": published.id, "endpoint": endpoint.id, "endpoint_id": endpoint.id, "run_id": run_id}
        yield Fuzzed(ws, server, token, ids)
    finally:
        _cancel_queued(ws)
        server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> Any:
    return schemathesis.openapi.from_url(fuzzed.server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_gets_a_server_error(case: Any, fuzzed: Fuzzed) -> None:
    for name in list(case.path_parameters or {}):
        if name in fuzzed.ids:
            case.path_parameters[name] = fuzzed.ids[name]
    response = case.call(headers={"Authorization": f"Bearer {fuzzed.token}"}, timeout=60)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} answered {response.status_code}: {response.text[:500]}\n"
        f"server log:\n{fuzzed.server.log()[-3000:]}"
    )
    if response.status_code >= 400:
        assert "message" in response.json()["error"], response.text
