"""Definitions that must be refused or accepted as in v1: data link names, safe paths, compute tuples,
Workspace.create arguments, ComputeTargetException, NotebookRunnerStep's output notebook."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_amlpipe import (
    DataPathComputeBinding,
    DataReference,
    Experiment,
    Pipeline,
    PipelineData,
    Workspace,
)
from jupyter_amlpipe.compute import AmlCompute, ComputeTarget
from jupyter_amlpipe.compute import ComputeTargetException as ComputeTargetExceptionFromCompute
from jupyter_amlpipe.core.pipeline import PipelineValidationError
from jupyter_amlpipe.errors import ComputeTargetException, DefinitionError, LookupFailed
from jupyter_amlpipe.steps import NotebookRunConfig, NotebookRunnerStep, PythonScriptStep

ASSETS = Path(__file__).resolve().parent.parent / "assets"
WAIT = 120  # seconds: generous on a loaded 2-core machine
RELATIVE_ONLY = re.escape("must be a relative path without '..'")

SHOW_ARGS = """\
import sys

for i, arg in enumerate(sys.argv[1:]):
    print(f"arg{i} {arg}")
"""


def _source(tmp_path: Path) -> Path:
    """A source directory with a script that prints its arguments, one per line."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "show_args.py").write_text(SHOW_ARGS, encoding="utf-8")
    return src


def _run(ws: Any, steps: list[Any]) -> Any:
    run = Experiment(ws, "review").submit(Pipeline(workspace=ws, steps=steps))
    run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False)
    return run


def _args(step_run: Any) -> dict[str, str]:
    """What show_args.py printed: arg index -> value."""
    out = {}
    for line in step_run.get_stdout_log().splitlines():
        key, _, value = line.partition(" ")
        out[key] = value
    return out


def _upload(ws: Any, tmp_path: Path, rel: str, text: str) -> None:
    local = tmp_path / "upload" / rel
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(text, encoding="utf-8")
    ws.get_default_datastore().upload_files(
        [str(local)], target_path=str(Path(rel).parent), overwrite=True, show_progress=False
    )


# -- 1. one name, one data link per step -------------------------------------------------------


def test_two_datastore_paths_with_the_default_name_in_one_step_are_refused(workspace: Any, tmp_path: Path) -> None:
    store = workspace.get_default_datastore()
    a, b = store.path("in/a.csv"), store.path("in/b.csv")
    assert a.data_reference_name == b.data_reference_name == store.name  # both default-named
    step = PythonScriptStep(
        "show_args.py", name="merge", arguments=[a, b], inputs=[a, b], source_directory=_source(tmp_path)
    )
    with pytest.raises(PipelineValidationError) as info:
        Pipeline(workspace, [step]).validate()
    (error,) = [e for e in info.value.errors if "two different data links" in e]
    assert "Step 'merge'" in error
    assert f"both named {store.name!r}" in error


def test_a_data_reference_and_a_pipeline_data_output_sharing_a_name_are_refused(workspace: Any, tmp_path: Path) -> None:
    ref = DataReference(workspace.get_default_datastore(), data_reference_name="x", path_on_datastore="in/x.csv")
    out = PipelineData("x")
    step = PythonScriptStep(
        "show_args.py",
        name="transform",
        arguments=["--in", ref, "--out", out],
        inputs=[ref],
        outputs=[out],
        source_directory=_source(tmp_path),
    )
    with pytest.raises(PipelineValidationError) as info:
        Pipeline(workspace, [step]).validate()
    assert "Step 'transform': two different data links are both named 'x'" in str(info.value)


def test_the_same_data_reference_in_inputs_arguments_and_as_download_is_fine(workspace: Any, tmp_path: Path) -> None:
    _upload(workspace, tmp_path, "in/data.csv", "a,b\n1,2")
    store = workspace.get_default_datastore()
    ref = DataReference(store, data_reference_name="raw", path_on_datastore="in/data.csv")
    copy = ref.as_download()
    step = PythonScriptStep(
        "show_args.py",
        name="read",
        arguments=[ref, copy],
        inputs=[ref, copy],
        source_directory=_source(tmp_path),
    )
    pipeline = Pipeline(workspace, [step])
    assert pipeline.validate() == []

    run = _run(workspace, [step])
    step_run = run.find_step_run("read")[0]
    assert run.get_status() == "Finished", step_run.get_stderr_log()
    args = _args(step_run)
    assert Path(args["arg0"]) == Path(store.local_path("in/data.csv"))  # mounted: the datastore's file
    downloaded = Path(args["arg1"])  # downloaded: a copy in the step's working area, not the mount path
    assert downloaded != Path(args["arg0"])
    assert downloaded.is_relative_to(workspace.run_dir(step_run.id) / "wd")


# -- 2. paths that would leave their root ------------------------------------------------------


@pytest.mark.parametrize("bad", ["/abs", "../../x", "data/../../x"])
def test_as_download_refuses_a_path_on_compute_outside_the_working_area(workspace: Any, bad: str) -> None:
    store = workspace.get_default_datastore()
    ref = DataReference(store, data_reference_name="raw", path_on_datastore="in/a.csv")
    with pytest.raises(DefinitionError, match=RELATIVE_ONLY):
        ref.as_download(path_on_compute=bad)
    with pytest.raises(DefinitionError, match=RELATIVE_ONLY):
        ref.as_upload(path_on_compute=bad)
    with pytest.raises(DefinitionError, match=RELATIVE_ONLY):
        store.as_download(path_on_compute=bad)
    with pytest.raises(DefinitionError, match=RELATIVE_ONLY):
        DataReference(store, "raw", "in/a.csv", path_on_compute=bad)
    with pytest.raises(DefinitionError, match=RELATIVE_ONLY):
        DataPathComputeBinding(mode="download", path_on_compute=bad)
    assert ref.as_download(path_on_compute="local/copy").path_on_compute == "local/copy"  # relative is fine


