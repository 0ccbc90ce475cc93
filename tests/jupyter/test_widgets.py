"""Widget state from Python: DagWidget and RunDetails follow real runs live; StepBuilder declares runnable steps."""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("anywidget", reason='the widgets need the [jupyter] extra: pip install "jupyter_amlpipe[jupyter]"')

from jupyter_amlpipe import Experiment, Pipeline, PipelineData
from jupyter_amlpipe.jupyter.widgets import DagWidget, RunDetails, StepBuilder
from jupyter_amlpipe.steps import NotebookStep, PythonScriptStep

WAIT = 120.0

SCRIPTS = {
    "prep.py": """
        import argparse, pathlib
        from jupyter_amlpipe import Run
        p = argparse.ArgumentParser(); p.add_argument("--clean"); a = p.parse_args()
        pathlib.Path(a.clean).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(a.clean) / "rows.txt").write_text("1\\n2\\n3\\n")
        Run.get_context().log_list("losses", [0.9, 0.5, 0.4, 0.2])
        Run.get_context().log("rows", 3)
        print("prep wrote 3 rows")
    """,
    "slow.py": """
        import time
        print("slow step starting", flush=True)
        time.sleep(3)
        print("slow step done")
    """,
    "train.py": """
        import argparse, pathlib
        p = argparse.ArgumentParser(); p.add_argument("--clean"); p.add_argument("--model"); a = p.parse_args()
        rows = (pathlib.Path(a.clean) / "rows.txt").read_text().split()
        pathlib.Path(a.model).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(a.model) / "model.txt").write_text(f"trained on {len(rows)} rows\\n")
        print(f"trained on {len(rows)} rows")
    """,
}


