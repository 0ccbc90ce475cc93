"""Several processes on one workspace, and many steps at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.steps import PythonScriptStep

from . import ASSETS, REPO_ROOT, WAIT, child_env, copy_assets, error_of, finish, max_overlap, use_checkout, wait_until


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return copy_assets(tmp_path / "src")


def start_helper(script: str, *args: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ASSETS / script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=str(REPO_ROOT),
    )


def last_json(text: str) -> Any:
    return json.loads(text.strip().splitlines()[-1])


def test_two_processes_submit_at_the_same_moment(workspace: Any, src: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        start_helper("rt_submit_at_barrier.py", workspace.path, src, "together", go, tag) for tag in ("one", "two")
    ]
    try:
        wait_until(lambda: all(Path(f"{go}.ready-{tag}").exists() for tag in ("one", "two")), "both submitters")
        go.write_text("go")  # both submit now
        outputs = [p.communicate(timeout=WAIT) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    results = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert "database is locked" not in err
        assert proc.returncode == 0, err
        results.append(last_json(out))
    for result, tag in zip(results, ("one", "two"), strict=True):
        assert result["status"] == "Finished"
        assert result["steps"] == {f"{tag}-copy": "Finished", f"{tag}-logs": "Finished"}
    listed = Experiment(workspace, "together").get_runs()
    assert sorted(r.id for r in listed) == sorted(r["run_id"] for r in results)
    assert all(r.get_status() == "Finished" for r in listed)


def test_a_reader_process_sees_no_errors_while_a_run_writes(workspace: Any, src: Path, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    reader = start_helper("rt_poll_events.py", workspace.path, stop)
    try:
        wait_until(lambda: Path(f"{stop}.ready").exists() or reader.poll() is not None, "the reader to start")
        assert reader.poll() is None, reader.communicate()[1]
        target = LocalCompute(workspace, "local", max_concurrency=4)
        steps = [
            PythonScriptStep(
                "rt_chatty.py", name=f"chatty{i}", arguments=["150"], source_directory=src, compute_target=target
            )
            for i in range(4)
        ]
        run = Experiment(workspace, "busy").submit(Pipeline(workspace, steps))
        assert finish(run) == "Finished", error_of(run)
        stop.write_text("stop")
        out, err = reader.communicate(timeout=WAIT)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()

    assert reader.returncode == 0, err
    assert "database is locked" not in err
    seen = last_json(out)
    assert seen["errors"] == []
    assert seen["reads"] > 1
    assert seen["events"] == len(workspace._store.events(None))
    assert all(s.get_metrics()["i"] == list(range(150)) for s in run.get_steps())


def test_eight_independent_steps_all_run_at_once(workspace: Any, src: Path, tmp_path: Path) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    target = LocalCompute(workspace, "wide", max_concurrency=8)
    steps = [
        PythonScriptStep(
            "rt_barrier.py",
            name=f"s{i}",
            arguments=[barrier, f"s{i}", "8", "0.2"],
            source_directory=src,
            compute_target=target,
        )
        for i in range(8)
    ]
    run = Experiment(workspace, "wide").submit(Pipeline(workspace, steps))

    assert finish(run) == "Finished", error_of(run)
    intervals = []
    for step in run.get_steps():
        metrics = step.get_metrics()
        intervals.append((metrics["rt_start"], metrics["rt_end"]))
    assert len(intervals) == 8
    assert max_overlap(intervals) == 8, intervals
    assert max(start for start, _ in intervals) < min(end for _, end in intervals)
