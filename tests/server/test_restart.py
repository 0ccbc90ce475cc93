"""Accepted runs live in the workspace database: a server stopped with runs queued runs them when it starts again."""

from __future__ import annotations

from pathlib import Path

import jupyter_amlpipe
from tests.server import Server, follow, wait_until, write_pipeline


def test_runs_queued_when_the_server_stopped_run_after_it_starts_again(tmp_path: Path) -> None:
    ws = jupyter_amlpipe.Workspace.create("restart", path=tmp_path / "ws")
    published = write_pipeline(ws, tmp_path / "src").publish(name="restart")
    token = ws.create_token()
    url = f"/pipelines/v1/published/{published.id}"

    server = Server(tmp_path / "ws", tmp_path / "server.log", "--max-running", "1").start()
    try:
        with server.client(token) as client:
            slow = client.post(url, json={"ExperimentName": "restart", "ParameterAssignments": {"seconds": 300}})
            assert slow.status_code == 200, slow.text
            slow_id = slow.json()["Id"]
            wait_until(lambda: client.get(f"/runs/{slow_id}").json()["status"] == "Running", "the slow run to start")
            queued_ids = []
            for text in ("first-queued", "second-queued"):
                answer = client.post(url, json={"ExperimentName": "restart", "ParameterAssignments": {"text": text}})
                assert answer.status_code == 200, answer.text
                queued_ids.append(answer.json()["Id"])
            assert [client.get(f"/runs/{i}").json()["status"] for i in queued_ids] == ["Queued", "Queued"]
    finally:
        server.stop()

    # Nothing ran them while the server was down.
    assert [ws._store.get_run(i)["status"] for i in queued_ids] == ["Queued", "Queued"]

    server = Server(tmp_path / "ws", tmp_path / "server.log", "--max-running", "2").start()
    try:
        with server.client(token) as client:
            assert [follow(client, i)["status"] for i in queued_ids] == ["Finished", "Finished"]
            interrupted = follow(client, slow_id)
    finally:
        server.stop()
    assert interrupted["status"] == "Failed"
    assert f"amlpipe resume {slow_id}" in (interrupted["error"] or "")