@pytest.mark.parametrize("bad", ["../secret.csv", "in/../../secret.csv", "/etc/passwd"])
def test_data_reference_refuses_a_path_on_datastore_leaving_the_datastore(workspace: Any, bad: str) -> None:
    with pytest.raises(DefinitionError, match="path_on_datastore") as info:
        DataReference(workspace.get_default_datastore(), data_reference_name="raw", path_on_datastore=bad)
    assert repr(bad) in str(info.value)


# -- 3. v1 compute target tuples ---------------------------------------------------------------


def test_a_v1_compute_target_tuple_runs_on_the_named_target(workspace: Any, tmp_path: Path) -> None:
    ComputeTarget.create(workspace, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2))
    step = PythonScriptStep(
        "show_args.py",
        name="train",
        arguments=["hello"],
        compute_target=("cpu-cluster", "AmlCompute"),
        source_directory=_source(tmp_path),
    )
    assert Pipeline(workspace, [step]).validate() == []
    run = _run(workspace, [step])
    step_run = run.find_step_run("train")[0]
    assert run.get_status() == "Finished", step_run.get_stderr_log()
    assert _args(step_run) == {"arg0": "hello"}
    assert step_run.get_details()["target"] == "cpu-cluster"


def test_a_v1_compute_target_tuple_with_an_unknown_name_is_a_validation_error(workspace: Any, tmp_path: Path) -> None:
    ComputeTarget.create(workspace, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2))
    step = PythonScriptStep(
        "show_args.py", name="train", compute_target=("gpu-cluster", "AmlCompute"), source_directory=_source(tmp_path)
    )
    with pytest.raises(PipelineValidationError) as info:
        Pipeline(workspace, [step]).validate()
    assert "Step 'train': unknown compute target 'gpu-cluster'" in str(info.value)


# -- 4. Workspace.create takes v1's arguments ---------------------------------------------------


def test_workspace_create_records_v1_keyword_arguments(tmp_path: Path) -> None:
    ws = Workspace.create(
        "w",
        path=tmp_path / "ws",
        hbi_workspace=False,
        default_cpu_compute_target=None,
        v1_legacy_mode=True,
        public_network_access="Enabled",
    )
    azure = json.loads((tmp_path / "ws" / "workspace.json").read_text(encoding="utf-8"))["azure"]
    expected = {
        "hbi_workspace": False,
        "default_cpu_compute_target": None,
        "v1_legacy_mode": True,
        "public_network_access": "Enabled",
    }
    assert {k: azure[k] for k in expected} == expected
    assert {k: ws.get_details()["azure"][k] for k in expected} == expected


def test_workspace_create_takes_v1_positional_arguments(tmp_path: Path) -> None:
    ws = Workspace.create("w", None, "sub", "rg", "westeurope", False, "enterprise", path=tmp_path / "ws")
    details = ws.get_details()
    assert (details["subscription_id"], details["resource_group"], details["location"]) == ("sub", "rg", "westeurope")
    assert details["azure"]["create_resource_group"] is False
    assert details["azure"]["sku"] == "enterprise"


def test_workspace_create_still_refuses_an_unknown_keyword(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"unexpected arguments \['colour'\]"):
        Workspace.create("w", path=tmp_path / "ws", colour="blue")
    assert not (tmp_path / "ws" / "workspace.json").exists()


# -- 5. except ComputeTargetException ------------------------------------------------------------


def test_v1_idiom_except_compute_target_exception_catches_a_missing_target(workspace: Any) -> None:
    assert ComputeTargetExceptionFromCompute is ComputeTargetException
    caught: list[BaseException] = []
    try:
        ComputeTarget(workspace=workspace, name="nope")
    except ComputeTargetExceptionFromCompute as exc:
        caught.append(exc)
    try:
        AmlCompute(workspace, "nope")
    except ComputeTargetException as exc:
        caught.append(exc)
    assert len(caught) == 2
    for exc in caught:
        assert isinstance(exc, LookupFailed)
        assert "No compute target 'nope'" in str(exc)


# -- 9. NotebookRunnerStep with output_notebook ---------------------------------------------------


def test_notebook_runner_step_keeps_the_executed_notebook_as_a_run_output(workspace: Any, tmp_path: Path) -> None:
    src = tmp_path / "nbsrc"
    src.mkdir()
    shutil.copy(ASSETS / "core_nb_runner.ipynb", src / "nb.ipynb")
    config = NotebookRunConfig(
        source_directory=str(src),
        notebook="nb.ipynb",
        output_notebook="executed.ipynb",
        parameters={"greeting": "salut", "times": 2},
    )
    step = NotebookRunnerStep(name="nbrun", notebook_run_config=config, runconfig_pipeline_params={})
    run = _run(workspace, [step])
    step_run = run.find_step_run("nbrun")[0]
    assert run.get_status() == "Finished", step_run.get_stderr_log()
    assert "outputs/executed.ipynb" in step_run.get_file_names()

    saved = Path(step_run.download_file("outputs/executed.ipynb", tmp_path / "dl" / "executed.ipynb"))
    nb = nbformat.read(saved, as_version=4)
    (injected,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "salut" in injected.source and "times = 2" in injected.source
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "message: salut salut" in outputs
