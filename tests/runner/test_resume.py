"""Resuming a run: after a failure, after a cancel, and after the runner process was killed with SIGKILL.

The pipeline is a chain ``s1 -> s2 -> s3 -> s4`` of counted steps
(``tests/assets/reuse_chain.py`` and ``reuse_step.py``). Each step appends its
name to a count file, writes half of its output, drops a marker with its pid,
then (when told to by a file outside the source directory) fails or waits,
and writes the rest. The output of ``s4`` holds every step's lines, so it is
compared byte for byte with the output of an uninterrupted run.
"""

from __future__ import annotations

import collections
import contextlib
import os
import runpy
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Datastore, Experiment, PipelineRun, Workspace
from jupyter_amlpipe.errors import DefinitionError, RunFailedError

from . import ASSETS, REPO_ROOT, WAIT, child_env, error_of, finish, use_checkout, wait_until

EXPERIMENT = "chain"
STEPS = ("s1", "s2", "s3", "s4")
CHAIN = runpy.run_path(str(ASSETS / "reuse_chain.py"), run_name="reuse_chain")
build_chain = CHAIN["build_chain"]
prepare_work = CHAIN["prepare_work"]


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


def make_source(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copyfile(ASSETS / "reuse_step.py", folder / "reuse_step.py")
    return folder


def counts(work: Path) -> dict[str, int]:
    count = work / "count.txt"
    return dict(collections.Counter(count.read_text(encoding="utf-8").split())) if count.exists() else {}


def statuses(run: PipelineRun) -> dict[str, str]:
    return {step.name: step.get_status() for step in run.get_steps()}


def final_output(run: PipelineRun, where: Path) -> bytes:
    folder = run.get_step_run("s4").get_output_data("o4").download(where, show_progress=False)
    return (Path(folder) / "data.txt").read_bytes()


def assert_no_output_of_unfinished_steps(ws: Any, run: PipelineRun) -> None:
    """Nothing exists at the datastore path of any output of a step that did not finish."""
    for step in run.get_steps():
        if step.get_status() == "Finished":
            continue
        for output in step.get_outputs().values():
            assert not Datastore.get(ws, output.datastore_name).exists(output.path_on_datastore), (
                f"{step.name} is {step.get_status()} but {output.path_on_datastore} exists"
            )


def assert_resumed(resumed: PipelineRun, old: PipelineRun, finished: list[str]) -> None:
    """``resumed`` continued ``old``: the steps that had finished were reused from it, the rest ran."""
    assert resumed.get_properties()["amlpipe.resumed_from"] == old.id
    assert finish(resumed) == "Finished", error_of(resumed)
    assert statuses(resumed) == dict.fromkeys(STEPS, "Finished")
    for name in STEPS:
        got = resumed.get_step_run(name).get_reuse_info()
        if name in finished:
            assert got["reused"] is True
            assert got["reused_from"] == old.get_step_run(name).id
        else:
            assert got["reused"] is False


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The output of s4 from a run of the chain that nothing interrupted (its own workspace)."""
    root = tmp_path_factory.mktemp("uninterrupted")
    ws = Workspace.create("reference", path=root / "ws")
    run = Experiment(ws, EXPERIMENT).submit(build_chain(ws, make_source(root / "src"), prepare_work(root / "work")))
    assert finish(run) == "Finished", error_of(run)
    assert counts(root / "work") == dict.fromkeys(STEPS, 1)
    return final_output(run, root / "out")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return make_source(tmp_path / "src")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return prepare_work(tmp_path / "work")


# -- after a failure ---------------------------------------------------------------------------------
def test_resume_after_a_failure_runs_only_what_did_not_finish(
    workspace: Any, src: Path, work: Path, tmp_path: Path, uninterrupted: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "fail" / "s3").touch()  # s3 fails while this file exists
    pipeline = build_chain(workspace, src, work, s1={"allow_reuse": False})
    failed = Experiment(workspace, EXPERIMENT).submit(pipeline)

    with pytest.raises(RunFailedError) as raised:
        failed.wait_for_completion(show_output=True, timeout_seconds=WAIT)
    assert f"amlpipe resume {failed.id}" in str(raised.value)
    assert f"amlpipe resume {failed.id}" in capsys.readouterr().out  # the show_output summary says it too
    assert statuses(failed) == {"s1": "Finished", "s2": "Finished", "s3": "Failed", "s4": "NotStarted"}
    assert_no_output_of_unfinished_steps(workspace, failed)

    (work / "fail" / "s3").unlink()
    resumed = failed.resume()

    # s1 ran with allow_reuse=False, yet resuming does not repeat finished work
    assert_resumed(resumed, failed, finished=["s1", "s2"])
    assert counts(work) == {"s1": 1, "s2": 1, "s3": 2, "s4": 1}
    assert final_output(resumed, tmp_path / "out") == uninterrupted
    assert failed.get_status() == "Failed"  # the old run stays as it was


def test_resume_a_canceled_run(workspace: Any, src: Path, work: Path, tmp_path: Path, uninterrupted: bytes) -> None:
    hold = work / "hold" / "s2"
    hold.touch()
    run = Experiment(workspace, EXPERIMENT).submit(build_chain(workspace, src, work))
    wait_until(lambda: (work / "markers" / "s2.half").exists(), "s2 to write half of its output")
    run.cancel()

    assert finish(run) == "Canceled"
    assert statuses(run) == {"s1": "Finished", "s2": "Canceled", "s3": "Canceled", "s4": "Canceled"}
    assert_no_output_of_unfinished_steps(workspace, run)

    hold.unlink()
    resumed = run.resume()

    assert_resumed(resumed, run, finished=["s1"])
    assert counts(work) == {"s1": 1, "s2": 2, "s3": 1, "s4": 1}
    assert final_output(resumed, tmp_path / "out") == uninterrupted


def test_a_finished_run_cannot_be_resumed(workspace: Any, src: Path, work: Path) -> None:
    run = Experiment(workspace, EXPERIMENT).submit(build_chain(workspace, src, work, steps=1))
    assert finish(run) == "Finished", error_of(run)

    with pytest.raises(DefinitionError, match="only a Failed or Canceled run can be resumed"):
        run.resume()
    assert counts(work) == {"s1": 1}


# -- after kill -9 of the runner ----------------------------------------------------------------------
def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in process group ``pgid``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


@pytest.mark.parametrize("killed_in", ["s1", "s2", "s4"])
def test_resume_after_the_runner_was_killed(
    workspace: Any, src: Path, work: Path, tmp_path: Path, uninterrupted: bytes, killed_in: str
) -> None:
    """The submitting process gets SIGKILL while ``killed_in`` has written half of its output."""
    (work / "hold" / killed_in).touch()
    marker = work / "markers" / f"{killed_in}.half"
    submitter = subprocess.Popen(
        [sys.executable, str(ASSETS / "reuse_chain.py"), str(workspace.path), str(src), str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=str(REPO_ROOT),
    )
    step_pid = None
    try:
        wait_until(lambda: marker.exists() or submitter.poll() is not None, f"{killed_in} to start writing")
        assert submitter.poll() is None, submitter.communicate()
        step_pid = int(marker.read_text(encoding="utf-8"))
        submitter.kill()  # SIGKILL: no cleanup of any kind
        out, _ = submitter.communicate(timeout=WAIT)
        assert submitter.returncode == -signal.SIGKILL
        run_id = next(line.split()[1] for line in out.splitlines() if line.startswith("REUSE_RUN_ID "))
        assert group_alive(step_pid)  # the step process outlived its runner...

        killed = workspace.get_run(run_id)
        assert killed.get_status() == "Failed"  # ...until someone looks at the run
        assert "ended before the run finished" in error_of(killed)
        wait_until(lambda: not group_alive(step_pid), "the orphaned step's process group to be killed")
    finally:
        if step_pid is not None:
            kill_group(step_pid)

    done = STEPS[: STEPS.index(killed_in)]
    expected = {name: "Finished" if name in done else "NotStarted" for name in STEPS}
    expected[killed_in] = "Failed"
    assert statuses(killed) == expected
    assert "ended before the run finished" in killed.get_step_run(killed_in).get_details()["error"]["error"]["message"]
    assert_no_output_of_unfinished_steps(workspace, killed)
    with pytest.raises(RunFailedError, match=f"amlpipe resume {run_id}"):
        killed.wait_for_completion(show_output=False, timeout_seconds=WAIT)

    (work / "hold" / killed_in).unlink()
    resumed = killed.resume()

    assert_resumed(resumed, killed, finished=list(done))
    assert counts(work) == {name: 2 if name == killed_in else 1 for name in STEPS}
    assert final_output(resumed, tmp_path / "out") == uninterrupted
