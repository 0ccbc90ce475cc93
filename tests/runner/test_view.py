"""The run-view service: what every viewer (widgets, Lab panel, REST) shows about a pipeline and its runs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline, PipelineData
from jupyter_amlpipe.runner.view import pipeline_graph, run_view, step_detail, step_metrics, step_tail
from jupyter_amlpipe.steps import PythonScriptStep

from . import WAIT, use_checkout

SCRIPTS = {
    "produce.py": """
        import argparse, pathlib
        from jupyter_amlpipe import Run
        p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
        pathlib.Path(a.out).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(a.out) / "data.txt").write_text("clean rows\\n")
        Run.get_context().log_list("losses", [3.0, 2.0, 1.5])
        print("produced the clean data")
    """,
    "consume.py": """
        import argparse, pathlib
        p = argparse.ArgumentParser(); p.add_argument("--in", dest="src"); a = p.parse_args()
        for i in range(50):
            print(f"consume line {i}")
        print("read:", (pathlib.Path(a.src) / "data.txt").read_text().strip())
    """,
    "explode.py": """
        import sys
        print("explode starting")
        print("explode: the model did not converge", file=sys.stderr)
        sys.exit(2)
    """,
}


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    for name, body in SCRIPTS.items():
        (folder / name).write_text(textwrap.dedent(body), encoding="utf-8")
    return folder


def build(workspace: Any, src: Path) -> Pipeline:
    clean = PipelineData("clean")
    produce = PythonScriptStep(
        "produce.py", name="produce", arguments=["--out", clean], outputs=[clean], source_directory=src
    )
    consume = PythonScriptStep(
        "consume.py", name="consume", arguments=["--in", clean], inputs=[clean], source_directory=src
    )
    explode = PythonScriptStep("explode.py", name="explode", source_directory=src)
    explode.run_after(consume)
    return Pipeline(workspace, [produce, consume, explode])


def finish(run: Any) -> str:
    return str(run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False))


def test_pipeline_graph_names_steps_data_links_and_run_after(workspace: Any, src: Path) -> None:
    graph = pipeline_graph(build(workspace, src))

    assert [(n["name"], n["kind"], n["compute"], n["status"]) for n in graph["nodes"]] == [
        ("produce", "python_script", "local", "NotStarted"),
        ("consume", "python_script", "local", "NotStarted"),
        ("explode", "python_script", "local", "NotStarted"),
    ]
    edges = {(e["source"], e["target"]): (e["kind"], e["data"]) for e in graph["edges"]}
    assert edges == {("produce", "consume"): ("data", ["clean"]), ("consume", "explode"): ("run_after", [])}
    json.dumps(graph)  # JSON-ready as it is


def test_run_view_of_a_failed_then_reused_run(workspace: Any, src: Path) -> None:
    pipeline = build(workspace, src)
    first = Experiment(workspace, "view").submit(pipeline)
    assert finish(first) == "Failed"

    view = run_view(workspace, first.id)
    assert view["status"] == "Failed" and view["terminal"] is True
    assert view["progress"] == {
        "ran": 2,
        "reused": 0,
        "failed": 1,
        "canceled": 0,
        "running": 0,
        "queued": 0,
        "not_started": 0,
        "done": 3,
        "total": 3,
    }
    steps = {s["name"]: s for s in view["steps"]}
    assert {n: s["status"] for n, s in steps.items()} == {
        "produce": "Finished",
        "consume": "Finished",
        "explode": "Failed",
    }
    assert steps["produce"]["reasons"] == ["no earlier execution"]
    assert steps["produce"]["outputs"]["clean"]["path"].endswith("/clean")
    assert "exited with code 2" in steps["explode"]["error"]
    assert all(s["duration"] is not None and s["duration"] >= 0 for s in view["steps"])
    edges = {(e["source"], e["target"]): e["label"] for e in view["edges"]}
    assert edges == {("produce", "consume"): "clean", ("consume", "explode"): ""}
    assert [n["status"] for n in view["nodes"]] == ["Finished", "Finished", "Failed"]

    # The same pipeline again: the two good steps are reused, the failing one runs (and fails) again.
    second = Experiment(workspace, "view").submit(pipeline)
    assert finish(second) == "Failed"
    again = run_view(workspace, second.id)
    assert (again["progress"]["ran"], again["progress"]["reused"], again["progress"]["failed"]) == (0, 2, 1)
    reused = {s["name"]: s for s in again["steps"]}
    assert reused["produce"]["reused"] is True
    assert reused["produce"]["reused_from"] == steps["produce"]["run_id"]
    assert reused["produce"]["reasons"][0].startswith("reused: same code, parameters and input content")
    assert reused["explode"]["reused"] is False
    nodes = {n["name"]: n for n in again["nodes"]}
    assert nodes["consume"]["reused"] is True and nodes["explode"]["reused"] is False

    # A step run id shows the view of its pipeline run.
    assert run_view(workspace, reused["explode"]["run_id"])["id"] == second.id


def test_step_tail_metrics_and_detail(workspace: Any, src: Path) -> None:
    run = Experiment(workspace, "tail").submit(build(workspace, src))
    assert finish(run) == "Failed"
    steps = {s["name"]: s for s in run_view(workspace, run.id)["steps"]}

    tail = step_tail(workspace, steps["consume"]["run_id"], lines=3)
    assert tail["stdout"].splitlines() == ["consume line 48", "consume line 49", "read: clean rows"]
    assert tail["step"] == "consume" and tail["status"] == "Finished"

    failed = step_tail(workspace, steps["explode"]["run_id"])
    assert failed["stdout"] == "explode starting"
    assert failed["stderr"] == "explode: the model did not converge"

    assert step_metrics(workspace, steps["produce"]["run_id"]) == {"losses": [3.0, 2.0, 1.5]}

    # A reused step shows the logs and metrics of the execution it reuses.
    second = Experiment(workspace, "tail").submit(build(workspace, src))
    assert finish(second) == "Failed"
    produce = next(s for s in run_view(workspace, second.id)["steps"] if s["name"] == "produce")
    detail = step_detail(workspace, produce["run_id"], lines=5)
    assert detail["reused"] is True
    assert detail["stdout"] == "produced the clean data"
    assert detail["metrics"] == {"losses": [3.0, 2.0, 1.5]}
