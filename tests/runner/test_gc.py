"""``collect_garbage``: what a gc keeps (kept runs, the results they reuse) and what it frees."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline, PipelineData, PipelineParameter, PipelineRun
from jupyter_amlpipe.errors import LookupFailed
from jupyter_amlpipe.runner import liveness
from jupyter_amlpipe.runner.gc import collect_garbage
from jupyter_amlpipe.steps import PythonScriptStep
from jupyter_amlpipe.workspace.datastore import Datastore

from . import WAIT, error_of, finish, use_checkout

EXPERIMENT = "gc"

PREP = """\
import pathlib, sys
VERSION = "{version}"
out, count = pathlib.Path(sys.argv[1]), sys.argv[2]
with open(count, "a") as f:
    f.write("prep\\n")
out.mkdir(parents=True, exist_ok=True)
(out / "data.txt").write_text("data " + VERSION)
"""

TRAIN = """\
import pathlib, sys
TAG = "{tag}"
data, model, lr, count = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(count, "a") as f:
    f.write("train\\n")
model.mkdir(parents=True, exist_ok=True)
(model / "model.txt").write_text((data / "data.txt").read_text() + " lr=" + lr + " " + TAG)
"""

FAIL = """\
import pathlib, sys
pathlib.Path("scratch.txt").write_text("what the failing step left")
sys.exit(2)
"""


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


class Project:
    """Two steps in their own source folders: prep writes data, train reads it and writes a model."""

    def __init__(self, root: Path, ws: Any) -> None:
        self.ws = ws
        self.prep_dir = root / "prep"
        self.train_dir = root / "train"
        self.prep_dir.mkdir(parents=True)
        self.train_dir.mkdir(parents=True)
        (self.prep_dir / "util.txt").write_text("a helper that never changes\n")
        self.count = root / "count.txt"
        self.count.touch()
        self.set_prep("v0")
        self.set_train("A")

    def set_prep(self, version: str) -> None:
        (self.prep_dir / "prep.py").write_text(PREP.format(version=version))

    def set_train(self, tag: str) -> None:
        (self.train_dir / "train.py").write_text(TRAIN.format(tag=tag))

    def submit(self, lr: float = 0.1) -> PipelineRun:
        data = PipelineData("data")
        model = PipelineData("model")
        rate = PipelineParameter("lr", default_value=0.1)
        prep = PythonScriptStep(
            "prep.py", name="prep", arguments=[data, self.count], outputs=[data], source_directory=self.prep_dir
        )
        train = PythonScriptStep(
            "train.py",
            name="train",
            arguments=[data, model, rate, self.count],
            inputs=[data],
            outputs=[model],
            source_directory=self.train_dir,
        )
        run = Experiment(self.ws, EXPERIMENT).submit(Pipeline(self.ws, [prep, train]), pipeline_parameters={"lr": lr})
        assert finish(run) == "Finished", error_of(run)
        return run

    def executions(self) -> list[str]:
        return self.count.read_text().split()


def step(run: PipelineRun, name: str) -> Any:
    return run.find_step_run(name)[0]


def output_folder(ws: Any, step_run: Any) -> Path:
    local = Datastore.get_default(ws).local_path(f"azureml/{step_run.id}")
    assert local is not None
    return local


def stored(ws: Any, content: str) -> bool:
    """Whether a file with this content is stored in the workspace's snapshots (packs re-read from disk)."""
    objects = ws.snapshots.objects
    objects.refresh()
    return bool(objects.has(hashlib.sha256(content.encode()).hexdigest()))


