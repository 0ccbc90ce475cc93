"""Notebook steps on warm kernels behave as on fresh ones, leak nothing, and leave no process behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline, PipelineData
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.compute.kernel_pool import get_pool
from jupyter_amlpipe.errors import RunFailedError
from jupyter_amlpipe.steps import NotebookStep

ASSETS = Path(__file__).resolve().parent.parent / "assets"
WAIT = 180


@pytest.fixture(autouse=True)
def _empty_pool() -> Iterator[None]:
    """Each test starts and ends with no warm launcher of this process left."""
    LocalCompute.shutdown_kernel_pool()
    yield
    LocalCompute.shutdown_kernel_pool()


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    for path in ASSETS.glob("kernelpool_*.ipynb"):
        shutil.copy(path, folder / path.name)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_gone(pids: list[int], timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def _probe_pipeline(workspace: Any, compute: Any, src: Path, names: list[str], label: str = "hello") -> Any:
    steps = []
    previous = None
    for name in names:
        out = PipelineData(f"{name}_out")
        step = NotebookStep(
            name=name,
            notebook="kernelpool_probe.ipynb",
            source_directory=str(src),
            compute_target=compute,
            params={"label": label, "out_var": f"{name}_out"},  # the probe writes into the variable it names
            outputs=[out],
            allow_reuse=False,
        )
        if previous is not None:
            step.run_after(previous)
        previous = step
        steps.append(step)
    return Pipeline(workspace, steps)


def _run(workspace: Any, pipeline: Any) -> Any:
    run = Experiment(workspace, "kernelpool").submit(pipeline)
    run.wait_for_completion(show_output=False, timeout_seconds=WAIT)
    return run


def _report(run: Any, name: str, tmp_path: Path) -> dict[str, Any]:
    step_run = run.find_step_run(name)[0]
    folder = Path(
        step_run.get_output_data(f"{name}_out").download(tmp_path / "dl" / run.id / name, show_progress=False)
    )
    report: dict[str, Any] = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return report


def _executed(workspace: Any, run: Any, name: str, notebook: str) -> dict[str, Any]:
    step_run = run.find_step_run(name)[0]
    path = Path(workspace.run_dir(step_run.id)) / "notebooks" / notebook
    nb: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return nb


def test_warm_and_cold_steps_behave_the_same(
    workspace: Any, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KP_VAR", "from the submitting process")
    cold = LocalCompute(workspace=workspace, name="cold", kernel_pool_size=0)
    warm = LocalCompute(workspace=workspace, name="warm")
    assert LocalCompute.prewarm(kernel_name="python3", n=1, wait=True, timeout=WAIT) == 1
    pool = get_pool()
    taken = pool.taken_count

    warm_run = _run(workspace, _probe_pipeline(workspace, warm, src, ["probe"]))
    assert warm_run.get_status() == "Finished", warm_run.get_details()
    assert pool.taken_count == taken + 1  # the step ran on the warm launcher
    cold_run = _run(workspace, _probe_pipeline(workspace, cold, src, ["probe"]))
    assert cold_run.get_status() == "Finished", cold_run.get_details()
    assert pool.taken_count == taken + 1  # kernel_pool_size=0: a fresh kernel

    w, c = _report(warm_run, "probe", tmp_path), _report(cold_run, "probe", tmp_path)
    for report in (w, c):
        assert report["notebook_in_cwd"] is True
        assert report["env_var"] == "from the submitting process"
        assert report["label"] == "hello"
        assert report["leak"] == "none"
        assert report["run_id_matches"] is True
        assert report["step_name"] == "probe"
    assert w["sys_path"] == c["sys_path"]
    assert w["env_keys"] == c["env_keys"]
    assert w["execution_count"] == c["execution_count"]
    for run in (warm_run, cold_run):
        step_run = run.find_step_run("probe")[0]
        assert step_run.get_metrics()["label"] == "hello"
        assert "probe says hello from the submitting process" in step_run.get_stdout_log()

    # the executed notebooks: same cells, same execution counts, no trace of the setup execution
    warm_nb = _executed(workspace, warm_run, "probe", "kernelpool_probe.ipynb")
    cold_nb = _executed(workspace, cold_run, "probe", "kernelpool_probe.ipynb")
    assert len(warm_nb["cells"]) == len(cold_nb["cells"]) == 3  # the user's two cells and papermill's injected one
    assert [c["source"] for i, c in enumerate(warm_nb["cells"]) if i != 1] == [
        c["source"] for i, c in enumerate(cold_nb["cells"]) if i != 1
    ]
    assert [c.get("execution_count") for c in warm_nb["cells"]] == [1, 2, 3]
    assert [c.get("execution_count") for c in cold_nb["cells"]] == [1, 2, 3]
    assert "injected-parameters" in warm_nb["cells"][1]["metadata"]["tags"]
    text = json.dumps(warm_nb)
    assert "ARGS" not in text and "old_pythonpath" not in text


def test_no_state_leaks_between_steps(workspace: Any, src: Path, tmp_path: Path) -> None:
    compute = LocalCompute(workspace=workspace, name="warm", kernel_pool_size=2)
    LocalCompute.prewarm(kernel_name="python3", n=2, wait=True, timeout=WAIT)
    taken = get_pool().taken_count

    run = _run(workspace, _probe_pipeline(workspace, compute, src, ["first", "second"]))

    assert run.get_status() == "Finished", run.get_details()
    assert get_pool().taken_count == taken + 2
    first, second = _report(run, "first", tmp_path), _report(run, "second", tmp_path)
    assert first["leak"] == "none" and second["leak"] == "none"  # `leaked` set by step 1 is not seen by step 2
    assert first["pids"][0] != second["pids"][0]  # one kernel per step
    assert _wait_gone([*first["pids"], *second["pids"]]) == []


def test_notebook_kernelspec_is_honoured(
    workspace: Any, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = tmp_path / "jupyter"
    spec_dir = share / "kernels" / "kernelpool-py"
    spec_dir.mkdir(parents=True)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Pool test kernel",
        "language": "python",
        "env": {"KP_KERNEL": "the notebook's own kernel"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(share))
    notebook = src / "kernelpool_probe.ipynb"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["metadata"]["kernelspec"] = {"name": "kernelpool-py", "display_name": "Pool test kernel", "language": "python"}
    notebook.write_text(json.dumps(nb), encoding="utf-8")
    compute = LocalCompute(workspace=workspace, name="warm")
    LocalCompute.prewarm(kernel_name="python3", n=1, wait=True, timeout=WAIT)  # the wrong kernel for this step
    LocalCompute.prewarm(kernel_name="kernelpool-py", n=1, wait=True, timeout=WAIT)
    assert get_pool().status()["kernelpool-py"]["ready"] == 1

    run = _run(workspace, _probe_pipeline(workspace, compute, src, ["custom"]))

    assert run.get_status() == "Finished", run.get_details()
    assert _report(run, "custom", tmp_path)["kernel_env"] == "the notebook's own kernel"
    status = get_pool().status()
    assert status["python3"]["ready"] == 1  # the python3 launcher was not used


def test_unknown_kernelspec_falls_back_to_a_fresh_python3_kernel(workspace: Any, src: Path, tmp_path: Path) -> None:
    notebook = src / "kernelpool_probe.ipynb"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["metadata"]["kernelspec"] = {"name": "no-such-kernel-here", "display_name": "gone", "language": "python"}
    notebook.write_text(json.dumps(nb), encoding="utf-8")
    compute = LocalCompute(workspace=workspace, name="warm")
    taken = get_pool().taken_count

    run = _run(workspace, _probe_pipeline(workspace, compute, src, ["fallback"]))

    assert run.get_status() == "Finished", run.get_details()
    assert get_pool().taken_count == taken  # nothing to take from the pool for that kernel: a cold launcher
    assert _report(run, "fallback", tmp_path)["label"] == "hello"
    stderr = run.find_step_run("fallback")[0].get_stderr_log()
    assert "'no-such-kernel-here', which is not installed here" in stderr


def test_cell_that_raises_names_the_cell_on_a_warm_kernel(workspace: Any, src: Path) -> None:
    compute = LocalCompute(workspace=workspace, name="warm")
    LocalCompute.prewarm(kernel_name="python3", n=1, wait=True, timeout=WAIT)
    taken = get_pool().taken_count
    step = NotebookStep(
        name="explore", notebook="kernelpool_fail.ipynb", source_directory=str(src), compute_target=compute
    )
    run = Experiment(workspace, "kernelpool").submit(Pipeline(workspace, [step]))

    with pytest.raises(RunFailedError) as info:
        run.wait_for_completion(show_output=False, timeout_seconds=WAIT)

    assert get_pool().taken_count == taken + 1
    assert "cell 3" in str(info.value) and "ValueError: bad row 42" in str(info.value)
    step_run = run.find_step_run("explore")[0]
    assert step_run.get_status() == "Failed"
    assert "ValueError" in step_run.get_stderr_log()
    assert "never printed" not in step_run.get_stdout_log()


def test_cancel_a_warm_notebook_step_stops_its_processes(
    workspace: Any, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids_file = tmp_path / "pids.txt"
    monkeypatch.setenv("KP_PIDS", str(pids_file))
    compute = LocalCompute(workspace=workspace, name="warm")
    LocalCompute.prewarm(kernel_name="python3", n=1, wait=True, timeout=WAIT)
    taken = get_pool().taken_count
    step = NotebookStep(
        name="sleepy", notebook="kernelpool_sleep.ipynb", source_directory=str(src), compute_target=compute
    )
    run = Experiment(workspace, "kernelpool").submit(Pipeline(workspace, [step]))
    deadline = time.monotonic() + WAIT
    while not (pids_file.exists() and pids_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    kernel_pid, launcher_pid = (int(p) for p in pids_file.read_text().split())
    assert get_pool().taken_count == taken + 1

    run.cancel()
    run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False)

    assert run.find_step_run("sleepy")[0].get_status() == "Canceled"
    assert _wait_gone([kernel_pid, launcher_pid]) == []


def test_pool_shutdown_leaves_no_process(workspace: Any, src: Path, tmp_path: Path) -> None:
    compute = LocalCompute(workspace=workspace, name="warm")
    run = _run(workspace, _probe_pipeline(workspace, compute, src, ["one", "two", "three"]))
    assert run.get_status() == "Finished", run.get_details()
    step_pids = [p for name in ("one", "two", "three") for p in _report(run, name, tmp_path)["pids"]]
    LocalCompute.prewarm(kernel_name="python3", n=2, wait=True, timeout=WAIT)
    pool = get_pool()
    held = pool.pids()
    assert len(held) == 4  # two launchers, two kernels, ready for the next steps
    assert all(_alive(p) for p in held)

    LocalCompute.shutdown_kernel_pool()

    assert pool.pids() == []
    assert _wait_gone(held + step_pids) == []


def test_a_kernel_that_cannot_start_is_not_warmed_again_and_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_amlpipe.compute.kernel_pool import KernelPool

    spec = tmp_path / "jupyter" / "kernels" / "broken"
    spec.mkdir(parents=True)
    kernel = {"argv": ["/bin/false", "{connection_file}"], "display_name": "Broken", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    pool = KernelPool()
    try:
        pool.want("broken", 1)
        assert pool.status()["broken"]["target"] == 1
        deadline = time.monotonic() + WAIT
        while pool.status() and time.monotonic() < deadline:  # the warm-up fails, the launcher is dropped
            time.sleep(0.2)
        assert pool.status() == {}
        time.sleep(3)  # time enough for a refill that should not come
        assert pool.started_count == 1
        assert pool.pids() == []
    finally:
        pool.close()


def test_socket_folders_of_killed_launchers_are_swept(tmp_path: Path) -> None:
    """A launcher killed on cancel cannot remove its kernel's folder; the next launcher does."""
    from jupyter_amlpipe.compute._notebook_launcher import sweep_kernel_folders

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    dead = tmp_path / f"amlpipe-kernel-{ended.pid}-abc"
    alive = tmp_path / f"amlpipe-kernel-{os.getpid()}-def"
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "connection.json").write_text("{}")
    sweep_kernel_folders(str(tmp_path))
    assert not dead.exists()
    assert (alive / "connection.json").is_file()


def test_kernel_sockets_fit_when_the_temporary_folder_path_is_long(tmp_path: Path, monkeypatch: Any) -> None:
    """A Unix socket path holds ~107 bytes: a long TMPDIR must not break notebook steps."""
    import tempfile

    from jupyter_amlpipe.compute._notebook_launcher import kernel_manager

    long_tmp = tmp_path / ("deep-folder-" * 8)
    long_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    km = kernel_manager("python3")
    try:
        assert len(km.ip) + len("-1234") < 107
        assert not str(km.ip).startswith(str(long_tmp))
    finally:
        shutil.rmtree(os.path.dirname(km.ip), ignore_errors=True)
