"""Reuse and resume in the cases that once went wrong: data reached only through arguments or parameters,
CommandStep command lists, published outputs changed after the fact, notebook settings, output datastores,
and resuming after outputs or sources went away.

Every step runs ``step.py`` (written into ``tmp_path / "src"``): it appends its
name to a count file outside the source directory, so the tests count
executions, then performs the actions its arguments list (read data and print
what it saw, write an output folder, fail while a flag file exists, ...).
Every submission builds its Pipeline and step objects from scratch.
"""

from __future__ import annotations

import collections
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import (
    DataPath,
    DataPathComputeBinding,
    DataReference,
    Datastore,
    Experiment,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PipelineRun,
)
from jupyter_amlpipe.steps import CommandStep, NotebookRunConfig, NotebookRunnerStep, NotebookStep, PythonScriptStep

from . import ASSETS, error_of, finish, statuses, stdout_value, use_checkout

EXPERIMENT = "reuse-review"

STEP = """\
import json
import os
import sys
from pathlib import Path

count, name, actions = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(count, "a", encoding="utf-8") as f:
    f.write(name + "\\n")


def content(path):
    path = Path(path)
    if path.is_dir():
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(path.iterdir())}
    return path.read_text(encoding="utf-8")


while actions:
    action, arg = actions[0], actions[1]
    actions = actions[2:]
    if action == "read":  # print what a file or folder holds
        print("seen", json.dumps(content(arg)), flush=True)
    elif action == "read-env":  # the same, for data bound to AZUREML_DATAREFERENCE_<arg>
        print("seen", json.dumps(content(os.environ["AZUREML_DATAREFERENCE_" + arg])), flush=True)
    elif action == "write":  # an output folder with two files
        Path(arg).mkdir(parents=True, exist_ok=True)
        (Path(arg) / "a.txt").write_text("A", encoding="utf-8")
        (Path(arg) / "b.txt").write_text("B", encoding="utf-8")
    elif action == "mutate":  # write into a (mounted) input folder
        (Path(arg) / "a.txt").write_text("MUTATED", encoding="utf-8")
    elif action == "fail-if":
        if Path(arg).exists():
            sys.exit(3)
    elif action == "tag":  # does nothing: only makes the definition differ
        pass
    else:
        sys.exit(f"unknown action {action}")
"""


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_checkout(monkeypatch)


class Project:
    """``step.py`` in ``root / "src"``, a count file in ``root``, submissions to ``ws``."""

    def __init__(self, ws: Any, root: Path) -> None:
        self.ws = ws
        self.root = root
        self.src = root / "src"
        self.src.mkdir()
        (self.src / "step.py").write_text(STEP, encoding="utf-8")
        self.count = root / "count.txt"
        self.store = ws.get_default_datastore()

    def counts(self) -> dict[str, int]:
        """How many times each step has executed so far."""
        if not self.count.exists():
            return {}
        return dict(collections.Counter(self.count.read_text(encoding="utf-8").split()))

    def upload(self, target_dir: str, text: str) -> None:
        """Upload ``text`` as ``<target_dir>/raw.csv`` on the default datastore (overwriting)."""
        local = self.root / "upload" / target_dir / "raw.csv"
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text, encoding="utf-8")
        self.store.upload_files([str(local)], target_path=target_dir, overwrite=True, show_progress=False)

    def step(self, name: str, *actions: Any, **kwargs: Any) -> PythonScriptStep:
        """A counted ``step.py`` step named ``name`` doing ``actions``."""
        return PythonScriptStep(
            "step.py",
            name=name,
            arguments=[self.count, name, *actions],
            source_directory=str(self.src),
            **kwargs,
        )

    def submit(self, steps: list[Any], expect: str = "Finished", **kwargs: Any) -> PipelineRun:
        run = Experiment(self.ws, EXPERIMENT).submit(Pipeline(self.ws, steps), **kwargs)
        assert finish(run) == expect, error_of(run)
        return run

    def published(self, run: PipelineRun, step: str, output: str) -> Path:
        """The local folder of a step's published output."""
        port = run.get_step_run(step).get_output_data(output)
        folder = Datastore.get(self.ws, port.datastore_name).local_path(port.path_on_datastore)
        assert folder is not None and folder.is_dir(), folder
        return Path(folder)


