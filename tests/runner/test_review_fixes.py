"""Runner behaviour that went wrong before: long logs, processes left behind, failures before a step
starts, data-valued parameters in the run record."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import (
    DataPath,
    DataPathComputeBinding,
    DataReference,
    Experiment,
    Pipeline,
    PipelineParameter,
    PipelineRun,
)
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.steps import PythonScriptStep

from . import WAIT, error_of, finish, statuses, stdout_value, use_checkout, wait_until

EXPERIMENT = "review"
LINES = 30_000

CHATTY = f"""\
import sys

# about 1.9 MB in one go: far more than one read of the log file
sys.stdout.write("".join(f"line {{i:05d}} " + "x" * 50 + "\\n" for i in range({LINES})))
"""

LEAVES_SLEEP = """\
import subprocess

child = subprocess.Popen(["sleep", "300"])
print(f"SLEEP_PID {child.pid}", flush=True)
"""

TOUCH = """\
import sys
from pathlib import Path

Path(sys.argv[1]).write_text("ran\\n", encoding="utf-8")
print("touched", sys.argv[1])
"""

READ = """\
import sys
from pathlib import Path

print("content:", Path(sys.argv[1]).read_text(encoding="utf-8").strip())
"""


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


def _source(tmp_path: Path, **scripts: str) -> Path:
    """A source directory holding ``name.py`` for each keyword."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for name, text in scripts.items():
        (src / f"{name}.py").write_text(text, encoding="utf-8")
    return src


def _submit(workspace: Any, steps: list[Any], **kwargs: Any) -> PipelineRun:
    return Experiment(workspace, EXPERIMENT).submit(Pipeline(workspace, steps), **kwargs)


def _all_events(workspace: Any, root_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while batch := workspace._store.events(root_id, events[-1]["seq"] if events else 0):
        events.extend(batch)
    return events


def _gone(pid: int) -> bool:
    """The process has ended (no longer exists, or is a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


# -- 6. every line of a long log reaches show_output and the events -----------------------------


def test_show_output_prints_every_line_of_a_step_that_prints_30000_lines(
    workspace: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    step = PythonScriptStep("chatty.py", name="chatty", source_directory=_source(tmp_path, chatty=CHATTY))
    run = _submit(workspace, [step])
    status = run.wait_for_completion(show_output=True, timeout_seconds=WAIT, raise_on_error=False)
    assert status == "Finished", error_of(run)

    expected = [f"line {i:05d} " + "x" * 50 for i in range(LINES)]
    printed = [
        line[len("[chatty] ") :] for line in capsys.readouterr().out.splitlines() if line.startswith("[chatty] ")
    ]
    assert len(printed) == LINES
    assert printed == expected

    step_run = run.find_step_run("chatty")[0]
    logged = "".join(
        e["data"]["text"]
        for e in _all_events(workspace, run.id)
        if e["kind"] == "log" and e["run_id"] == step_run.id and e["data"]["stream"] == "stdout"
    )
    assert logged.splitlines() == expected


# -- 7. what a step leaves running ends with it ------------------------------------------------


def test_a_background_process_left_by_a_finished_step_is_ended(workspace: Any, tmp_path: Path) -> None:
    step = PythonScriptStep("leave.py", name="leave", source_directory=_source(tmp_path, leave=LEAVES_SLEEP))
    run = _submit(workspace, [step])
    assert finish(run) == "Finished", error_of(run)
    step_run = run.find_step_run("leave")[0]
    assert step_run.get_status() == "Finished"
    pid = int(stdout_value(step_run, "SLEEP_PID"))
    try:
        wait_until(lambda: _gone(pid), f"the step's background 'sleep 300' (pid {pid}) to end", timeout=15)
    finally:  # do not leave it behind when the assertion fails
        with contextlib.suppress(OSError):
            if not _gone(pid) and Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep"):
                os.kill(pid, signal.SIGKILL)


# -- 8. a step failing before it starts stops the others ---------------------------------------


def test_a_step_failing_before_it_starts_keeps_ready_steps_from_starting(workspace: Any, tmp_path: Path) -> None:
    src = _source(tmp_path, touch=TOUCH, read=READ)
    one_at_a_time = LocalCompute(workspace, "one-at-a-time", max_concurrency=1)
    missing = DataReference(
        workspace.get_default_datastore(), data_reference_name="raw", path_on_datastore="no/such.csv"
    )
    broken = PythonScriptStep(
        "read.py",
        name="broken",
        arguments=[missing],
        inputs=[missing],
        source_directory=src,
        compute_target=one_at_a_time,
    )
    marker = tmp_path / "independent-ran.txt"
    independent = PythonScriptStep(
        "touch.py", name="independent", arguments=[str(marker)], source_directory=src, compute_target=one_at_a_time
    )
    # Both are ready at once (no links); 'broken' is listed, so dispatched, first.
    run = _submit(workspace, [broken, independent], continue_on_step_failure=False)

    assert finish(run) == "Failed"
    assert statuses(run) == {"broken": "Failed", "independent": "NotStarted"}
    broken_run = run.find_step_run("broken")[0]
    assert "'no/such.csv'" in error_of(broken_run) and "does not exist" in error_of(broken_run)
    assert not marker.exists()


# -- 10. a data-valued parameter is recorded with the run ---------------------------------------


def test_a_datapath_parameter_is_recorded_in_the_run_properties(workspace: Any, tmp_path: Path) -> None:
    local = tmp_path / "upload" / "data" / "two.txt"
    local.parent.mkdir(parents=True)
    local.write_text("second file", encoding="utf-8")
    store = workspace.get_default_datastore()
    store.upload_files([str(local)], target_path="data", overwrite=True, show_progress=False)
    infile = PipelineParameter("infile", default_value=DataPath(datastore=store, path_on_datastore="data/one.txt"))
    binding = (infile, DataPathComputeBinding(mode="mount"))
    step = PythonScriptStep(
        "read.py", name="read", arguments=[binding], inputs=[binding], source_directory=_source(tmp_path, read=READ)
    )
    run = _submit(
        workspace,
        [step],
        pipeline_parameters={"infile": DataPath(datastore=store, path_on_datastore="data/two.txt")},
    )
    assert finish(run) == "Finished", error_of(run)
    assert "content: second file" in run.find_step_run("read")[0].get_stdout_log()
    recorded = run.get_properties()["amlpipe.parameters"]
    assert recorded["infile"] == {"datastore": store.name, "path_on_datastore": "data/two.txt"}
