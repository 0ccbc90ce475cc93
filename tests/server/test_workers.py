"""``amlpipe serve --workers 2``: two HTTP worker processes, one queue; queued runs run side by side and all finish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jupyter_amlpipe
from tests.server import ASSETS, Server, follow


def _barrier_pipeline(ws: Any, source: Path) -> Any:
    """One step that waits until ``count`` runs have reached it under ``folder`` (see assets/server_barrier.py)."""
    from jupyter_amlpipe import Pipeline, PipelineParameter
    from jupyter_amlpipe.steps import PythonScriptStep

    source.mkdir(parents=True, exist_ok=True)
    (source / "server_barrier.py").write_text((ASSETS / "server_barrier.py").read_text())
    folder = PipelineParameter(name="folder", default_value="unset")
    count = PipelineParameter(name="count", default_value=2)
    step = PythonScriptStep(
        name="barrier",
        script_name="server_barrier.py",
        arguments=["--folder", folder, "--count", count],
        source_directory=str(source),
        allow_reuse=False,
    )
    return Pipeline(workspace=ws, steps=[step])


def test_two_workers_run_queued_submissions_at_the_same_time(tmp_path: Path) -> None:
    ws = jupyter_amlpipe.Workspace.create("workers", path=tmp_path / "ws")
    published = _barrier_pipeline(ws, tmp_path / "src").publish(name="barrier")
    token = ws.create_token(name="workers")
    server = Server(tmp_path / "ws", tmp_path / "server.log", "--workers", "2", "--max-running", "2").start()
    try:
        with server.client(token) as client:
            ids = []
            for group in ("first", "first", "second", "second"):  # each pair meets at its own barrier
                body = {"ExperimentName": "workers", "ParameterAssignments": {"folder": str(tmp_path / group)}}
                answer = client.post(f"/pipelines/v1/published/{published.id}", json=body)
                assert answer.status_code == 200, answer.text
                ids.append(answer.json()["Id"])
            assert len(set(ids)) == 4
            views = [follow(client, run_id) for run_id in ids]
    finally:
        server.stop()
    log = server.log()
    assert [v["status"] for v in views] == ["Finished"] * 4, log[-3000:]
    for run_id in ids:
        stdout = ws.get_run(run_id).find_step_run("barrier")[0].get_stdout_log()
        assert "barrier passed with 2 runs" in stdout
    assert log.count("Started server process") == 2, log[-3000:]  # two HTTP worker processes served
