"""``amlpipe why``, ``amlpipe resume`` and ``amlpipe gc`` as a user runs them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from jupyter_amlpipe import Experiment, Pipeline, PipelineData, PipelineParameter, PipelineRun
from jupyter_amlpipe.cli.main import cli
from jupyter_amlpipe.steps import PythonScriptStep
from jupyter_amlpipe.workspace.workspace import Workspace

from . import WAIT, amlpipe, run_id_in

PREP = """\
import pathlib, sys
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
(out / "rows.txt").write_text("1\\n2\\n3\\n")
"""

TRAIN = """\
import pathlib, sys
print("training with lr", sys.argv[2], "on", (pathlib.Path(sys.argv[1]) / "rows.txt").read_text().split())
"""

# The resume project: `first` counts its executions; `second` fails until the flag file exists.
FIRST = """\
import sys
with open(sys.argv[1], "a") as f:
    f.write("first ran\\n")
"""

SECOND = """\
import pathlib, sys
if not pathlib.Path(sys.argv[1]).exists():
    sys.exit("not fixed yet: " + sys.argv[1] + " is missing")
print("second is fixed")
"""

RESUME_PIPELINE = """\
from pathlib import Path

from jupyter_amlpipe import Pipeline, Workspace
from jupyter_amlpipe.steps import PythonScriptStep