@pytest.fixture
def project(workspace: Any, tmp_path: Path) -> Project:
    return Project(workspace, tmp_path)


def seen(run: PipelineRun, step: str) -> str:
    """What the step printed it saw (JSON text)."""
    return stdout_value(run.get_step_run(step), "seen")


def assert_reused(run: PipelineRun, name: str, origin: PipelineRun) -> None:
    step = run.get_step_run(name)
    got = step.get_reuse_info()
    assert step.get_status() == "Finished"
    assert got["reused"] is True, got
    assert got["reused_from"] == origin.get_step_run(name).id


def assert_ran(run: PipelineRun, name: str, why: list[str], status: str = "Finished") -> None:
    step = run.get_step_run(name)
    got = step.get_reuse_info()
    assert step.get_status() == status
    assert got["reused"] is False and got["reused_from"] is None, got
    assert got["reasons"] == why


# -- 1. data passed only in arguments -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["DataReference", "PipelineParameter(DataPath)", "(PipelineParameter, binding)"])
def test_data_passed_only_in_arguments_is_hashed(project: Project, kind: str) -> None:
    name = "raw" if kind == "DataReference" else "dp"

    def data() -> Any:
        if kind == "DataReference":
            return DataReference(project.store, data_reference_name="raw", path_on_datastore="data/raw.csv")
        param = PipelineParameter("dp", default_value=DataPath(project.store, "data/raw.csv"))
        return param if kind == "PipelineParameter(DataPath)" else (param, DataPathComputeBinding(mode="mount"))

    def submit() -> PipelineRun:
        return project.submit([project.step("s", "read", data())])  # not in inputs: only in the arguments

    project.upload("data", "v1\n")
    first = submit()
    assert seen(first, "s") == '"v1\\n"'

    same = submit()
    assert_reused(same, "s", first)
    assert project.counts() == {"s": 1}

    project.upload("data", "v2, new bytes at the same path\n")
    changed = submit()

    assert project.counts() == {"s": 2}
    assert_ran(changed, "s", [f"input {name}: content changed"])
    assert seen(changed, "s") == '"v2, new bytes at the same path\\n"'


# -- 2. CommandStep with a list command ---------------------------------------------------------------
def test_command_list_keys_parameter_values_and_data_content(project: Project) -> None:
    def submit(default: int, **kwargs: Any) -> PipelineRun:
        command = [
            sys.executable,
            "step.py",
            project.count,
            "c",
            "tag",
            PipelineParameter("k", default_value=default),
            "read",
            DataReference(project.store, data_reference_name="raw", path_on_datastore="data/raw.csv"),
        ]
        return project.submit([CommandStep(command, name="c", source_directory=str(project.src))], **kwargs)

    project.upload("data", "one\n")
    first = submit(1)
    assert seen(first, "c") == '"one\\n"'

    other_default = submit(2, pipeline_parameters={"k": 1})  # the same value reaches the step
    assert_reused(other_default, "c", first)
    assert project.counts() == {"c": 1}

    project.upload("data", "two, changed\n")
    changed = submit(1)

    assert project.counts() == {"c": 2}
    assert_ran(changed, "c", ["input raw: content changed"])
    assert seen(changed, "c") == '"two, changed\\n"'


# -- 3. published outputs changed after they were recorded -----------------------------------------
def producer_and_consumer(project: Project, *, mutate: bool = False, version: int = 1) -> list[Any]:
    """``p`` writes ``out``; ``c`` prints what it reads there, then (``mutate``) writes into it."""
    out = PipelineData("out")
    consumer = ["read", out, "tag", f"v{version}", *(["mutate", out] if mutate else [])]
    return [
        project.step("p", "write", out, outputs=[out]),
        project.step("c", *consumer, inputs=[out]),
    ]


