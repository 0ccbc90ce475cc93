"""Data links: DataReference, PipelineData, PipelineParameter, DataPath, and what a step receives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import (
    DataPath,
    DataPathComputeBinding,
    DataReference,
    PipelineData,
    PipelineParameter,
)
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.steps import PythonScriptStep

from . import make_source, run_steps


def _source(tmp_path: Path, *names: str) -> Path:
    return make_source(tmp_path, *names)


def _run(ws: Any, steps: list[Any], **submit: Any) -> Any:
    return run_steps(ws, steps, "data", **submit)


def _upload(ws: Any, tmp_path: Path, rel: str, text: str) -> None:
    local = tmp_path / "upload" / rel
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(text, encoding="utf-8")
    ws.get_default_datastore().upload_files(
        [str(local)], target_path=str(Path(rel).parent), overwrite=True, show_progress=False
    )


# -- DataReference ------------------------------------------------------------------------


def test_data_reference_defaults(workspace: Any) -> None:
    store = workspace.get_default_datastore()
    ref = DataReference(datastore=store)
    assert ref.mode == "mount"
    assert ref.data_reference_name == store.name == "workspaceblobstore"
    assert ref.path_on_datastore is None
    assert ref.path_on_compute is None
    assert ref.overwrite is False


def test_as_mount_and_as_download_return_new_references(workspace: Any) -> None:
    store = workspace.get_default_datastore()
    ref = DataReference(store, data_reference_name="raw", path_on_datastore="reviews/r.csv", mode="download")
    mounted = ref.as_mount()
    downloaded = mounted.as_download(path_on_compute="local_copy")
    assert (ref.mode, mounted.mode, downloaded.mode) == ("download", "mount", "download")
    assert downloaded.path_on_compute == "local_copy"
    for view in (mounted, downloaded):
        assert view is not ref
        assert (view.data_reference_name, view.path_on_datastore) == ("raw", "reviews/r.csv")


def test_data_reference_refuses_a_bad_mode_and_a_missing_datastore(workspace: Any) -> None:
    with pytest.raises(DefinitionError, match="'copy' is not one of"):
        DataReference(workspace.get_default_datastore(), "raw", "x.csv", mode="copy")
    with pytest.raises(DefinitionError, match="needs a datastore"):
        DataReference(None, "raw", "x.csv")


def test_mount_gives_the_datastore_path_and_download_a_copy(workspace: Any, tmp_path: Path) -> None:
    _upload(workspace, tmp_path, "reviews/r.csv", "stars\n5")
    store = workspace.get_default_datastore()
    ref = DataReference(store, data_reference_name="raw", path_on_datastore="reviews/r.csv")
    src = _source(tmp_path, "core_read.py")
    mounted = PythonScriptStep(
        "core_read.py",
        name="mounted",
        arguments=["--input", ref.as_mount()],
        inputs=[ref.as_mount()],
        source_directory=src,
    )
    copied = PythonScriptStep(
        "core_read.py",
        name="copied",
        arguments=["--input", ref.as_download()],
        inputs=[ref.as_download()],
        source_directory=src,
    )
    run = _run(workspace, [mounted, copied])
    assert run.get_status() == "Finished"
    mount_log = run.find_step_run("mounted")[0].get_stdout_log()
    copy_step = run.find_step_run("copied")[0]
    copy_log = copy_step.get_stdout_log()
    assert "content: stars\n5" in mount_log and "content: stars\n5" in copy_log
    assert f"input path: {store.local_path('reviews/r.csv')}\n" in mount_log
    copy_path = copy_log.split("input path: ", 1)[1].splitlines()[0]
    assert Path(copy_path).is_relative_to(workspace.run_dir(copy_step.id) / "wd")  # the step's working area


# -- PipelineData and PipelineParameter ----------------------------------------------------------


@pytest.mark.parametrize("name", ["bad name", "1st", "a-b", "x.y", ""])
def test_pipeline_data_refuses_a_bad_name(name: str) -> None:
    with pytest.raises(DefinitionError) as info:
        PipelineData(name)
    assert repr(name) in str(info.value)
    assert "letters, digits and '_'" in str(info.value)


def test_pipeline_data_defaults(workspace: Any) -> None:
    data = PipelineData("clean")
    assert (data.name, data.output_name, data.datastore, data.is_directory) == ("clean", "clean", None, None)
    store = workspace.get_default_datastore()
    named = PipelineData("clean", datastore=store, output_name="cleaned_reviews", is_directory=True)
    assert (named.datastore, named.output_name, named.is_directory) == (store, "cleaned_reviews", True)


def test_pipeline_parameter() -> None:
    lr = PipelineParameter(name="lr", default_value=0.1)
    assert (lr.name, lr.default_value) == ("lr", 0.1)
    assert PipelineParameter("layers", [64, 32]).default_value == [64, 32]
    with pytest.raises(DefinitionError, match="'learning rate'"):
        PipelineParameter("learning rate", 0.1)


@pytest.mark.parametrize("value", [object(), {1, 2}, float("nan")])
def test_pipeline_parameter_default_must_be_json(value: Any) -> None:
    with pytest.raises(DefinitionError) as info:
        PipelineParameter("p", value)
    assert "'p'" in str(info.value) and "JSON-serializable" in str(info.value)


def test_parameters_in_arguments_and_params(workspace: Any, tmp_path: Path) -> None:
    """In arguments a PipelineParameter is its value's string; params become AML_PARAMETER_ variables."""
    _upload(workspace, tmp_path, "cfg/settings.txt", "x")
    ref = DataReference(workspace.get_default_datastore(), "settings", "cfg/settings.txt")
    epochs = PipelineParameter("epochs", 3)
    mode = PipelineParameter("mode", "fast")
    layers = PipelineParameter("layers", [64, 32])
    step = PythonScriptStep(
        "core_echo.py",
        name="echo",
        arguments=["--epochs", epochs, "--mode", mode, "--layers", layers, ref],
        inputs=[ref],
        params={"mode": mode, "fixed": 1},
        source_directory=_source(tmp_path, "core_echo.py"),
    )
    run = _run(workspace, [step], pipeline_parameters={"epochs": 7})
    assert run.get_status() == "Finished"
    log = run.find_step_run("echo")[0].get_stdout_log()
    settings = workspace.get_default_datastore().local_path("cfg/settings.txt")
    assert f"argv: --epochs | 7 | --mode | fast | --layers | [64, 32] | {settings}\n" in log
    assert "env: AML_PARAMETER_mode=fast\n" in log
    assert "env: AML_PARAMETER_fixed=1\n" in log
    assert f"env: AZUREML_DATAREFERENCE_settings={settings}\n" in log


