"""Steps: definitions, and what each kind of step does when it runs on LocalCompute."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_amlpipe import (
    CondaDependencies,
    DataReference,
    Experiment,
    Pipeline,
    PipelineData,
    PipelineParameter,
    RunConfiguration,
)
from jupyter_amlpipe.errors import ActivityFailedException, DefinitionError, RunFailedError
from jupyter_amlpipe.steps import CommandStep, NotebookRunConfig, NotebookRunnerStep, NotebookStep, PythonScriptStep

from . import make_source, run_steps


def _source(tmp_path: Path, *names: str) -> Path:
    return make_source(tmp_path, *names)


def _run(ws: Any, steps: list[Any], **submit: Any) -> Any:
    return run_steps(ws, steps, "steps", **submit)


def _error(step_run: Any) -> str:
    return str(step_run.get_details()["error"]["error"]["message"])


# -- definitions -------------------------------------------------------------------------------


def test_python_script_step_takes_the_v1_signature(tmp_path: Path) -> None:
    step = PythonScriptStep("train.py", "training", ["--epochs", 3], "local", source_directory=tmp_path)
    assert (step.name, step.script_name, step.arguments, step.compute_target) == (
        "training",
        "train.py",
        ["--epochs", 3],
        "local",
    )
    assert step.allow_reuse is True
    assert PythonScriptStep(script_name="prep.py").name == "prep.py"  # the name defaults to the script


def test_step_definition_errors_name_the_step(workspace: Any) -> None:
    ref = DataReference(workspace.get_default_datastore(), "raw", "raw.csv")
    with pytest.raises(DefinitionError, match=r"Step 'bad': outputs must be PipelineData"):
        PythonScriptStep("x.py", name="bad", outputs=[ref])
    with pytest.raises(DefinitionError, match=r"Step 'bad': inputs must be a list"):
        PythonScriptStep("x.py", name="bad", inputs=ref)
    with pytest.raises(DefinitionError, match=r"Step 'slow': timeout_seconds must be positive"):
        PythonScriptStep("x.py", name="slow", timeout_seconds=0)
    step = PythonScriptStep("x.py", name="loop")
    with pytest.raises(DefinitionError, match="cannot run after itself"):
        step.run_after(step)


def test_notebook_step_definition_errors() -> None:
    with pytest.raises(DefinitionError, match=r"is not a \.ipynb notebook"):
        NotebookStep(name="nb", notebook="train.py")
    with pytest.raises(DefinitionError, match=r"params\['when'\] must be JSON-serializable"):
        NotebookStep(name="nb", notebook="train.ipynb", params={"when": object()})


# -- notebooks ------------------------------------------------------------------------------------


def test_notebook_params_keep_their_json_types(workspace: Any, tmp_path: Path) -> None:
    params = {
        "min_quantity": 3,
        "ratio": 0.5,
        "label": "x y",
        "flag": True,
        "items": [1, "a"],
        "options": {"k": None},
        "lr": PipelineParameter("lr", 0.1),
    }
    step = NotebookStep(
        name="types",
        notebook="core_nb_params.ipynb",
        params=params,
        source_directory=_source(tmp_path, "core_nb_params.ipynb"),
    )
    run = _run(workspace, [step], pipeline_parameters={"lr": 0.25})
    step_run = run.find_step_run("types")[0]
    assert run.get_status() == "Finished", step_run.get_stderr_log()
    log = step_run.get_stdout_log()
    for line in [
        "min_quantity: int 3",
        "ratio: float 0.5",
        "label: str 'x y'",
        "flag: bool True",
        "items: list [1, 'a']",
        "options: dict {'k': None}",
        "lr: float 0.25",
        "nothing: str 'unset'",  # not passed: the notebook's own default stays
    ]:
        assert line + "\n" in log
    # The executed notebook is kept with the step run, papermill's injected cell included.
    assert "notebooks/core_nb_params.ipynb" in step_run.get_file_names()
    saved = step_run.download_file("notebooks/core_nb_params.ipynb", tmp_path / "executed.ipynb")
    nb = nbformat.read(saved, as_version=4)
    (injected,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "min_quantity = 3" in injected.source
    assert "lr = 0.25" in injected.source


def test_notebook_runner_step_with_run_config_and_output_notebook(workspace: Any, tmp_path: Path) -> None:
    src = _source(tmp_path, "core_nb_runner.ipynb")
    config = NotebookRunConfig(
        source_directory=str(src), notebook="core_nb_runner.ipynb", parameters={"greeting": "hi", "times": 2}
    )
    step = NotebookRunnerStep(
        name="runner", notebook_run_config=config, params={"times": 3}, output_notebook_pipeline_data_name="executed"
    )
    assert [o.name for o in step.outputs] == ["executed"]  # not listed by the user, still an output
    run = _run(workspace, [step])
    step_run = run.find_step_run("runner")[0]
    assert run.get_status() == "Finished", step_run.get_stderr_log()
    assert "message: hi hi hi\n" in step_run.get_stdout_log()  # params win over the run config's parameters
    assert step_run.get_metrics() == {"words": 3}

    step_run.get_output_data("executed").download(tmp_path / "dl")
    (saved,) = list((tmp_path / "dl").rglob("*.ipynb"))
    assert saved.name == "core_nb_runner.ipynb"
    nb = nbformat.read(saved, as_version=4)
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "message: hi hi hi" in outputs


def test_notebook_that_raises_in_cell_3(workspace: Any, tmp_path: Path) -> None:
    src = _source(tmp_path, "core_nb_fail.ipynb", "core_noop.py")
    failing = NotebookStep(name="explore", notebook="core_nb_fail.ipynb", source_directory=src)
    after = PythonScriptStep("core_noop.py", name="after", source_directory=src)
    after.run_after(failing)
    run = Experiment(workspace, "steps").submit(Pipeline(workspace, [after]))
    with pytest.raises(RunFailedError) as info:
        run.wait_for_completion(show_output=False, timeout_seconds=120)
    assert "cell 3" in str(info.value)
    assert "ValueError: bad row 42" in str(info.value)

    assert run.get_status() == "Failed"
    step_run = run.find_step_run("explore")[0]
    assert step_run.get_status() == "Failed"
    error = _error(step_run)
    assert "core_nb_fail.ipynb" in error and "cell 3" in error and "ValueError: bad row 42" in error
    assert "ValueError" in step_run.get_stderr_log()
    assert "never printed" not in step_run.get_stdout_log()
    assert run.find_step_run("after")[0].get_status() == "NotStarted"


# -- scripts and commands ---------------------------------------------------------------------------


def test_step_that_exits_non_zero(workspace: Any, tmp_path: Path) -> None:
    src = _source(tmp_path, "core_fail.py", "core_noop.py")
    data = PipelineData("data")
    PythonScriptStep("core_fail.py", name="parse", arguments=[data], outputs=[data], source_directory=src)
    after = PythonScriptStep("core_noop.py", name="after", arguments=[data], inputs=[data], source_directory=src)
    run = Experiment(workspace, "steps").submit(Pipeline(workspace, [after]))
    with pytest.raises(ActivityFailedException) as info:  # v1's name for it
        run.wait_for_completion(show_output=False, timeout_seconds=120)
    assert "'parse'" in str(info.value)

    step_run = run.find_step_run("parse")[0]
    assert step_run.get_status() == "Failed"
    error = _error(step_run)
    assert "exited with code 3" in error
    assert "cannot parse row 7 of the input" in error  # the last lines of stderr
    assert step_run.get_stdout_log() == "starting\n"
    assert run.find_step_run("after")[0].get_status() == "NotStarted"
    assert run.get_status() == "Failed"


def test_command_step_string_and_list_forms(workspace: Any, tmp_path: Path) -> None:
    upload = tmp_path / "upload" / "reviews.csv"
    upload.parent.mkdir()
    upload.write_text("review\ngood\nbad\nfine\n", encoding="utf-8")
    store = workspace.get_default_datastore()
    store.upload_files([str(upload)], target_path="reviews", overwrite=True, show_progress=False)
    raw = DataReference(store, data_reference_name="raw", path_on_datastore="reviews/reviews.csv")
    counted = PipelineData("counted")
    src = _source(tmp_path, "core_read.py")
    # A string runs in bash; data items in arguments are appended as quoted paths.
    CommandStep(
        command='count() { mkdir -p "$2" && grep -c . "$1" > "$2/n.txt"; } && count',
        name="shell",
        arguments=[raw, counted],
        inputs=[raw],
        outputs=[counted],
        source_directory=src,
    )
    # A list is joined into one shell line (v1): strings as they are, data items as their quoted paths.
    argv = CommandStep(
        command=[sys.executable, "core_read.py", "--input", counted],
        name="argv",
        inputs=[counted],
        source_directory=src,
    )
    run = _run(workspace, [argv])
    assert run.get_status() == "Finished", [_error(s) for s in run.get_steps() if s.get_status() == "Failed"]
    assert [s.name for s in run.get_steps()] == ["shell", "argv"]
    log = run.find_step_run("argv")[0].get_stdout_log()
    assert "content of n.txt: 4\n" in log


def test_command_step_needs_a_command() -> None:
    with pytest.raises(DefinitionError, match="needs a command"):
        CommandStep(command="", name="empty")


def test_packages_on_local_compute_are_not_installed(workspace: Any, tmp_path: Path) -> None:
    config = RunConfiguration()
    config.environment.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn==1.3.2"])
    step = PythonScriptStep(
        "core_noop.py", name="noop", runconfig=config, source_directory=_source(tmp_path, "core_noop.py")
    )
    with pytest.warns(UserWarning, match="not install"):
        run = _run(workspace, [step])
    assert run.get_status() == "Finished"
    assert run.find_step_run("noop")[0].get_stdout_log() == "noop\n"
