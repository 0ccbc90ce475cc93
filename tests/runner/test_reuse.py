"""Step reuse as a user sees it: which steps run again (counted), which are reused, and the reasons given.

The project is ``prep -> train -> score``: each step has its own source
directory holding a copy of ``tests/assets/reuse_step.py`` (as ``prep.py``,
``train.py``, ``score.py``); ``prep`` reads ``data/raw.csv`` from the default
datastore; ``score`` gets the pipeline parameter ``lr``. Every execution
appends the step's name to a count file that lives outside the source
directories, so counting it never changes a snapshot. Every submission builds
its Pipeline and step objects from scratch.
"""

from __future__ import annotations

import collections
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import DataReference, Experiment, Pipeline, PipelineData, PipelineParameter, PipelineRun
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.errors import LookupFailed
from jupyter_amlpipe.steps import NotebookStep, PythonScriptStep

from . import ASSETS, WAIT, error_of, finish, use_checkout

EXPERIMENT = "reuse"
STEPS = ("prep", "train", "score")
RAW = b"id,x\n1,2\n2,3\n"
HOUR_NS = 3600 * 10**9


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


class Project:
    """The three-step project of this module, in ``root``, submitting to ``ws``."""

    def __init__(self, ws: Any, root: Path) -> None:
        self.ws = ws
        self.root = root
        self.count = root / "count.txt"
        self.store = ws.get_default_datastore()
        for name in STEPS:
            folder = self.source(name)
            folder.mkdir(parents=True)
            shutil.copyfile(ASSETS / "reuse_step.py", folder / f"{name}.py")
        self.upload(RAW)

    # -- the files a user edits ----------------------------------------------------------
    def source(self, name: str) -> Path:
        return self.root / "src" / name

    def edit(self, name: str, old: str, new: str) -> None:
        script = self.source(name) / f"{name}.py"
        text = script.read_text(encoding="utf-8")
        assert old in text
        script.write_text(text.replace(old, new, 1), encoding="utf-8")

    def upload(self, data: bytes) -> None:
        """Upload ``data`` as ``data/raw.csv`` (overwriting), the way a user refreshes a dataset."""
        local = self.root / "upload" / "raw.csv"
        local.parent.mkdir(exist_ok=True)
        local.write_bytes(data)
        self.store.upload_files([str(local)], target_path="data", overwrite=True, show_progress=False)

    @property
    def raw_on_datastore(self) -> Path:
        path = self.store.local_path("data/raw.csv")
        assert path is not None
        return Path(path)

    # -- what a user notices -----------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """How many times each step has executed so far."""
        if not self.count.exists():
            return {}
        return dict(collections.Counter(self.count.read_text(encoding="utf-8").split()))

    # -- submitting ----------------------------------------------------------------------------
    def pipeline(self, upto: str = "score", **per_step: dict[str, Any]) -> Pipeline:
        """A fresh pipeline of the steps up to ``upto``; ``per_step[name]`` adds step keyword arguments
        (``args`` adds command-line arguments)."""
        target = LocalCompute(self.ws, "local")
        raw = DataReference(self.store, data_reference_name="raw", path_on_datastore="data/raw.csv")
        prepared, model, scores = PipelineData("prepared"), PipelineData("model"), PipelineData("scores")
        lr = PipelineParameter("lr", default_value=0.1)
        wiring = {
            "prep": (["--in", raw, "--out", prepared], [raw], [prepared]),
            "train": (["--in", prepared, "--out", model], [prepared], [model]),
            "score": (["--in", model, "--out", scores, "--value", lr], [model], [scores]),
        }
        steps = []
        for name in STEPS[: STEPS.index(upto) + 1]:
            arguments, inputs, outputs = wiring[name]
            extra = dict(per_step.get(name, {}))
            steps.append(
                PythonScriptStep(
                    f"{name}.py",
                    name=name,
                    arguments=[name, self.count, *arguments, *extra.pop("args", [])],
                    inputs=inputs,
                    outputs=outputs,
                    source_directory=str(self.source(name)),
                    compute_target=target,
                    **extra,
                )
            )
        return Pipeline(self.ws, steps)

    def run(
        self,
        upto: str = "score",
        expect: str = "Finished",
        pipeline_parameters: dict[str, Any] | None = None,
        regenerate_outputs: bool = False,
        **per_step: dict[str, Any],
    ) -> PipelineRun:
        run = Experiment(self.ws, EXPERIMENT).submit(
            self.pipeline(upto, **per_step),
            pipeline_parameters=pipeline_parameters,
            regenerate_outputs=regenerate_outputs,
        )
        assert finish(run) == expect, error_of(run)
        return run