HERE = Path(__file__).parent
ws = Workspace.from_config()
first = PythonScriptStep("first.py", name="first", arguments=[str(HERE / "count.txt")], source_directory=HERE / "steps")
second = PythonScriptStep("second.py", name="second", arguments=[str(HERE / "fixed.flag")], source_directory=HERE / "steps")
second.run_after(first)
pipeline = Pipeline(ws, [first, second])
"""


def invoke(ws: Workspace, *args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, ["--workspace", str(ws.path), *args], catch_exceptions=True)


def lines_by_step(output: str) -> dict[str, str]:
    """``why`` output: step name -> the rest of its first line."""
    out = {}
    for line in output.splitlines():
        if line and not line.startswith(" "):
            name, _, rest = line.partition(" ")
            out[name] = rest.strip()
    return out


def submit(ws: Workspace, src: Path, lr: float) -> PipelineRun:
    rows = PipelineData("rows")
    rate = PipelineParameter("lr", default_value=0.1)
    prep = PythonScriptStep("prep.py", name="prep", arguments=[rows], outputs=[rows], source_directory=src)
    train = PythonScriptStep("train.py", name="train", arguments=[rows, rate], inputs=[rows], source_directory=src)
    run = Experiment(ws, "why").submit(Pipeline(ws, [prep, train]), pipeline_parameters={"lr": lr})
    status = run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False)
    assert status == "Finished"
    return run


# -- why -----------------------------------------------------------------------------------------
def test_why_says_which_steps_were_reused_and_why_the_others_ran(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "prep.py").write_text(PREP)
    (src / "train.py").write_text(TRAIN)
    first = submit(workspace, src, 0.1)
    second = submit(workspace, src, 0.2)
    prep_id = first.find_step_run("prep")[0].id

    told = invoke(workspace, "why", first.id)
    assert told.exit_code == 0, told.output
    assert lines_by_step(told.stdout) == {"prep": "ran: no earlier execution", "train": "ran: no earlier execution"}

    told = invoke(workspace, "why", second.id)
    assert told.exit_code == 0, told.output
    assert lines_by_step(told.stdout) == {
        "prep": f"reused (from {prep_id})",
        "train": "ran: parameter lr: 0.1 → 0.2",
    }

    one = invoke(workspace, "why", second.id, "train")
    assert one.exit_code == 0, one.output
    assert one.stdout.strip() == "train  ran: parameter lr: 0.1 → 0.2"
    by_step_run = invoke(workspace, "why", second.find_step_run("prep")[0].id[:13])  # a step run id prefix
    assert by_step_run.exit_code == 0, by_step_run.output
    assert by_step_run.stdout.strip() == f"prep  reused (from {prep_id})"

    (src / "train.py").write_text(TRAIN + "print('done')\n")
    third = submit(workspace, src, 0.3)
    told = invoke(workspace, "why", third.id, "train")
    assert told.stdout.splitlines() == [
        "train  ran because:",
        "         script train.py changed",
        "         parameter lr: 0.2 → 0.3",
    ]


def test_why_unknown_run_or_step_exits_3(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "prep.py").write_text(PREP)
    (src / "train.py").write_text(TRAIN)
    run = submit(workspace, src, 0.1)

    unknown = invoke(workspace, "why", "0000dead-beef")
    assert unknown.exit_code == 3
    assert "No run with id '0000dead-beef'" in unknown.stderr

    no_step = invoke(workspace, "why", run.id, "trainn")
    assert no_step.exit_code == 3
    assert "has no step 'trainn'. Did you mean 'train'?" in no_step.stderr


# -- resume --------------------------------------------------------------------------------------
@pytest.fixture
def failing_project(workspace: Workspace, tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "steps").mkdir(parents=True)
    (project / "steps" / "first.py").write_text(FIRST)
    (project / "steps" / "second.py").write_text(SECOND)
    (project / "pipeline.py").write_text(RESUME_PIPELINE)
    workspace.write_config(project)
    return project


def test_resume_after_fixing_the_cause_reuses_the_finished_step(workspace: Workspace, failing_project: Path) -> None:
    project = failing_project
    failed = amlpipe("submit", "pipeline.py", cwd=project)
    assert failed.returncode == 1, failed.stderr
    failed_id = run_id_in(failed.stdout)
    assert f"amlpipe resume {failed_id}" in failed.stdout
    first_id = workspace.get_run(failed_id).find_step_run("first")[0].id
    told = amlpipe("why", failed_id, cwd=project)
    assert told.stdout.splitlines() == [
        "first   ran: no earlier execution",
        "second  ran and failed: no earlier execution",
    ]

    # resumed in the background before the cause is fixed: it fails again, and `first` is not repeated
    detached = amlpipe("resume", failed_id, "--no-wait", cwd=project)
    assert detached.returncode == 0, detached.stderr
    again_id = detached.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", again_id), detached.stdout
    again: Any = workspace.get_run(again_id)
    assert again.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False) == "Failed"
    assert again.get_properties()["amlpipe.resumed_from"] == failed_id
    assert again.get_properties()["amlpipe.started_by"] == "cli"

    (project / "fixed.flag").write_text("fixed\n")
    resumed = amlpipe("resume", again_id, cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert f"StepRun(first) reused (from {first_id})" in resumed.stdout
    assert "[second] second is fixed" in resumed.stdout
    new_id = run_id_in(resumed.stdout)
    assert workspace.get_run(new_id).get_status() == "Finished"
    assert (project / "count.txt").read_text().splitlines() == ["first ran"]  # ran once in all

    why = amlpipe("why", new_id, "first", cwd=project)
    assert why.stdout.strip() == f"first  reused (from {first_id})"

    finished = amlpipe("resume", new_id, cwd=project)
    assert finished.returncode == 2
    assert f"Run {new_id} is Finished: only a Failed or Canceled run can be resumed." in finished.stderr


# -- gc ------------------------------------------------------------------------------------------
def test_gc_dry_run_then_gc(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "prep.py").write_text(PREP)
    (src / "train.py").write_text(TRAIN)
    old = submit(workspace, src, 0.1)
    submit(workspace, src, 0.2)  # reuses prep from `old`; train runs again

    preview = invoke(workspace, "gc", "--keep-last", "1", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "Would delete 0 pipeline runs and 1 step run: " in preview.stdout
    assert "Would delete 1 reuse entry." in preview.stdout
    would = re.search(
        r"^Would free (.* \(([\d,]+) bytes\)); kept 1 pipeline run, and the steps they reuse from 1 other run\.$",
        preview.stdout,
        re.M,
    )
    assert would and int(would.group(2).replace(",", "")) > 0, preview.stdout
    assert len(list(old.get_steps())) == 2  # nothing deleted yet

    done = invoke(workspace, "gc", "--keep-last", "1")
    assert done.exit_code == 0, done.output
    assert "Deleted 0 pipeline runs and 1 step run: " in done.stdout
    assert f"Freed {would.group(1)};" in done.stdout  # what the dry run announced
    assert [s.name for s in old.get_steps()] == ["prep"]  # kept: the latest run reuses it

    nothing = invoke(workspace, "gc", "--keep-last", "1")
    assert nothing.stdout.splitlines() == [
        "Nothing to delete.",
        "Freed 0 B (0 bytes); kept 1 pipeline run, and the steps they reuse from 1 other run.",
    ]
