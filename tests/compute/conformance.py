"""What every compute backend must do: an abstract test suite, subclassed once per backend.

In the style of fsspec's ``fsspec/tests/abstract/``: a backend's test module
subclasses :class:`ComputeConformance` and overrides :meth:`make_target`::

    class TestLocalCompute(ComputeConformance):
        def make_target(self, workspace, name="conformance", max_concurrency=None):
            return LocalCompute(workspace, name, max_concurrency=max_concurrency)

The steps are the tiny scripts and notebook ``tests/assets/rt_*``. Everything a
test checks is what a user would see through the public API: statuses, error
messages, logs, metrics, files and the bytes of outputs. The one exception is
:meth:`ComputeConformance.assert_process_gone`, which looks for a process on
this machine; a backend whose steps run elsewhere overrides it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import DataReference, Experiment, Pipeline, PipelineData, PipelineParameter
from jupyter_amlpipe.steps import NotebookStep, PythonScriptStep

ASSETS = Path(__file__).resolve().parents[1] / "assets"
REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT = 120  # seconds: a generous bound for a run on a loaded 2-core machine
EXPERIMENT = "conformance"


def copy_assets(folder: Path) -> Path:
    """A step source directory holding the ``rt_*`` step assets."""
    folder.mkdir(parents=True, exist_ok=True)
    for asset in ASSETS.glob("rt_*"):
        if asset.is_file():
            shutil.copyfile(asset, folder / asset.name)
    return folder


def finish(run: Any, timeout: float = WAIT) -> str:
    """Wait for a run without raising; its final status."""
    return str(run.wait_for_completion(show_output=False, timeout_seconds=timeout, raise_on_error=False))


def error_of(run: Any) -> str:
    """The error message a run's details carry ('' when none)."""
    return str(run.get_details().get("error", {}).get("error", {}).get("message", ""))