@pytest.fixture
def project(workspace: Any, tmp_path: Path) -> Project:
    return Project(workspace, tmp_path)


def info(run: PipelineRun, name: str) -> dict[str, Any]:
    return run.get_step_run(name).get_reuse_info()


def reasons(run: PipelineRun, name: str) -> list[str]:
    return list(info(run, name)["reasons"])


def step_id(run: PipelineRun, name: str) -> str:
    return run.get_step_run(name).id


def assert_reused(run: PipelineRun, name: str, origin: PipelineRun) -> None:
    """``name`` was reused in ``run``, from its execution in ``origin``."""
    step = run.get_step_run(name)
    assert step.get_status() == "Finished"
    got = step.get_reuse_info()
    assert got["reused"] is True, got
    assert got["reused_from"] == step_id(origin, name)
    assert got["reasons"] == [f"reused: same code, parameters and input content as step run {got['reused_from']}"]


def assert_ran(run: PipelineRun, name: str, why: list[str]) -> None:
    step = run.get_step_run(name)
    assert step.get_status() == "Finished"
    got = step.get_reuse_info()
    assert got["reused"] is False and got["reused_from"] is None, got
    assert got["reasons"] == why


def output_bytes(run: PipelineRun, name: str, output: str, where: Path) -> bytes:
    """The bytes of a step's output, downloaded the v1 way."""
    folder = run.get_step_run(name).get_output_data(output).download(where, show_progress=False)
    return (Path(folder) / "data.txt").read_bytes()


