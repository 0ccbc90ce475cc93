"""How the runner executes a pipeline run, as a user sees it: order, failures, waiting, records."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import DataReference, Experiment, Pipeline, PipelineData, PipelineRun, StepRun, StepSequence
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.errors import RunFailedError
from jupyter_amlpipe.steps import PythonScriptStep

from . import (
    WAIT,
    copy_assets,
    error_of,
    finish,
    run_helper,
    stamps,
    statuses,
    stdout_value,
    use_checkout,
    wait_until,
)

EXPERIMENT = "execution"


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return copy_assets(tmp_path / "src")


@pytest.fixture
def target(workspace: Any) -> LocalCompute:
    return LocalCompute(workspace, "local", max_concurrency=4)


def script(name: str, file: str, src: Path, target: Any, *args: Any, **kwargs: Any) -> PythonScriptStep:
    return PythonScriptStep(
        file, name=name, arguments=list(args), source_directory=src, compute_target=target, **kwargs
    )


def submit(workspace: Any, steps: Any, **kwargs: Any) -> PipelineRun:
    return Experiment(workspace, EXPERIMENT).submit(Pipeline(workspace, steps), **kwargs)


# -- order ----------------------------------------------------------------------------------
def test_order_through_data_run_after_and_step_sequence(workspace: Any, target: Any, src: Path, tmp_path: Path) -> None:
    folder = tmp_path / "stamps"
    folder.mkdir()
    handoff = PipelineData("handoff")
    # "a" is not listed in the pipeline: it comes in as the producer of b's input
    script("a", "rt_stamp.py", src, target, folder, "a", "--out", handoff, outputs=[handoff])
    b = script("b", "rt_stamp.py", src, target, folder, "b", "--in", handoff, inputs=[handoff])
    c = script("c", "rt_stamp.py", src, target, folder, "c")
    c.run_after(b)
    d = script("d", "rt_stamp.py", src, target, folder, "d")
    e = script("e", "rt_stamp.py", src, target, folder, "e")
    run = submit(workspace, [c, StepSequence(steps=[d, e])])  # a and b come in as c's upstream

    assert finish(run) == "Finished", error_of(run)
    assert statuses(run) == dict.fromkeys("abcde", "Finished")
    when = stamps(folder)
    assert when["a"]["end"] <= when["b"]["start"]  # through data
    assert when["b"]["seen"] == ["a.txt"]
    assert when["b"]["end"] <= when["c"]["start"]  # run_after
    assert when["d"]["end"] <= when["e"]["start"]  # StepSequence


# -- failures ---------------------------------------------------------------------------------
@pytest.mark.parametrize("keep_going", [False, True], ids=["stop", "continue_on_step_failure"])
def test_failed_step_stops_downstream(workspace: Any, target: Any, src: Path, tmp_path: Path, keep_going: bool) -> None:
    """``bad`` fails while the independent ``slow`` runs; ``later`` (after ``slow``) has not started yet."""
    folder = tmp_path / "stamps"
    folder.mkdir()
    marker = tmp_path / "bad-is-failing"
    never = PipelineData("never")
    bad = script("bad", "rt_fail.py", src, target, "3", "--marker", marker, outputs=[never])
    downstream = script("downstream", "rt_stamp.py", src, target, folder, "downstream", inputs=[never])
    slow = script("slow", "rt_wait_for.py", src, target, marker, "1.5")
    later = script("later", "rt_stamp.py", src, target, folder, "later")
    later.run_after(slow)
    run = submit(workspace, [bad, downstream, slow, later], continue_on_step_failure=keep_going)

    assert finish(run) == "Failed"
    expected = {
        "bad": "Failed",
        "downstream": "NotStarted",
        "slow": "Finished",
        "later": "Finished" if keep_going else "NotStarted",
    }
    assert statuses(run) == expected
    assert sorted(stamps(folder)) == (["later"] if keep_going else [])
    assert "bad" in error_of(run)


def test_wait_for_completion_raises_naming_the_step(workspace: Any, target: Any, src: Path) -> None:
    run = submit(workspace, [script("breaks", "rt_fail.py", src, target, "4")])

    with pytest.raises(RunFailedError) as while_running:
        run.wait_for_completion(show_output=False, timeout_seconds=WAIT)
    assert "breaks" in str(while_running.value)
    assert "code 4" in str(while_running.value)

    # the run has ended: waiting again, or on a re-attached run, still raises
    with pytest.raises(RunFailedError) as after_end:
        run.wait_for_completion(show_output=False)
    assert "breaks" in str(after_end.value)
    attached = PipelineRun(Experiment(workspace, EXPERIMENT), run.id)
    with pytest.raises(RunFailedError, match="breaks"):
        attached.wait_for_completion(show_output=False)
    assert attached.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"


def test_show_output_prefixes_lines_with_the_step_name(
    workspace: Any, target: Any, src: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = submit(workspace, [script("printer", "rt_logs.py", src, target)])

    assert run.wait_for_completion(show_output=True, timeout_seconds=WAIT) == "Finished"
    out = capsys.readouterr().out
    assert "[printer] rt out line 1\n" in out
    assert "[printer] rt out line 2\n" in out
    assert "[printer] rt err line\n" in out
    assert run.id in out


# -- re-attaching -----------------------------------------------------------------------------
def test_reattach_in_this_process(workspace: Any, target: Any, src: Path) -> None:
    first = script("metrics", "rt_metrics.py", src, target)
    second = script("logs", "rt_logs.py", src, target)
    second.run_after(first)
    run = submit(workspace, [second])
    assert finish(run) == "Finished", error_of(run)

    for again in (PipelineRun(Experiment(workspace, EXPERIMENT), run.id), workspace.get_run(run.id)):
        assert isinstance(again, PipelineRun)
        assert again.get_status() == "Finished"
        assert statuses(again) == {"metrics": "Finished", "logs": "Finished"}
        assert again.get_metrics() == {"from_child": "yes"}
    step_id = run.find_step_run("metrics")[0].id
    step = workspace.get_run(step_id)
    assert isinstance(step, StepRun)
    assert step.get_metrics()["loss"] == [3, 2]
    assert step.parent.id == run.id


def test_reattach_from_another_process(workspace: Any, target: Any, src: Path) -> None:
    run = submit(workspace, [script("metrics", "rt_metrics.py", src, target)])
    assert finish(run) == "Finished", error_of(run)

    result = run_helper("rt_read_run.py", workspace.path, run.id)

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["status"] == "Finished"
    assert seen["experiment"] == EXPERIMENT
    assert seen["steps"] == statuses(run)
    assert seen["metrics"] == run.get_metrics() == {"from_child": "yes"}
    assert seen["step_metrics"]["metrics"] == run.find_step_run("metrics")[0].get_metrics()


def test_get_runs_lists_newest_first(workspace: Any, target: Any, src: Path) -> None:
    ids = []
    for _ in range(3):
        run = submit(workspace, [script("logs", "rt_logs.py", src, target)])
        assert finish(run) == "Finished"
        ids.append(run.id)

    assert [r.id for r in Experiment(workspace, EXPERIMENT).get_runs()] == ids[::-1]


def test_step_run_details_have_status_and_times(workspace: Any, target: Any, src: Path) -> None:
    run = submit(workspace, [script("logs", "rt_logs.py", src, target)])
    assert finish(run) == "Finished"

    details = run.find_step_run("logs")[0].get_details()

    assert details["status"] == "Finished"
    start = datetime.fromisoformat(details["startTimeUtc"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(details["endTimeUtc"].replace("Z", "+00:00"))
    assert start <= end
    assert "error" not in details


# -- processes that die -----------------------------------------------------------------------
def test_step_killed_by_a_signal_fails(workspace: Any, target: Any, src: Path) -> None:
    run = submit(workspace, [script("victim", "rt_kill_self.py", src, target)])

    assert finish(run) == "Failed"
    step = run.find_step_run("victim")[0]
    assert step.get_status() == "Failed"
    message = error_of(step)
    assert "signal" in message
    assert "SIGKILL" in message


def test_runner_process_dies(workspace: Any, src: Path, tmp_path: Path) -> None:
    """The process that submitted a run ends abruptly: the run is Failed and the error says why."""
    pid_file = tmp_path / "sleeper.pid"
    step_pid = None
    try:
        result = run_helper("rt_submit_and_die.py", workspace.path, src, pid_file)
        if pid_file.exists():
            step_pid = int(pid_file.read_text())
        assert result.returncode == 1, result.stderr
        run_id = stdout_value_of(result.stdout, "RT_RUN_ID")

        run = workspace.get_run(run_id)
        wait_until(lambda: run.get_status() in ("Finished", "Failed", "Canceled"), "the run to be marked")

        assert run.get_status() == "Failed"
        message = error_of(run)
        assert "ended" in message
        assert "process" in message
        assert run.find_step_run("sleeper")[0].get_status() == "Failed"
    finally:
        if step_pid is not None:  # the orphaned step process sleeps on; end it
            with contextlib.suppress(OSError):
                os.killpg(step_pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(step_pid, signal.SIGKILL)


def stdout_value_of(text: str, marker: str) -> str:
    for line in text.splitlines():
        if line.startswith(marker + " "):
            return line[len(marker) + 1 :].strip()
    raise AssertionError(f"no {marker} line in:\n{text}")


# -- data on the datastore --------------------------------------------------------------------
def test_pipeline_data_lives_under_the_producer_run_id(workspace: Any, target: Any, src: Path, tmp_path: Path) -> None:
    folder = tmp_path / "stamps"
    folder.mkdir()
    produced = PipelineData("produced")
    producer = script("producer", "rt_stamp.py", src, target, folder, "producer", "--out", produced, outputs=[produced])
    consumer = script("consumer", "rt_stamp.py", src, target, folder, "consumer", "--in", produced, inputs=[produced])
    run = submit(workspace, [producer, consumer])
    assert finish(run) == "Finished", error_of(run)

    producer_run = run.find_step_run("producer")[0]
    on_disk = workspace.path / "datastores" / "workspaceblobstore" / "azureml" / producer_run.id / "produced"
    assert (on_disk / "producer.txt").read_text() == "producer"
    assert producer_run.get_output_data("produced").path_on_datastore == f"azureml/{producer_run.id}/produced"
    assert stamps(folder)["consumer"]["seen"] == ["producer.txt"]


def test_download_mode_gives_the_step_a_copy(workspace: Any, target: Any, src: Path, tmp_path: Path) -> None:
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "orig.txt").write_text("original\n")
    (upload / "other.txt").write_text("other\n")
    store = workspace.get_default_datastore()
    store.upload_files([str(upload / "orig.txt"), str(upload / "other.txt")], target_path="rt_dl", show_progress=False)
    copied = DataReference(store, "copied", "rt_dl/orig.txt").as_download()
    mounted = DataReference(store, "mounted", "rt_dl/other.txt").as_mount()
    changer = script("changer", "rt_modify.py", src, target, copied, "--append", inputs=[copied])
    looker = script("looker", "rt_modify.py", src, target, mounted, inputs=[mounted])
    run = submit(workspace, [changer, looker])
    assert finish(run) == "Finished", error_of(run)

    changer_run = run.find_step_run("changer")[0]
    assert json.loads(stdout_value(changer_run, "RT_AFTER")) == "original\nchanged by the step\n"
    assert (store.local_path("rt_dl/orig.txt")).read_text() == "original\n"
    assert stdout_value(changer_run, "RT_PATH") != str(store.local_path("rt_dl/orig.txt"))
    assert stdout_value(run.find_step_run("looker")[0], "RT_PATH") == str(store.local_path("rt_dl/other.txt"))


# -- events -----------------------------------------------------------------------------------
def test_events_record_every_step_status_in_order(workspace: Any, target: Any, src: Path) -> None:
    first = script("first", "rt_logs.py", src, target)
    second = script("second", "rt_logs.py", src, target)
    second.run_after(first)
    third = script("third", "rt_logs.py", src, target)
    run = submit(workspace, [second, third])
    assert finish(run) == "Finished"

    events = [e for e in workspace._store.events(run.id) if e["kind"] == "status"]
    seq: dict[tuple[str, str], int] = {}
    for step in run.get_steps():
        mine = [e for e in events if e["run_id"] == step.id]
        assert [e["data"]["status"] for e in mine if e["data"]["status"] != "Queued"] == ["Running", "Finished"]
        for e in mine:
            seq[(step.name, e["data"]["status"])] = e["seq"]
    assert seq[("first", "Finished")] < seq[("second", "Running")]
    pipeline = [e["data"]["status"] for e in events if e["run_id"] == run.id]
    assert pipeline[0] == "Running"
    assert pipeline[-1] == "Finished"


# -- git ---------------------------------------------------------------------------------------
def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git work tree with a committed source directory ``src/``."""
    folder = tmp_path / "repo"
    folder.mkdir()
    git(folder, "-c", "init.defaultBranch=main", "init", "-q")
    copy_assets(folder / "src", "rt_logs.py")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "initial")
    return folder