def test_gc_keeps_the_latest_run_and_what_it_reuses(workspace: Any, tmp_path: Path) -> None:
    project = Project(tmp_path / "src", workspace)
    old = project.submit()  # both steps run
    project.set_prep("v1")
    middle = project.submit()  # prep changed; train runs on the new data
    project.set_train("B")
    latest = project.submit()  # prep reused from `middle`; train runs
    assert project.executions() == ["prep", "train", "prep", "train", "train"]
    assert step(latest, "prep").get_reuse_info()["reused_from"] == step(middle, "prep").id
    old_steps = [step(old, "prep"), step(old, "train")]
    old_snapshot = old_steps[0]._record()["details"]["snapshot_id"]
    prep_v0, train_a = PREP.format(version="v0"), TRAIN.format(tag="A")
    shared = "a helper that never changes\n"
    assert stored(workspace, prep_v0) and stored(workspace, train_a) and stored(workspace, shared)

    preview = collect_garbage(workspace, keep_last=1, dry_run=True)
    assert preview.freed_bytes > 0
    assert preview.pipeline_runs == [old.id]
    assert sorted(preview.step_runs) == sorted([*(s.id for s in old_steps), step(middle, "train").id])
    assert workspace.get_run(old.id).get_status() == "Finished"  # nothing deleted by a dry run
    assert all(workspace.run_dir(s.id).is_dir() and output_folder(workspace, s).is_dir() for s in old_steps)
    assert stored(workspace, prep_v0) and workspace.snapshots.has(old_snapshot)

    report = collect_garbage(workspace, keep_last=1)
    assert report.pipeline_runs == [old.id]
    assert report.freed_bytes == preview.freed_bytes
    assert report.manifests >= 2 and report.objects >= 2  # prep v0 and train A snapshots
    assert report.problems == []

    # the old run is gone: record, run folders, outputs
    with pytest.raises(LookupFailed):
        workspace.get_run(old.id)
    for gone in old_steps:
        with pytest.raises(LookupFailed):
            workspace.get_run(gone.id)
        assert not workspace.run_dir(gone.id).exists()
        assert not output_folder(workspace, gone).exists()
    assert not workspace.run_dir(old.id).exists()
    # the middle run keeps only the step the latest run reused, with its outputs
    assert [s.name for s in workspace.get_run(middle.id).get_steps()] == ["prep"]
    assert (output_folder(workspace, step(middle, "prep")) / "data" / "data.txt").read_text() == "data v1"
    # the latest run's outputs can still be downloaded
    downloaded = step(latest, "train").get_output_data("model").download(tmp_path / "download", show_progress=False)
    assert (Path(downloaded) / "model.txt").read_text() == "data v1 lr=0.1 B"
    # snapshot files only the deleted runs used are gone; the one shared with a kept snapshot stays
    assert not workspace.snapshots.has(old_snapshot)
    assert not stored(workspace, prep_v0) and not stored(workspace, train_a)
    assert stored(workspace, shared)

    again = project.submit()  # everything is still reusable
    assert project.executions() == ["prep", "train", "prep", "train", "train"]
    assert step(again, "prep").get_reuse_info()["reused_from"] == step(middle, "prep").id
    assert step(again, "train").get_reuse_info()["reused_from"] == step(latest, "train").id

    latest_prep = step(latest, "prep").id
    second = collect_garbage(workspace, keep_last=1)  # `latest` keeps only the train step `again` reused
    assert second.pipeline_runs == []
    assert second.step_runs == [latest_prep]
    assert [s.name for s in workspace.get_run(latest.id).get_steps()] == ["train"]
    assert (output_folder(workspace, step(latest, "train")) / "model" / "model.txt").is_file()


def test_gc_cleans_leftovers_and_never_deletes_an_unfinished_run(workspace: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "fail.py").write_text(FAIL)
    (src / "ok.py").write_text("print('fine')\n")
    store = workspace._store
    store.ensure_experiment(EXPERIMENT)
    store.insert_runs(  # an older run still running in this very process
        [
            {
                "id": "still-running",
                "experiment": EXPERIMENT,
                "kind": "pipeline",
                "name": "still running",
                "status": "Running",
                "created": time.time() - 3600,
                "runner_pid": os.getpid(),
                "runner_host": liveness.host(),
                "runner_start": liveness.start_token(os.getpid()),
            }
        ]
    )
    ok = PythonScriptStep("ok.py", name="ok", source_directory=src)
    bad = PythonScriptStep("fail.py", name="bad", source_directory=src)
    bad.run_after(ok)
    run = Experiment(workspace, EXPERIMENT).submit(Pipeline(workspace, [ok, bad]))
    assert finish(run, WAIT) == "Failed"
    ok_dir, bad_dir = workspace.run_dir(step(run, "ok").id), workspace.run_dir(step(run, "bad").id)
    (ok_dir / "staging" / "half").mkdir(parents=True)  # as if a step had been killed while publishing
    (ok_dir / "staging" / "half" / "part.bin").write_bytes(b"x" * 5000)
    orphan = workspace.run_dir("left-by-an-interrupted-gc")
    orphan.mkdir(parents=True)
    (orphan / "stdout.txt").write_text("old log\n")

    report = collect_garbage(workspace, keep_last=1)

    assert report.pipeline_runs == [] and report.step_runs == []
    assert workspace.get_run("still-running").get_status() == "Running"
    assert not (ok_dir / "staging").exists()
    assert (ok_dir / "logs" / "stdout.txt").read_text().strip() == "fine"
    assert (bad_dir / "wd" / "scratch.txt").read_text() == "what the failing step left"  # kept for debugging
    assert not orphan.exists()
    assert report.cleaned_step_runs == 1 and report.orphan_folders == 1
    assert report.freed["leftovers"] >= 5000
