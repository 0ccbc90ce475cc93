"""The README's curl example, run with curl against a real server."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.server import follow
from tests.server.conftest import Served

# The example of docs/publishing.md ("The REST server"), with the host, id and token filled in.
CURL_EXAMPLE = """\
curl -sS -X POST "$ENDPOINT" \\
  -H "Authorization: Bearer $TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{"ExperimentName": "from-curl", "ParameterAssignments": {"text": "hello from curl", "count": 3}}'
"""


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_documented_curl_example_starts_a_run(served: Served) -> None:
    endpoint = served.published.endpoint.replace("http://127.0.0.1:8787", served.server.url)
    out = subprocess.run(
        ["bash", "-c", CURL_EXAMPLE],
        env={"ENDPOINT": endpoint, "TOKEN": served.token, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(out.stdout)
    with served.server.client(served.token) as client:
        assert follow(client, answer["Id"])["status"] == "Finished"
        logs = client.get(f"/runs/{answer['Id']}/logs").json()
    assert "wrote hello from curl 3" in logs["steps"][0]["stdout"]


@pytest.mark.parametrize("document", ["README.md", "docs/publishing.md"])
def test_the_curl_example_is_in_the_docs(document: str) -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / document).read_text()
    assert CURL_EXAMPLE.replace('"$ENDPOINT"', "http://127.0.0.1:8787/pipelines/v1/published/$PIPELINE_ID") in text