# -- identical resubmission ---------------------------------------------------------------------
def test_identical_resubmit_reuses_every_step(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = project.run()
    assert project.counts() == {"prep": 1, "train": 1, "score": 1}
    for name in STEPS:
        assert_ran(first, name, ["no earlier execution"])
    capsys.readouterr()

    second = Experiment(project.ws, EXPERIMENT).submit(project.pipeline())  # new Pipeline and step objects
    assert second.wait_for_completion(show_output=True, timeout_seconds=WAIT) == "Finished"
    printed = capsys.readouterr().out

    assert project.counts() == {"prep": 1, "train": 1, "score": 1}  # no step process started
    for name in STEPS:
        assert_reused(second, name, first)
        assert f"StepRun({name}) reused (from {step_id(first, name)})" in printed
    # a reused step answers the usual calls with its origin's results
    for name in STEPS:
        old, new = first.get_step_run(name), second.get_step_run(name)
        assert new.get_stdout_log() == old.get_stdout_log() != ""
        assert new.get_metrics() == old.get_metrics() == {"lines": old.get_metrics()["lines"]}
    assert output_bytes(second, "score", "scores", tmp_path / "new") == output_bytes(
        first, "score", "scores", tmp_path / "old"
    )
    assert output_bytes(second, "score", "scores", tmp_path / "new2").endswith(b"score v1 value=0.1 params= line 39\n")
    # metrics a step logged on its pipeline run are there on the run that reused it
    assert second.get_metrics() == first.get_metrics()
    assert set(second.get_metrics()) == {"prep_lines", "train_lines", "score_lines"}


# -- code -------------------------------------------------------------------------------------------
def test_script_edit_reruns_that_step_and_its_consumers(project: Project) -> None:
    first = project.run()
    project.edit("train", "VERSION = 1", "VERSION = 2")  # changes what train writes

    second = project.run()

    assert project.counts() == {"prep": 1, "train": 2, "score": 2}
    assert_reused(second, "prep", first)
    assert_ran(second, "train", ["script train.py changed"])
    assert_ran(second, "score", ["input model: content changed"])


@pytest.mark.parametrize("how", ["allow_reuse=False", "comment edit"])
def test_upstream_rerun_with_identical_bytes_keeps_consumers_reused(project: Project, how: str) -> None:
    train = {"allow_reuse": False} if how == "allow_reuse=False" else {}
    first = project.run(train=train)
    if how == "comment edit":
        project.edit("train", "VERSION = 1", "VERSION = 1  # the same output, written by new code")

    second = project.run(train=train)

    assert project.counts() == {"prep": 1, "train": 2, "score": 1}
    assert_reused(second, "prep", first)
    why = ["allow_reuse is False"] if how == "allow_reuse=False" else ["script train.py changed"]
    assert_ran(second, "train", why)
    assert_reused(second, "score", first)  # train wrote the same bytes: its consumer is not invalidated


def test_ignored_files_do_not_count_and_other_files_do(project: Project) -> None:
    prep_src = project.source("prep")
    (prep_src / ".amlignore").write_text("notes.txt\n", encoding="utf-8")
    (prep_src / "notes.txt").write_text("first notes\n", encoding="utf-8")
    (prep_src / "utils").mkdir()
    (prep_src / "utils" / "helper.py").write_text("X = 1\n", encoding="utf-8")
    first = project.run(upto="train")

    (prep_src / "notes.txt").write_text("notes edited after the first run\n", encoding="utf-8")
    second = project.run(upto="train")
    assert project.counts() == {"prep": 1, "train": 1}
    assert_reused(second, "prep", first)
    assert_reused(second, "train", first)

    (prep_src / "utils" / "helper.py").write_text("X = 2\n", encoding="utf-8")
    third = project.run(upto="train")
    assert project.counts() == {"prep": 2, "train": 1}
    assert_ran(third, "prep", ["file utils/helper.py changed"])
    assert_reused(third, "train", first)  # prep's output did not change


@pytest.mark.parametrize(
    "where", ["outside the source directory", "ignored in the source directory", "in the snapshot"]
)
def test_hash_paths_edit_reruns_the_step(project: Project, tmp_path: Path, where: str) -> None:
    prep_src = project.source("prep")
    if where == "outside the source directory":
        lookup = tmp_path / "external" / "lookup.csv"
        listed = str(lookup)
    else:
        lookup = prep_src / "lookup" / "lookup.csv"
        listed = "lookup/lookup.csv"
    if where == "ignored in the source directory":  # data next to the code, out of the snapshot: hash_paths covers it
        (prep_src / ".amlignore").write_text("lookup/\n", encoding="utf-8")
    lookup.parent.mkdir(parents=True)
    lookup.write_text("a,1\n", encoding="utf-8")
    first = project.run(upto="train", prep={"hash_paths": [listed]})

    unchanged = project.run(upto="train", prep={"hash_paths": [listed]})
    assert_reused(unchanged, "prep", first)

    lookup.write_text("a,1\nb,2\n", encoding="utf-8")
    second = project.run(upto="train", prep={"hash_paths": [listed]})

    assert project.counts() == {"prep": 2, "train": 1}
    why = [f"hash_paths {listed} changed"]
    assert_ran(second, "prep", [f"file {listed} changed", *why] if where == "in the snapshot" else why)
    assert_reused(second, "train", first)


# -- input data ---------------------------------------------------------------------------------------
def test_uploading_identical_bytes_again_keeps_reuse(project: Project) -> None:
    raw = project.raw_on_datastore
    day_ago = time.time_ns() - 24 * HOUR_NS
    os.utime(raw, ns=(day_ago, day_ago))  # an old file: its digest goes into the stat cache
    first = project.run(upto="train")
    project.upload(RAW)  # overwrite=True: the same bytes written again
    assert raw.stat().st_mtime_ns != day_ago  # so the stat cache cannot answer: the content is compared

    second = project.run(upto="train")

    assert project.counts() == {"prep": 1, "train": 1}
    assert_reused(second, "prep", first)
    assert_reused(second, "train", first)


def test_new_bytes_at_the_same_path_rerun_the_steps_that_read_them(project: Project, tmp_path: Path) -> None:
    """The v1 bug: v1 hashed the path, so updated data at the same path was silently ignored."""
    project.run()
    project.upload(RAW + b"3,4\n")

    second = project.run()

    assert project.counts() == {"prep": 2, "train": 2, "score": 2}
    assert_ran(second, "prep", ["input raw: content changed"])
    assert_ran(second, "train", ["input prepared: content changed"])
    assert_ran(second, "score", ["input model: content changed"])
    assert output_bytes(second, "score", "scores", tmp_path / "out").startswith(RAW + b"3,4\n")


@pytest.mark.parametrize("change", ["young file, mtime put back", "old file, mtime changed", "old file, new inode"])
def test_same_size_content_change_is_detected(project: Project, change: str) -> None:
    """The stat cache trusts (size, mtime, inode) only for files older than 2 s when they were hashed.

    A file "written just before the submit" is stood in for by an mtime in the
    future, which keeps it younger than 2 s at any machine speed: its digest is
    never cached, so even a same-size change with the mtime put back is seen.
    An older file is cached; a same-size change is seen because its mtime or its
    inode changed.
    """
    raw = project.raw_on_datastore
    stamp = time.time_ns() + (HOUR_NS if change.startswith("young") else -24 * HOUR_NS)
    os.utime(raw, ns=(stamp, stamp))
    first = project.run(upto="prep")
    second = project.run(upto="prep")  # the digest now comes from the stat cache when it may
    assert_reused(second, "prep", first)

    inode = raw.stat().st_ino
    new = RAW.replace(b"2,3", b"9,9")
    assert len(new) == len(RAW)
    if change.endswith("new inode"):
        fresh = raw.with_name("raw.csv.new")
        fresh.write_bytes(new)
        os.replace(fresh, raw)
        assert raw.stat().st_ino != inode
    else:
        with open(raw, "r+b") as f:  # in place: same inode
            f.write(new)
        assert raw.stat().st_ino == inode
    mtime = stamp - HOUR_NS if change.endswith("mtime changed") else stamp
    os.utime(raw, ns=(mtime, mtime))
    assert raw.stat().st_size == len(RAW)

    third = project.run(upto="prep")

    assert project.counts() == {"prep": 2}
    assert_ran(third, "prep", ["input raw: content changed"])


# -- parameters -------------------------------------------------------------------------------------
def test_parameter_change_reruns_only_the_step_it_reaches_and_the_default_reuses_the_first_run(
    project: Project,
) -> None:
    first = project.run()

    override = project.run(pipeline_parameters={"lr": 0.2})
    assert project.counts() == {"prep": 1, "train": 1, "score": 2}
    assert_reused(override, "prep", first)
    assert_reused(override, "train", first)
    assert_ran(override, "score", ["parameter lr: 0.1 → 0.2"])

    back = project.run()  # default again: the first run's score is as good as any
    assert project.counts() == {"prep": 1, "train": 1, "score": 2}
    for name in STEPS:
        assert_reused(back, name, first)


def test_notebook_step_reused_until_its_params_change(project: Project, tmp_path: Path) -> None:
    source = tmp_path / "notebooks"
    source.mkdir()
    shutil.copyfile(ASSETS / "reuse_nb.ipynb", source / "report.ipynb")

    def run(lr: float) -> PipelineRun:
        step = NotebookStep(
            name="report",
            notebook="report.ipynb",
            source_directory=str(source),
            params={"count_file": str(project.count), "lr": lr},
            compute_target=LocalCompute(project.ws, "local"),
        )
        submitted = Experiment(project.ws, EXPERIMENT).submit(Pipeline(project.ws, [step]))
        assert finish(submitted) == "Finished", error_of(submitted)
        return submitted

    first = run(0.1)
    assert "REUSE_NB lr=0.1" in first.get_step_run("report").get_stdout_log()
    same = run(0.1)
    changed = run(0.2)

    assert project.counts() == {"report": 2}
    assert_ran(first, "report", ["no earlier execution"])
    assert_reused(same, "report", first)
    assert "REUSE_NB lr=0.1" in same.get_step_run("report").get_stdout_log()
    assert_ran(changed, "report", ["params lr: 0.1 → 0.2"])
    assert "REUSE_NB lr=0.2" in changed.get_step_run("report").get_stdout_log()


# -- forcing a run ------------------------------------------------------------------------------------
def test_allow_reuse_false_always_runs_and_its_result_serves_later_runs(project: Project) -> None:
    first = project.run(upto="train", train={"allow_reuse": False})
    second = project.run(upto="train", train={"allow_reuse": False})
    assert project.counts() == {"prep": 1, "train": 2}
    assert_ran(first, "train", ["allow_reuse is False"])
    assert_ran(second, "train", ["allow_reuse is False"])
    assert_reused(second, "prep", first)

    third = project.run(upto="train")  # allow_reuse=True again: the forced executions count

    assert project.counts() == {"prep": 1, "train": 2}
    got = info(third, "train")
    assert got["reused"] is True
    assert got["reused_from"] in {step_id(first, "train"), step_id(second, "train")}


def test_regenerate_outputs_runs_every_step_and_later_runs_reuse_it(project: Project) -> None:
    forced = project.run(regenerate_outputs=True)
    assert project.counts() == {"prep": 1, "train": 1, "score": 1}
    for name in STEPS:
        assert_ran(forced, name, ["regenerate_outputs was set"])

    later = project.run()
    assert project.counts() == {"prep": 1, "train": 1, "score": 1}
    for name in STEPS:
        assert_reused(later, name, forced)

    again = project.run(regenerate_outputs=True)
    assert project.counts() == {"prep": 2, "train": 2, "score": 2}
    for name in STEPS:
        assert_ran(again, name, ["regenerate_outputs was set"])


# -- failures -------------------------------------------------------------------------------------------
def test_fixed_resubmission_after_a_failure_reuses_the_finished_steps(project: Project) -> None:
    project.edit("train", "FAIL = False", "FAIL = True")
    failed = project.run(expect="Failed")
    assert {s.name: s.get_status() for s in failed.get_steps()} == {
        "prep": "Finished",
        "train": "Failed",
        "score": "NotStarted",
    }
    project.edit("train", "FAIL = True", "FAIL = False")  # the fix

    fixed = project.run()

    assert project.counts() == {"prep": 1, "train": 2, "score": 1}
    assert_reused(fixed, "prep", failed)  # finished inside a pipeline run that failed: still reusable
    assert_ran(fixed, "train", ["no earlier execution"])  # its only earlier execution failed
    assert_ran(fixed, "score", ["no earlier execution"])


def test_a_failed_step_publishes_nothing_and_is_not_reused(project: Project, tmp_path: Path) -> None:
    flag = tmp_path / "prep-fails"
    flag.touch()
    prep = {"args": ["--fail-if", flag]}  # the same definition whether it fails or not
    failed = project.run(upto="prep", expect="Failed", prep=prep)
    step = failed.get_step_run("prep")
    assert step.get_status() == "Failed"
    assert "exited with code 3" in step.get_details()["error"]["error"]["message"]
    published = f"azureml/{step.id}/prepared"
    assert not project.store.exists(published)
    assert not (project.ws.path / "datastores" / "workspaceblobstore" / "azureml" / step.id).exists()
    with pytest.raises(LookupFailed, match="only a Finished step's outputs are complete"):
        step.get_output_data("prepared")

    flag.unlink()
    second = project.run(upto="prep", prep=prep)

    assert project.counts() == {"prep": 2}
    assert_ran(second, "prep", ["no earlier execution"])
    data = output_bytes(second, "prep", "prepared", tmp_path / "out")
    assert data == RAW + b"".join(f"prep v1 value=- params= line {i}\n".encode() for i in range(40))