def reported(step_run: Any, marker: str) -> Any:
    """The JSON a step printed on its ``<marker> {...}`` stdout line."""
    for line in step_run.get_stdout_log().splitlines():
        if line.startswith(marker + " "):
            return json.loads(line[len(marker) + 1 :])
    raise AssertionError(f"no {marker} line in the stdout of step {step_run.name!r}:\n{step_run.get_stdout_log()}")


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals that are open at one moment (an end before a start at a tie)."""
    points = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = best = 0
    for _, delta in points:
        current += delta
        best = max(best, current)
    return best


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs on this machine (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


class ComputeConformance:
    """The contract of a compute backend. Subclasses override :meth:`make_target`."""

    def make_target(self, workspace: Any, name: str = "conformance", max_concurrency: int | None = None) -> Any:
        """A compute target of the backend under test, recorded in ``workspace``."""
        raise NotImplementedError("a backend's conformance tests override make_target(workspace)")

    def assert_process_gone(self, pid: int, within: float = 10.0) -> None:
        """Fail unless process ``pid`` (a step's grandchild) ends within ``within`` seconds."""
        deadline = time.monotonic() + within
        while not process_gone(pid):
            if time.monotonic() > deadline:
                pytest.fail(f"process {pid} (the step's grandchild) still runs {within:g} s after the run ended")
            time.sleep(0.1)

    # -- fixtures ------------------------------------------------------------------
    @pytest.fixture(autouse=True)
    def _package_importable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Step processes import the package from this checkout."""
        current = os.environ.get("PYTHONPATH")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), current])))

    @pytest.fixture
    def target(self, workspace: Any) -> Any:
        return self.make_target(workspace)

    @pytest.fixture
    def src(self, tmp_path: Path) -> Path:
        return copy_assets(tmp_path / "src")

    def submit(self, workspace: Any, steps: list[Any], **kwargs: Any) -> Any:
        return Experiment(workspace, EXPERIMENT).submit(Pipeline(workspace, steps), **kwargs)

    # -- data ------------------------------------------------------------------------
    def test_data_in_and_out(self, workspace: Any, target: Any, src: Path, tmp_path: Path) -> None:
        """A mounted and a downloaded DataReference go in; PipelineData carries them to a second step; bytes match."""
        first_bytes = bytes(range(256)) * 64 + b"\x00\r\n end of first"
        second_bytes = b"second file \xff\xfe\n" * 100
        upload = tmp_path / "upload"
        upload.mkdir()
        (upload / "rt_first.bin").write_bytes(first_bytes)
        (upload / "rt_second.bin").write_bytes(second_bytes)
        store = workspace.get_default_datastore()
        store.upload_files(
            [str(upload / "rt_first.bin"), str(upload / "rt_second.bin")],
            target_path="rt_in",
            overwrite=True,
            show_progress=False,
        )
        mounted = DataReference(store, "first_in", "rt_in/rt_first.bin")
        downloaded = DataReference(store, "second_in", "rt_in/rt_second.bin").as_download()
        middle = PipelineData("middle", datastore=store)
        final = PipelineData("final", datastore=store)
        produce = PythonScriptStep(
            "rt_copy.py",
            name="produce",
            source_directory=src,
            compute_target=target,
            arguments=["--src", mounted, "--src", downloaded, "--dest", middle],
            inputs=[mounted, downloaded],
            outputs=[middle],
        )
        consume = PythonScriptStep(
            "rt_copy.py",
            name="consume",
            source_directory=src,
            compute_target=target,
            arguments=["--src", middle, "--dest", final],
            inputs=[middle],
            outputs=[final],
        )
        run = self.submit(workspace, [produce, consume])

        assert finish(run) == "Finished", error_of(run)
        step = run.find_step_run("consume")[0]
        assert "copied rt_first.bin" in step.get_stdout_log()
        where = Path(step.get_output_data("final").download(tmp_path / "out", show_progress=False))
        assert (where / "rt_first.bin").read_bytes() == first_bytes
        assert (where / "rt_second.bin").read_bytes() == second_bytes
        assert sorted(p.name for p in where.iterdir()) == ["rt_first.bin", "rt_second.bin"]

    # -- parameters ------------------------------------------------------------------
    def test_parameters_arguments_and_environment(self, workspace: Any, target: Any, src: Path, tmp_path: Path) -> None:
        """A PipelineParameter argument is its value; params are AML_PARAMETER_*; data paths AZUREML_DATAREFERENCE_*."""
        (tmp_path / "p.txt").write_text("parameter data\n")
        store = workspace.get_default_datastore()
        store.upload_files([str(tmp_path / "p.txt")], target_path="rt_params", overwrite=True, show_progress=False)
        lr = PipelineParameter("lr", 0.1)
        epochs = PipelineParameter("epochs", 5)
        data = DataReference(store, "rt_ref", "rt_params/p.txt")
        step = PythonScriptStep(
            "rt_report.py",
            name="report",
            source_directory=src,
            compute_target=target,
            arguments=["--lr", lr, "--epochs", epochs, "--data", data],
            inputs=[data],
            params={"alpha": 7, "mode": "fast", "rate": lr, "layers": [1, 2]},
        )
        run = self.submit(workspace, [step], pipeline_parameters={"lr": 0.5})

        assert finish(run) == "Finished", error_of(run)
        report = reported(run.find_step_run("report")[0], "RT_REPORT")
        argv, env = report["argv"], report["env"]
        assert argv[:4] == ["--lr", "0.5", "--epochs", "5"]
        assert argv[4] == "--data"
        assert argv[5].endswith("p.txt")
        assert env["AML_PARAMETER_alpha"] == "7"
        assert env["AML_PARAMETER_mode"] == "fast"
        assert env["AML_PARAMETER_rate"] == "0.5"
        assert json.loads(env["AML_PARAMETER_layers"]) == [1, 2]
        assert env["AZUREML_DATAREFERENCE_rt_ref"] == argv[5]

    # -- tracking --------------------------------------------------------------------
    def test_metrics_and_files_through_run_context(
        self, workspace: Any, target: Any, src: Path, tmp_path: Path
    ) -> None:
        """log, log_list, log_row, upload_file and parent.log inside a step show up on the runs."""
        step = PythonScriptStep("rt_metrics.py", name="metrics", source_directory=src, compute_target=target)
        run = self.submit(workspace, [step])

        assert finish(run) == "Finished", error_of(run)
        step_run = run.find_step_run("metrics")[0]
        assert step_run.get_metrics() == {
            "accuracy": 0.75,
            "loss": [3, 2],
            "sizes": [1, 2, 3],
            "table": {"epoch": [1, 2], "score": [0.5, 0.25]},
        }
        assert run.get_metrics() == {"from_child": "yes"}
        assert "extras/note.txt" in step_run.get_file_names()
        saved = step_run.download_file("extras/note.txt", tmp_path / "got" / "note.txt")
        assert Path(saved).read_text() == "uploaded by rt_metrics\n"

    def test_stdout_and_stderr_logs(self, workspace: Any, target: Any, src: Path) -> None:
        step = PythonScriptStep("rt_logs.py", name="logs", source_directory=src, compute_target=target)
        run = self.submit(workspace, [step])

        assert finish(run) == "Finished", error_of(run)
        step_run = run.find_step_run("logs")[0]
        assert "rt out line 1\nrt out line 2\n" in step_run.get_stdout_log()
        assert "rt err line" in step_run.get_stderr_log()
        assert "rt err line" not in step_run.get_stdout_log()
        assert "rt out line" not in step_run.get_stderr_log()

    # -- failures --------------------------------------------------------------------
    def test_nonzero_exit_fails_step_and_pipeline(self, workspace: Any, target: Any, src: Path) -> None:
        step = PythonScriptStep(
            "rt_fail.py", name="fails", arguments=["3"], source_directory=src, compute_target=target
        )
        run = self.submit(workspace, [step])

        assert finish(run) == "Failed"
        step_run = run.find_step_run("fails")[0]
        assert step_run.get_status() == "Failed"
        message = error_of(step_run)
        assert "code 3" in message
        assert "rt_fail: the last stderr line" in message
        assert "fails" in error_of(run)

    def test_timeout_stops_step(self, workspace: Any, target: Any, src: Path) -> None:
        """A step with timeout_seconds=2 that sleeps 60 s is stopped and Failed, well before 60 s."""
        step = PythonScriptStep(
            "rt_sleep.py",
            name="sleepy",
            arguments=["60"],
            source_directory=src,
            compute_target=target,
            timeout_seconds=2,
        )
        run = self.submit(workspace, [step])

        assert finish(run, timeout=30) == "Failed"
        step_run = run.find_step_run("sleepy")[0]
        assert step_run.get_status() == "Failed"
        assert "timed out" in error_of(step_run)
        assert "rt_sleep woke up" not in step_run.get_stdout_log()

    def test_cancel_stops_step_and_its_grandchild(self, workspace: Any, target: Any, src: Path) -> None:
        step = PythonScriptStep("rt_grandchild.py", name="parent", source_directory=src, compute_target=target)
        run = self.submit(workspace, [step])
        pid = None
        try:
            step_run = run.find_step_run("parent")[0]
            deadline = time.monotonic() + WAIT
            while pid is None:
                for line in step_run.get_stdout_log().splitlines():
                    if line.startswith("RT_GRANDCHILD "):
                        pid = int(line.split()[1])
                if pid is None:
                    assert step_run.get_status() not in ("Finished", "Failed", "Canceled"), error_of(step_run)
                    assert time.monotonic() < deadline, "the step never started its grandchild"
                    time.sleep(0.1)

            run.cancel()

            assert finish(run, timeout=30) == "Canceled"
            assert step_run.get_status() == "Canceled"
            self.assert_process_gone(pid)
        finally:
            if pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if run.get_status() not in ("Finished", "Failed", "Canceled"):
                run.cancel()
                finish(run, timeout=30)

    # -- concurrency -------------------------------------------------------------------
    def test_max_concurrency_is_honoured(self, workspace: Any, src: Path, tmp_path: Path) -> None:
        """Four independent steps, max_concurrency=2: two run together, never three (by their own timestamps)."""
        target = self.make_target(workspace, "pair", max_concurrency=2)
        store = workspace.get_default_datastore()
        (tmp_path / "keep").write_text("")
        store.upload_files([str(tmp_path / "keep")], target_path="rt_barrier", overwrite=True, show_progress=False)
        barrier = DataReference(store, "barrier", "rt_barrier")
        steps = [
            PythonScriptStep(
                "rt_barrier.py",
                name=f"b{i}",
                arguments=[barrier, f"b{i}", "2", "1.0"],
                inputs=[barrier],
                source_directory=src,
                compute_target=target,
            )
            for i in range(4)
        ]
        run = self.submit(workspace, steps)

        assert finish(run) == "Finished", error_of(run)
        intervals = []
        for i in range(4):
            metrics = run.find_step_run(f"b{i}")[0].get_metrics()
            intervals.append((metrics["rt_start"], metrics["rt_end"]))
        assert max_overlap(intervals) == 2, intervals

    # -- notebooks ---------------------------------------------------------------------
    def test_notebook_step_params_keep_json_types(self, workspace: Any, target: Any, src: Path) -> None:
        lr = PipelineParameter("lr", 0.1)
        step = NotebookStep(
            name="nb",
            notebook="rt_params.ipynb",
            source_directory=src,
            compute_target=target,
            params={"count": 3, "items": [1, "two", 3.5], "lr": lr, "label": "from params"},
        )
        run = self.submit(workspace, [step], pipeline_parameters={"lr": 0.25})

        assert finish(run) == "Finished", error_of(run)
        step_run = run.find_step_run("nb")[0]
        metrics = step_run.get_metrics()
        assert metrics["count"] == 3
        assert metrics["count_type"] == "int"
        assert metrics["items_type"] == "list"
        assert json.loads(metrics["items_json"]) == [1, "two", 3.5]
        assert metrics["lr"] == 0.25
        assert metrics["lr_type"] == "float"
        assert metrics["label"] == "from params"
        assert "notebooks/rt_params.ipynb" in step_run.get_file_names()