# -- DataPath as a pipeline parameter ----------------------------------------------------------------


def test_datapath_parameter_picks_the_file_at_submit(workspace: Any, tmp_path: Path) -> None:
    _upload(workspace, tmp_path, "a/one.txt", "first file")
    _upload(workspace, tmp_path, "b/two.txt", "second file")
    store = workspace.get_default_datastore()
    infile = PipelineParameter(name="infile", default_value=DataPath(datastore=store, path_on_datastore="a/one.txt"))
    binding = (infile, DataPathComputeBinding(mode="mount"))
    step = PythonScriptStep(
        "core_read.py",
        name="read",
        arguments=["--input", binding],
        inputs=[binding],
        source_directory=_source(tmp_path, "core_read.py"),
    )
    pipeline_steps = [step]

    default_run = _run(workspace, pipeline_steps)
    other_run = _run(
        workspace,
        pipeline_steps,
        pipeline_parameters={"infile": DataPath(datastore=store, path_on_datastore="b/two.txt")},
    )

    assert default_run.get_status() == other_run.get_status() == "Finished"
    assert "content: first file" in default_run.find_step_run("read")[0].get_stdout_log()
    other_log = other_run.find_step_run("read")[0].get_stdout_log()
    assert "content: second file" in other_log
    assert "first file" not in other_log


def test_datapath_needs_a_datastore() -> None:
    with pytest.raises(DefinitionError, match="needs a datastore"):
        DataPath(None, "a/one.txt")