def test_a_consumer_writing_into_its_input_makes_the_producer_run_again(project: Project) -> None:
    mutated = project.submit(producer_and_consumer(project, mutate=True))
    assert seen(mutated, "c") == '{"a.txt": "A", "b.txt": "B"}'
    # the consumer wrote through its mount into the producer's published output
    assert (project.published(mutated, "p", "out") / "a.txt").read_text(encoding="utf-8") == "MUTATED"

    plain = project.submit(producer_and_consumer(project))

    assert project.counts() == {"p": 2, "c": 2}
    assert_ran(plain, "p", ["the earlier execution's outputs are no longer available"])
    assert seen(plain, "c") == '{"a.txt": "A", "b.txt": "B"}'  # the bytes the producer writes, not MUTATED


def test_a_file_deleted_from_a_published_output_makes_the_producer_run_again(project: Project) -> None:
    first = project.submit(producer_and_consumer(project))
    (project.published(first, "p", "out") / "b.txt").unlink()

    second = project.submit(producer_and_consumer(project, version=2))  # a changed consumer reads again

    assert project.counts() == {"p": 2, "c": 2}
    assert_ran(second, "p", ["the earlier execution's outputs are no longer available"])
    assert seen(second, "c") == '{"a.txt": "A", "b.txt": "B"}'


# -- 4. notebook settings ---------------------------------------------------------------------------
@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copyfile(ASSETS / "reuse_nb.ipynb", folder / "report.ipynb")
    return folder


def test_notebook_kernel_name_is_part_of_the_key(project: Project, notebooks: Path) -> None:
    def submit(kernel: str, expect: str) -> PipelineRun:
        step = NotebookStep(
            name="report",
            notebook="report.ipynb",
            source_directory=str(notebooks),
            params={"count_file": str(project.count), "lr": 0.1},
            kernel_name=kernel,
        )
        return project.submit([step], expect=expect)

    first = submit("python3", "Finished")
    assert "REUSE_NB lr=0.1" in first.get_step_run("report").get_stdout_log()

    bogus = submit("no-such-kernel-for-amlpipe", "Failed")  # runs (and fails): not the python3 result

    assert_ran(bogus, "report", ["kernel name changed: python3 → no-such-kernel-for-amlpipe"], status="Failed")
    assert project.counts() == {"report": 1}  # the notebook never started


def test_notebook_output_notebook_is_part_of_the_key(project: Project, notebooks: Path) -> None:
    def submit(output_notebook: str | None) -> PipelineRun:
        config = NotebookRunConfig(
            source_directory=str(notebooks),
            notebook="report.ipynb",
            output_notebook=output_notebook,
            parameters={"count_file": str(project.count), "lr": 0.1},
        )
        return project.submit([NotebookRunnerStep(name="report", notebook_run_config=config)])

    first = submit(None)
    assert "outputs/result.ipynb" not in first.get_step_run("report").get_file_names()

    second = submit("result.ipynb")

    assert project.counts() == {"report": 2}
    assert_ran(second, "report", ["output notebook changed: null → result.ipynb"])
    step = second.get_step_run("report")
    assert "outputs/result.ipynb" in step.get_file_names()
    saved = Path(step.download_file("outputs/result.ipynb", project.root / "downloaded"))
    assert "REUSE_NB lr=0.1" in saved.read_text(encoding="utf-8")


# -- 5. output datastore -----------------------------------------------------------------------------
def test_moving_an_output_to_another_datastore_runs_the_producer_again(project: Project) -> None:
    shared = Datastore.register_local(project.ws, "shared", project.root / "shared")

    def submit(datastore: Any) -> PipelineRun:
        out = PipelineData("out", datastore=datastore)
        return project.submit([project.step("p", "write", out, outputs=[out])])

    submit(None)
    moved = submit(shared)

    assert project.counts() == {"p": 2}
    info = moved.get_step_run("p").get_reuse_info()
    assert info["reused"] is False
    assert any(r.startswith("outputs changed:") and '"datastore": "shared"' in r for r in info["reasons"]), info
    port = moved.get_step_run("p").get_output_data("out")
    assert port.datastore_name == "shared"
    written = project.root / "shared" / port.path_on_datastore / "a.txt"
    assert written.read_text(encoding="utf-8") == "A"

    again = submit(shared)  # on the new datastore, it is reusable in its turn
    assert_reused(again, "p", moved)
    assert project.counts() == {"p": 2}


