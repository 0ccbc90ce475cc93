"""The shipped example and ``amlpipe demo``, run for real.

Each test starts real processes (``python -m jupyter_amlpipe``, papermill
kernels for the notebook step) in its own ``tmp_path``. The notebooks in
notebooks/ are run by tests/test_notebooks.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "jupyter_amlpipe" / "examples" / "quickstart"
STEPS = ("prep", "train", "count", "evaluate")
TIMEOUT = 300  # seconds; generous for a loaded 2-core machine


def _env() -> dict[str, str]:
    """The test's environment with this checkout first on PYTHONPATH (also for step processes)."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _amlpipe() -> list[str]:
    """The ``amlpipe`` console script of this interpreter's environment, else ``python -m jupyter_amlpipe``."""
    script = Path(sys.executable).parent / "amlpipe"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "jupyter_amlpipe"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def _demo(directory: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "jupyter_amlpipe", "demo", str(directory), *options], cwd=directory.parent)


def _summary(output: str) -> str:
    assert "Demo run summary" in output, output
    return output.split("Demo run summary", 1)[1]


def _open_workspace(folder: Path) -> Any:
    from jupyter_amlpipe import Workspace

    return Workspace(path=folder)


def _finished_runs(ws: Any, experiment: str) -> list[Any]:
    from jupyter_amlpipe import Experiment

    return [r for r in Experiment(ws, experiment).get_runs() if r.get_status() == "Finished"]


def test_demo_runs_the_example_and_runs_again_in_the_same_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my-demo"
    first = _demo(folder)
    assert first.returncode == 0, _explain(first)

    # The steps' own output is streamed with step-name prefixes, then the summary follows.
    assert "[prep] wrote 191 clean rows" in first.stdout, _explain(first)
    summary = _summary(first.stdout)
    for step in STEPS:
        assert re.search(rf"^{step}\s+Finished\s", summary, re.MULTILINE), summary
    assert re.search(r"^\s+accuracy = 0\.\d+", summary, re.MULTILINE), summary
    assert "raw_rows = 200" in summary
    assert "Parameters:       lr=0.1" in summary
    run_id = re.search(r"Pipeline run:\s+(\S+)", summary).group(1)  # type: ignore[union-attr]
    for step in STEPS:  # a fresh workspace: every step ran, and the summary says why
        assert re.search(rf"^\s+{step}\s+ran: no earlier execution$", summary, re.MULTILINE), summary
    for command in ("amlpipe runs", f"amlpipe show {run_id}", f"amlpipe logs {run_id} train", f"amlpipe why {run_id}"):
        assert command in summary

    # The report stored by evaluate.py is where the summary says.
    report_line = next(line for line in summary.splitlines() if "outputs/report.txt" in line)
    report = (folder.parent / report_line.split()[-1]).resolve()
    assert report.read_text(encoding="utf-8").startswith("Quickstart model report"), report
    assert "accuracy:" in report.read_text(encoding="utf-8")

    config = (folder / ".azureml" / "config.json").read_text(encoding="utf-8")
    assert str(folder / "ws") in config

    # A second run in the same folder: the workspace (and the first run) stay, example files are refreshed.
    (folder / "src" / "prep.py").write_text("raise SystemExit('edited by the user')\n", encoding="utf-8")
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    second = _demo(folder, "--quiet")
    assert second.returncode == 0, _explain(second)
    assert "[prep]" not in second.stdout, "--quiet must not stream the steps' output"
    summary2 = _summary(second.stdout)
    for step in STEPS:
        assert re.search(rf"^{step}\s+Finished\s", summary2, re.MULTILINE), summary2
    assert run_id not in summary2.split("Next, try:")[0]
    # Same code (the edit to prep.py was undone by the refresh), data and parameters: every step is reused
    # from the execution in the first run.
    reused_from = {
        m.group(1): m.group(2) for m in re.finditer(r"^\s+(\w+)\s+reused \(from (\S+)\)$", summary2, re.MULTILINE)
    }
    assert sorted(reused_from) == sorted(STEPS), summary2
    assert (folder / "src" / "prep.py").read_bytes() == (EXAMPLE / "src" / "prep.py").read_bytes()
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine\n"

    ws = _open_workspace(folder / "ws")
    runs = _finished_runs(ws, "quickstart")
    assert len(runs) == 2, runs
    first_run = next(r for r in runs if r.id == run_id)
    assert reused_from == {step: first_run.find_step_run(step)[0].id for step in STEPS}
    for run in runs:
        evaluate = run.find_step_run("evaluate")[0]
        assert 0.5 < evaluate.get_metrics()["accuracy"] <= 1.0
        assert run.get_metrics()["raw_rows"] == 200


def test_submit_runs_the_demo_pipeline_file_from_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    setup = _demo(folder, "--quiet")
    assert setup.returncode == 0, _explain(setup)

    proc = _run([*_amlpipe(), "submit", str(folder / "pipeline.py") + ":pipeline", "--param", "lr=0.05"], cwd=folder)
    assert proc.returncode == 0, _explain(proc)
    assert "[train] accuracy:" in proc.stdout, _explain(proc)
    assert "Status: Finished" in proc.stdout, _explain(proc)

    ws = _open_workspace(folder / "ws")
    (run,) = _finished_runs(ws, "pipeline")  # amlpipe submit names the experiment after the file
    assert sorted(s.name for s in run.get_steps()) == sorted(STEPS)
    assert run.get_properties()["amlpipe.started_by"] == "cli"
    model = run.find_step_run("train")[0].get_output_data("model")
    model.download(tmp_path / "out", show_progress=False)
    (model_file,) = (tmp_path / "out").rglob("model.json")
    assert '"lr": 0.05' in model_file.read_text(encoding="utf-8")
