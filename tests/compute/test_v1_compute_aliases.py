"""v1's DataFactoryCompute and AdlaCompute (local, one step kind each) and AmlCompute as a virtual base of DaskCompute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import DataReference, Datastore, Experiment, Pipeline, PipelineData
from jupyter_amlpipe.compute import (
    AdlaCompute,
    AmlCompute,
    ComputeTarget,
    ComputeTargetException,
    DaskCompute,
    DataFactoryCompute,
    LocalCompute,
)
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.steps import AdlaStep, DataTransferStep, PythonScriptStep

WAIT = 120
ADF_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.DataFactory/factories/adf"
ADLA_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.DataLakeAnalytics/accounts/adla"


def run_steps(workspace: Any, steps: list[Any]) -> Any:
    run = Experiment(workspace, "aliases").submit(Pipeline(workspace, steps))
    run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False)
    return run


# -- DataFactoryCompute ----------------------------------------------------------------
def test_data_factory_attach_is_local_and_found_again(workspace: Any) -> None:
    adf = DataFactoryCompute.attach(workspace, "adf", ADF_ID)
    assert isinstance(adf, DataFactoryCompute)
    assert "this machine" in repr(adf) and "DataTransferStep" in repr(adf) and "no Azure Data Factory" in repr(adf)
    assert adf.status["runs_on"].startswith("this machine")
    assert adf.status["resource_id"] == ADF_ID and adf.status["step_types"] == ["DataTransferStep"]
    again = ComputeTarget(workspace, "adf")
    assert type(again) is DataFactoryCompute and again.resource_id == ADF_ID
    assert type(DataFactoryCompute(workspace, "adf")) is DataFactoryCompute  # v1: the constructor is a lookup
    listed = workspace.compute_targets
    assert isinstance(listed["adf"], DataFactoryCompute)
    assert [t.name for t in ComputeTarget.list(workspace) if isinstance(t, DataFactoryCompute)] == ["adf"]


def test_data_factory_from_provisioning_and_attach_configurations(workspace: Any) -> None:
    made = ComputeTarget.create(workspace, "adf2", DataFactoryCompute.provisioning_configuration(location="westeurope"))
    made.wait_for_completion(show_output=False)
    assert isinstance(made, DataFactoryCompute) and made.status["location"] == "westeurope"
    attached = ComputeTarget.attach(
        workspace, "adf3", DataFactoryCompute.attach_configuration(resource_group="rg", factory_name="adf")
    )
    assert ComputeTarget(workspace, "adf3").status["factory_name"] == "adf"
    assert attached.provisioning_state == "Succeeded"
    attached.detach()
    with pytest.raises(ComputeTargetException, match="adf3"):
        ComputeTarget(workspace, "adf3")


def test_data_transfer_step_runs_on_data_factory_compute(workspace: Any, tmp_path: Path) -> None:
    store = workspace.get_default_datastore()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text("k,v\n1,2\n", encoding="utf-8")
    store.upload(str(tmp_path / "src"), target_path="raw", show_progress=False)
    archive = Datastore.register_local(workspace, "archive", tmp_path / "archive")
    adf = DataFactoryCompute.attach(workspace, "adf", ADF_ID)
    step = DataTransferStep(
        name="copy",
        source_data_reference=store.path("raw"),
        destination_data_reference=DataReference(archive, "copied", "copies"),
        compute_target=adf,
    )
    run = run_steps(workspace, [step])
    assert run.get_status() == "Finished"
    assert (tmp_path / "archive" / "copies" / "a.csv").read_text(encoding="utf-8") == "k,v\n1,2\n"
    by_name = DataTransferStep(  # the target by name, as v1 notebooks also pass it
        name="copy2",
        source_data_reference=store.path("raw"),
        destination_data_reference=DataReference(archive, "copied2", "copies2"),
        compute_target="adf",
    )
    assert run_steps(workspace, [by_name]).get_status() == "Finished"
    assert (tmp_path / "archive" / "copies2" / "a.csv").exists()


def test_a_script_step_on_data_factory_compute_is_refused(workspace: Any, tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "s.py").write_text("print('hi')\n", encoding="utf-8")
    adf = DataFactoryCompute.attach(workspace, "adf", ADF_ID)
    step = PythonScriptStep("s.py", name="train", source_directory=str(tmp_path / "code"), compute_target=adf)
    with pytest.raises(DefinitionError) as caught:
        Experiment(workspace, "aliases").submit(Pipeline(workspace, [step]))
    message = str(caught.value)
    assert "'train' is a PythonScriptStep" in message and "DataFactoryCompute 'adf'" in message
    assert "runs only DataTransferSteps" in message and "LocalCompute" in message


# -- AdlaCompute -------------------------------------------------------------------------
def test_adla_attach_configuration_and_lookup(workspace: Any) -> None:
    adla = ComputeTarget.attach(
        workspace, "adla", AdlaCompute.attach_configuration(resource_group="rg", account_name="lake")
    )
    assert isinstance(adla, AdlaCompute)
    assert "AdlaSteps" in repr(adla) and "this machine" in repr(adla)
    assert adla.status["account_name"] == "lake" and adla.status["resource_id"] is None
    assert isinstance(workspace.compute_targets["adla"], AdlaCompute)
    by_id = AdlaCompute.attach(workspace, "adla2", ADLA_ID)
    assert AdlaCompute(workspace, "adla2").resource_id == ADLA_ID == by_id.resource_id
    with pytest.raises(DefinitionError, match="fetches an existing target"):
        AdlaCompute(workspace, "adla3", ADLA_ID)


@pytest.mark.sql
def test_adla_step_runs_on_adla_compute_and_a_transfer_is_refused(workspace: Any, tmp_path: Path) -> None:
    store = workspace.get_default_datastore()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "n.csv").write_text("n\n1\n2\n3\n", encoding="utf-8")
    store.upload(str(tmp_path / "data"), target_path="in", show_progress=False)
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "sum.sql").write_text(
        "COPY (SELECT sum(n) AS total FROM nums) TO ($result || '/total.csv') (HEADER);\n", encoding="utf-8"
    )
    adla = AdlaCompute.attach(workspace, "adla", ADLA_ID)
    result = PipelineData("result", datastore=store)
    step = AdlaStep(
        script_name="sum.sql",
        name="sum",
        inputs=[DataReference(store, "nums", "in/n.csv")],
        outputs=[result],
        source_directory=tmp_path / "sql",
        compute_target=adla,
    )
    run = run_steps(workspace, [step])
    assert run.get_status() == "Finished"
    out = run.find_step_run("sum")[0].get_output_data("result")
    assert (store.local_path(out.path_on_datastore) / "total.csv").read_text(encoding="utf-8").split() == [
        "total",
        "6",
    ]
    transfer = DataTransferStep(
        name="copy",
        source_data_reference=store.path("in"),
        destination_data_reference=store.path("out"),
        compute_target="adla",
    )
    with pytest.raises(DefinitionError, match=r"'copy' is a DataTransferStep.*AdlaCompute 'adla'.*runs only AdlaSteps"):
        Experiment(workspace, "aliases").submit(Pipeline(workspace, [transfer]))


# -- AmlCompute as a virtual base of DaskCompute -------------------------------------------
def test_aml_compute_cluster_is_an_aml_compute_and_stays_a_dask_compute(workspace: Any) -> None:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=2)
    cpu = ComputeTarget.create(workspace, "cpu", config)
    assert isinstance(cpu, AmlCompute) and type(cpu) is DaskCompute
    assert isinstance(workspace.compute_targets["cpu"], AmlCompute)
    assert isinstance(ComputeTarget(workspace, "cpu"), AmlCompute)
    fetched = AmlCompute(workspace, "cpu")
    assert type(fetched) is DaskCompute and fetched.name == "cpu"
    assert issubclass(DaskCompute, AmlCompute) and not issubclass(LocalCompute, AmlCompute)
    assert not isinstance(LocalCompute(workspace, "local"), AmlCompute)
    assert not isinstance(DataFactoryCompute.attach(workspace, "adf", ADF_ID), AmlCompute)
    with pytest.raises(ComputeTargetException, match="No compute target 'gpu'"):
        AmlCompute(workspace, "gpu")