# -- resume ---------------------------------------------------------------------------------------------
def chain(project: Project, flag: Path, **producer: Any) -> list[Any]:
    """``a`` writes ``out``; ``b`` fails while ``flag`` exists, else prints what it read from ``out``."""
    out = PipelineData("out")
    return [
        project.step("a", "write", out, outputs=[out], **producer),
        project.step("b", "fail-if", flag, "read", out, inputs=[out]),
    ]


def test_resume_reruns_a_finished_step_whose_output_was_deleted(project: Project) -> None:
    flag = project.root / "b-fails"
    flag.touch()
    failed = project.submit(chain(project, flag), expect="Failed")
    assert statuses(failed) == {"a": "Finished", "b": "Failed"}
    shutil.rmtree(project.published(failed, "a", "out"))
    flag.unlink()

    resumed = failed.resume()

    assert finish(resumed) == "Finished", error_of(resumed)
    assert project.counts() == {"a": 2, "b": 2}
    assert_ran(resumed, "a", ["the earlier execution's outputs are no longer available"])
    assert seen(resumed, "b") == '{"a.txt": "A", "b.txt": "B"}'


def test_resume_after_the_source_folder_was_deleted_with_hash_paths(project: Project) -> None:
    (project.src / "cfg.txt").write_text("cfg\n", encoding="utf-8")
    flag = project.root / "b-fails"
    flag.touch()
    failed = project.submit(chain(project, flag, hash_paths=["cfg.txt"]), expect="Failed")
    assert statuses(failed) == {"a": "Finished", "b": "Failed"}
    shutil.rmtree(project.src)
    flag.unlink()

    resumed = failed.resume()  # the code frozen at the first submission

    assert finish(resumed) == "Finished", error_of(resumed)
    assert project.counts() == {"a": 1, "b": 2}
    assert_reused(resumed, "a", failed)
    assert seen(resumed, "b") == '{"a.txt": "A", "b.txt": "B"}'


def test_resume_of_a_regenerate_outputs_run_keeps_regenerating(project: Project) -> None:
    flag = project.root / "b-fails"

    def chained() -> list[Any]:
        a, b = chain(project, flag)
        c = project.step("c", "tag", "after-b")
        c.run_after(b)
        return [a, b, c]

    project.submit(chained())  # results that plain reuse could pick up
    assert project.counts() == {"a": 1, "b": 1, "c": 1}
    flag.touch()
    failed = project.submit(chained(), expect="Failed", regenerate_outputs=True)
    assert statuses(failed) == {"a": "Finished", "b": "Failed", "c": "NotStarted"}
    assert project.counts() == {"a": 2, "b": 2, "c": 1}
    flag.unlink()

    resumed = failed.resume()

    assert finish(resumed) == "Finished", error_of(resumed)
    assert project.counts() == {"a": 2, "b": 3, "c": 2}
    assert_reused(resumed, "a", failed)  # finished in the run being resumed
    assert_ran(resumed, "b", ["regenerate_outputs was set"])
    assert_ran(resumed, "c", ["regenerate_outputs was set"])


# -- 8. DataPath parameters ------------------------------------------------------------------------------
def test_a_datapath_parameter_pointed_at_identical_bytes_elsewhere_is_reused(project: Project) -> None:
    def submit(**kwargs: Any) -> PipelineRun:
        param = PipelineParameter("dp", default_value=DataPath(project.store, "a/raw.csv"))
        step = project.step("s", "read-env", "dp", inputs=[(param, DataPathComputeBinding(mode="mount"))])
        return project.submit([step], **kwargs)

    project.upload("a", "same bytes\n")
    project.upload("b", "same bytes\n")
    project.upload("c", "other bytes\n")
    first = submit()
    assert seen(first, "s") == '"same bytes\\n"'

    elsewhere = submit(pipeline_parameters={"dp": DataPath(project.store, "b/raw.csv")})

    assert project.counts() == {"s": 1}
    assert_reused(elsewhere, "s", first)

    different = submit(pipeline_parameters={"dp": DataPath(project.store, "c/raw.csv")})
    assert project.counts() == {"s": 2}
    assert_ran(different, "s", ["input dp: content changed"])
    assert seen(different, "s") == '"other bytes\\n"'
