"""A token that expires while the server runs is refused from then on (401), and nothing runs."""

from __future__ import annotations

from tests.server import wait_until
from tests.server.conftest import Served


def test_an_expired_token_gets_401_and_runs_nothing(served: Served) -> None:
    token = served.ws.create_token(name="expiring", expires=2.0)
    url = f"/pipelines/v1/published/{served.published.id}"
    with served.server.client(token) as client:
        assert client.get("/whoami").json() == {"token": "expiring"}
        wait_until(lambda: client.get("/whoami").status_code == 401, "the token to expire", timeout=60)
        answer = client.post(url, json={"ExperimentName": "expired-token"})
    assert answer.status_code == 401
    assert "expired" in answer.json()["error"]["message"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert served.ws._store.list_runs("expired-token") == []
    assert {t["name"]: t["status"] for t in served.ws.list_tokens()}["expiring"] == "Expired"