def git_props(run: Any) -> dict[str, str]:
    return {k: v for k, v in run.get_properties().items() if k.startswith("azureml.git.")}


def test_git_properties_of_the_source_directory(workspace: Any, target: Any, repo: Path) -> None:
    run = submit(workspace, [script("logs", "rt_logs.py", repo / "src", target)])
    assert finish(run) == "Finished"

    props = git_props(run)
    assert props["azureml.git.commit"] == git(repo, "rev-parse", "HEAD")
    assert props["azureml.git.branch"] == "main"
    assert props["azureml.git.dirty"] == "False"

    with open(repo / "src" / "rt_logs.py", "a") as f:
        f.write("# a local change\n")
    dirty = submit(workspace, [script("logs", "rt_logs.py", repo / "src", target)])
    assert finish(dirty) == "Finished"
    assert git_props(dirty)["azureml.git.dirty"] == "True"
    assert git_props(dirty)["azureml.git.commit"] == props["azureml.git.commit"]


def test_no_git_properties_outside_a_repository(workspace: Any, target: Any, src: Path) -> None:
    run = submit(workspace, [script("logs", "rt_logs.py", src, target)])
    assert finish(run) == "Finished"

    assert "azureml.git.commit" not in run.get_properties()
    assert git_props(run) == {}


def test_git_properties_come_from_the_source_directory_not_cwd(
    workspace: Any, target: Any, src: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    run = submit(workspace, [script("logs", "rt_logs.py", src, target)])
    assert finish(run) == "Finished"

    assert git_props(run) == {}
