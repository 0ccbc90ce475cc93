"""Tracking: what a step records through ``Run.get_context()`` and how runs show it afterwards.

One pipeline run per test process: ``track`` (``core_track.py``) records
metrics, tags, properties, files, an ``./outputs`` folder, both log streams
and a PipelineData output; ``after`` reads that output.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline, PipelineData, PipelineRun, StepRun, Workspace
from jupyter_amlpipe.errors import LookupFailed
from jupyter_amlpipe.steps import PythonScriptStep

ASSETS = Path(__file__).resolve().parent / "assets"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    root = tmp_path_factory.mktemp("tracking")
    src = root / "src"
    src.mkdir()
    for name in ("core_track.py", "core_read.py"):
        shutil.copy(ASSETS / name, src / name)
    ws = Workspace.create("tracking", path=root / "ws")
    result = PipelineData("result")
    track = PythonScriptStep(
        "core_track.py", name="track", arguments=["--output", result], outputs=[result], source_directory=src
    )
    after = PythonScriptStep(
        "core_read.py", name="after", arguments=["--input", result], inputs=[result], source_directory=src
    )
    run = Experiment(ws, "tracking").submit(Pipeline(ws, [track, after]))
    run.wait_for_completion(show_output=False, timeout_seconds=120)
    return run


@pytest.fixture
def track(tracked: PipelineRun) -> StepRun:
    return tracked.find_step_run("track")[0]


def test_get_metrics_shapes(track: StepRun) -> None:
    metrics = track.get_metrics()
    assert metrics["once"] == 1  # logged once: the value
    assert metrics["twice"] == [1, 2]  # logged twice: a list
    assert metrics["losses"] == [0.5, 0.25, 0.125]  # log_list: a list
    assert metrics["scores"] == {"epoch": [1, 2], "f1": [0.5, 0.75]}  # log_row: columns
    assert metrics["confusion"] == {"label": ["cat", "dog"], "count": [3, 4]}  # log_table
    assert metrics["plot"] == "images/plot.png"  # log_image: the stored image
    assert track.get_metrics(name="once") == {"once": 1}


def test_log_image_stores_the_png(track: StepRun, tmp_path: Path) -> None:
    assert "images/plot.png" in track.get_file_names()
    saved = Path(track.download_file("images/plot.png", tmp_path / "plot.png"))
    assert saved.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_parent_metrics_and_recursive_metrics(tracked: PipelineRun, track: StepRun) -> None:
    assert tracked.get_metrics() == {"pipeline_metric": 7}
    everything = tracked.get_metrics(recursive=True)
    after = tracked.find_step_run("after")[0]
    assert set(everything) == {tracked.id, track.id, after.id}
    assert everything[tracked.id] == {"pipeline_metric": 7}
    assert everything[track.id]["once"] == 1
    assert everything[after.id] == {}


def test_tags_and_properties(tracked: PipelineRun, track: StepRun) -> None:
    assert track.get_tags() == {"team": "nlp"}
    assert track.get_properties()["model"] == "bert"
    assert tracked.get_tags()["stage"] == "test"  # run.parent.tag inside the step
    tracked.tag("reviewed", "yes")  # a run object outside the step can tag too
    assert tracked.get_tags()["reviewed"] == "yes"


def test_upload_file_from_a_step(track: StepRun, tmp_path: Path) -> None:
    assert "reports/report.txt" in track.get_file_names()
    saved = track.download_file("reports/report.txt", tmp_path / "report.txt")
    assert Path(saved).read_text(encoding="utf-8") == "accuracy: 0.9\n"
    with pytest.raises(LookupFailed, match=r"no file 'reports/reprt\.txt'"):
        track.download_file("reports/reprt.txt", tmp_path / "x.txt")


def test_outputs_folder_is_kept_as_artifacts(track: StepRun, tmp_path: Path) -> None:
    assert "outputs/model.bin" in track.get_file_names()
    saved = track.download_file("outputs/model.bin", tmp_path / "model.bin")
    assert Path(saved).read_bytes() == b"\x00weights\x01"


def test_logs_as_text(track: StepRun) -> None:
    assert track.get_stdout_log() == "to stdout\n"
    assert "to stderr\n" in track.get_stderr_log()
    assert "to stdout" not in track.get_stderr_log()
    names = track.get_file_names()
    assert {"logs/stdout.txt", "logs/stderr.txt", "logs/runner.txt"} <= set(names)
    assert "context.jsonl" not in names


def test_output_data_download(tracked: PipelineRun, track: StepRun, tmp_path: Path) -> None:
    local = tmp_path / "local"
    track.get_output_data("result").download(local)
    found = [p for p in local.rglob("*") if p.is_file()]
    assert [p.name for p in found] == ["result.txt"]
    assert found[0].read_text(encoding="utf-8") == "42\n"
    assert "content of result.txt: 42" in tracked.find_step_run("after")[0].get_stdout_log()
    with pytest.raises(LookupFailed, match="Did you mean 'result'"):
        track.get_output_data("results")


def test_steps_and_children_have_names(tracked: PipelineRun) -> None:
    steps = list(tracked.get_steps())
    children = list(tracked.get_children())
    assert [s.name for s in steps] == ["track", "after"]
    assert [c.name for c in children] == ["track", "after"]
    assert all(isinstance(s, StepRun) and s.get_status() == "Finished" for s in steps)


def test_find_step_run_returns_a_list(tracked: PipelineRun) -> None:
    found = tracked.find_step_run("after")
    assert isinstance(found, list) and len(found) == 1 and found[0].name == "after"
    assert tracked.find_step_run("nothing") == []


def test_get_details(tracked: PipelineRun, track: StepRun) -> None:
    for run in (tracked, track):
        details = run.get_details()
        assert {"runId", "status", "startTimeUtc", "endTimeUtc"} <= set(details)
        assert details["runId"] == run.id
        assert details["status"] == "Finished"
        start = datetime.fromisoformat(details["startTimeUtc"])
        end = datetime.fromisoformat(details["endTimeUtc"])
        assert start <= end


def test_a_run_reopened_from_its_id_shows_the_same_state(tracked: PipelineRun, track: StepRun) -> None:
    ws = Workspace(path=tracked.workspace.path)
    again = PipelineRun(Experiment(ws, "tracking"), tracked.id)
    assert again.get_status() == "Finished"
    assert again.get_metrics() == tracked.get_metrics()
    by_id: Any = ws.get_run(track.id)
    assert isinstance(by_id, StepRun) and by_id.get_metrics()["twice"] == [1, 2]