def wait_until(check: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    for name, body in SCRIPTS.items():
        (folder / name).write_text(textwrap.dedent(body), encoding="utf-8")
    return folder


def build(workspace: Any, src: Path) -> Pipeline:
    clean = PipelineData("clean")
    prep = PythonScriptStep("prep.py", name="prep", arguments=["--clean", clean], outputs=[clean], source_directory=src)
    slow = PythonScriptStep("slow.py", name="slow", source_directory=src)
    slow.run_after(prep)
    model = PipelineData("model")
    train = PythonScriptStep(
        "train.py",
        name="train",
        arguments=["--clean", clean, "--model", model],
        inputs=[clean],
        outputs=[model],
        source_directory=src,
    )
    train.run_after(slow)
    return Pipeline(workspace, [prep, slow, train])


class Recorder:
    """Every status each node showed, as the widget's ``nodes`` trait changed (from the follower thread)."""

    def __init__(self, widget: Any) -> None:
        self.seen: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self.take({"new": widget.nodes})
        widget.observe(self.take, names="nodes")

    def take(self, change: dict[str, Any]) -> None:
        with self._lock:
            for node in change["new"]:
                history = self.seen.setdefault(node["name"], [])
                if not history or history[-1] != node["status"]:
                    history.append(node["status"])


def test_dag_widget_of_a_pipeline_shows_steps_and_data_links(workspace: Any, src: Path) -> None:
    widget = DagWidget(build(workspace, src))

    assert [(n["name"], n["status"], n["layer"]) for n in widget.nodes] == [
        ("prep", "NotStarted", 0),
        ("slow", "NotStarted", 1),
        ("train", "NotStarted", 2),
    ]
    labels = {(e["source"], e["target"]): e["label"] for e in widget.edges}
    assert labels == {("prep", "slow"): "", ("prep", "train"): "clean", ("slow", "train"): ""}
    assert widget.run_id == "" and widget.following is False
    widget.selected = "train"
    assert widget.detail["definition"]["inputs"] == ["clean"]


def test_dag_widget_follows_a_run_live_without_rerendering(workspace: Any, src: Path) -> None:
    run = Experiment(workspace, "widgets").submit(build(workspace, src))
    widget = DagWidget(run)
    recorder = Recorder(widget)
    assert widget.following is True

    # Only waiting: the follower thread changes the traits while the run progresses.
    wait_until(lambda: widget.status == "Finished", what="the widget to show the run Finished")
    wait_until(lambda: not widget.following, what="the follower to stop once the run ended")

    assert {n["name"]: n["status"] for n in widget.nodes} == dict.fromkeys(("prep", "slow", "train"), "Finished")
    assert "Running" in recorder.seen["slow"]
    assert recorder.seen["slow"][-1] == "Finished"
    assert recorder.seen["train"][0] in ("NotStarted", "Queued")  # it was shown waiting before it ran
    assert widget.progress["done"] == 3 and widget.progress["ran"] == 3
    slow = widget.node("slow")
    assert "duration: " in slow["tooltip"] and slow["duration"] >= 2.5
    assert slow["reused"] is False

    # Clicking a node (the browser sets `selected`) fills `detail` with its log lines and metrics.
    widget.selected = "prep"
    assert widget.detail["stdout"] == "prep wrote 3 rows"
    assert widget.detail["metrics"] == {"losses": [0.9, 0.5, 0.4, 0.2], "rows": 3}
    widget.selected = "slow"
    assert widget.detail["stdout"].splitlines() == ["slow step starting", "slow step done"]


def test_dag_widget_shows_reuse_badges_on_a_resubmitted_run(workspace: Any, src: Path) -> None:
    pipeline = build(workspace, src)
    first = Experiment(workspace, "widgets").submit(pipeline)
    assert first.wait_for_completion(show_output=False, timeout_seconds=WAIT) == "Finished"
    second = Experiment(workspace, "widgets").submit(pipeline)
    widget = DagWidget(second)
    wait_until(lambda: widget.status == "Finished", what="the resubmitted run to finish in the widget")

    nodes = {n["name"]: n for n in widget.nodes}
    assert all(n["reused"] for n in nodes.values())
    origin = first.find_step_run("prep")[0].id
    assert nodes["prep"]["reused_from"] == origin
    assert f"reused from step run {origin}" in nodes["prep"]["tooltip"]
    assert widget.progress["reused"] == 3 and widget.progress["ran"] == 0


def test_closing_the_widget_stops_its_follower(workspace: Any, src: Path) -> None:
    run = Experiment(workspace, "widgets").submit(build(workspace, src))
    widget = DagWidget(run)
    assert widget.following
    widget.close()
    wait_until(lambda: not widget.following, timeout=10, what="the follower to stop")
    assert run.wait_for_completion(show_output=False, timeout_seconds=WAIT) == "Finished"


def test_run_details_progress_table_tail_and_metric_chart(workspace: Any, src: Path) -> None:
    run = Experiment(workspace, "details").submit(build(workspace, src))
    details = RunDetails(run)
    progress_seen: list[int] = []
    details.observe(lambda change: progress_seen.append(change["new"].get("done", 0)), names="progress")
    wait_until(lambda: details.status == "Finished", what="RunDetails to show the run Finished")
    wait_until(lambda: not details.following, what="the follower to stop")

    assert [(s["name"], s["status"]) for s in details.steps] == [
        ("prep", "Finished"),
        ("slow", "Finished"),
        ("train", "Finished"),
    ]
    assert details.progress["done"] == details.progress["total"] == 3
    assert progress_seen == sorted(progress_seen) and progress_seen[-1] == 3
    # It followed the running step (train may run too fast to be seen Running), with its live tail.
    assert details.selected in ("slow", "train")
    assert details.detail["step"] == details.selected and details.detail["stdout"].endswith(("done", "rows"))
    details.selected = "train"
    assert details.detail["stdout"] == "trained on 3 rows"
    details.selected = "slow"  # the user picks a step
    assert details.detail["stdout"].splitlines() == ["slow step starting", "slow step done"]

    metrics = {(m["run"], m["name"]): m for m in details.metrics}
    losses = metrics[("prep", "losses")]
    assert losses["value"] == [0.9, 0.5, 0.4, 0.2]
    chart = losses["chart"]
    assert chart["count"] == 4 and chart["min"] == 0.2 and chart["max"] == 0.9
    points = [tuple(map(float, p.split(","))) for p in chart["points"].split()]
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    assert points[0][1] < points[-1][1]  # the highest loss is drawn highest (smallest y)
    assert metrics[("prep", "rows")]["chart"] is None


def test_run_details_rejects_a_pipeline_with_what_to_do(workspace: Any, src: Path) -> None:
    from jupyter_amlpipe.errors import DefinitionError

    with pytest.raises(DefinitionError, match=r"Submit the pipeline first"):
        RunDetails(build(workspace, src))


def test_step_builder_declares_steps_whose_run_succeeds(workspace: Any, tmp_path: Path, src: Path) -> None:
    (src / "report.ipynb").write_text(NOTEBOOK, encoding="utf-8")
    steps: list[Any] = []
    builder = StepBuilder(src, target=steps, workspace=workspace)
    assert list(builder.file.options) == ["prep.py", "report.ipynb", "slow.py", "train.py"]

    builder.file.value = "prep.py"
    assert builder.step_name.value == "prep"
    builder.outputs.value = "clean"
    builder.add_button.click()
    assert "Added PythonScriptStep prep" in builder.message.value
    assert list(builder.inputs.options) == ["prep.clean"]

    builder.file.value = "train.py"
    builder.step_name.value = "train"
    builder.inputs.value = ("prep.clean",)
    builder.outputs.value = "model"
    builder.add_button.click()

    builder.file.value = "report.ipynb"
    builder.step_name.value = "report"
    builder.inputs.value = ("train.model",)
    builder.add_button.click()

    assert [type(s).__name__ for s in steps] == ["PythonScriptStep", "PythonScriptStep", "NotebookStep"]
    prep, train, report = steps
    assert isinstance(report, NotebookStep) and report.inputs == train.outputs
    assert train.inputs == prep.outputs and isinstance(prep.outputs[0], PipelineData)

    run = Experiment(workspace, "builder").submit(Pipeline(workspace, steps))
    assert run.wait_for_completion(show_output=False, timeout_seconds=WAIT) == "Finished"
    out = tmp_path / "out"
    run.find_step_run("train")[0].get_output_data("model").download(out)
    assert (next(out.rglob("model.txt"))).read_text() == "trained on 3 rows\n"
    assert "model has 1 file" in run.find_step_run("report")[0].get_stdout_log()


def test_step_builder_adds_to_any_object_with_add_step_and_explains_mistakes(workspace: Any, src: Path) -> None:
    class State:
        def __init__(self) -> None:
            self.by_name: dict[str, Any] = {}

        def add_step(self, step: Any) -> None:
            self.by_name[step.name] = step

        @property
        def steps(self) -> list[Any]:
            return list(self.by_name.values())

    state = State()
    builder = StepBuilder(src, target=state, computes=["local", "gpu"])
    builder.file.value = "prep.py"
    builder.outputs.value = "clean, clean"
    builder.add_button.click()
    assert "repeat a name" in builder.message.value and state.by_name == {}

    builder.outputs.value = "clean"
    builder.compute.value = "gpu"
    builder.add_button.click()
    assert list(state.by_name) == ["prep"] and state.by_name["prep"].compute_target == "gpu"
    assert list(builder.inputs.options) == ["prep.clean"]

    builder.step_name.value = ""
    builder.file.value = None
    builder.add_button.click()
    assert "Pick a script or notebook" in builder.message.value


NOTEBOOK = """{
 "cells": [
  {"cell_type": "code", "execution_count": null, "metadata": {"tags": ["parameters"]}, "outputs": [],
   "source": ["model = None"]},
  {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],
   "source": ["import os\\n", "print(f\\"model has {len(os.listdir(model))} file\\")"]}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"""
