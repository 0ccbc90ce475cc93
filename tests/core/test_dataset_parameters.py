"""A dataset as a pipeline parameter (v1 "showcasing-dataset-and-pipelineparameter", how-to-deploy-pipelines).

``PipelineParameter(name="tabular_ds_param", default_value=tabular_dataset)`` with
``DatasetConsumptionConfig("tabular_dataset", tabular_ds_param)`` in a step's inputs: the default is read;
``pipeline_parameters={"tabular_ds_param": other}`` swaps it at submit; a published pipeline's REST body
``"DataSetDefinitionValueAssignments": {"tabular_ds_param": {"SavedDataSetReference": {"Id": ...}}}`` swaps it too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Dataset, Experiment, Pipeline, PipelineParameter
from jupyter_amlpipe.core.dataset import DatasetConsumptionConfig
from jupyter_amlpipe.core.serialize import pipeline_from_dict, pipeline_to_dict
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.publish.service import PublishService
from jupyter_amlpipe.steps import PythonScriptStep

SUM = """
import os, pathlib, sys
from jupyter_amlpipe import Run
frame = Run.get_context().input_datasets["tabular_dataset"].to_pandas_dataframe()
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
(out / "sum.txt").write_text(str(int(frame["score"].sum())) + " " + str(os.path.isdir(os.environ["tabular_dataset"])))
"""


@pytest.fixture
def datasets(workspace: Any) -> tuple[Any, Any]:
    store = workspace.get_default_datastore()
    for rel, text in {"small/a.csv": "id,score\n1,2\n2,3\n", "large/b.csv": "id,score\n1,100\n2,200\n3,300\n"}.items():
        (store.local_path() / rel).parent.mkdir(parents=True, exist_ok=True)
        (store.local_path() / rel).write_text(text)
    small = Dataset.Tabular.from_delimited_files(path=(store, "small/*.csv")).register(workspace, "small")
    large = Dataset.Tabular.from_delimited_files(path=(store, "large/*.csv")).register(workspace, "large")
    return small, large


def _pipeline(workspace: Any, tmp_path: Path, default: Any) -> Pipeline:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "sum.py").write_text(SUM)
    from jupyter_amlpipe import OutputFileDatasetConfig

    param = PipelineParameter(name="tabular_ds_param", default_value=default)
    step = PythonScriptStep(
        "sum.py",
        name="sum",
        arguments=[OutputFileDatasetConfig("total")],
        inputs=[DatasetConsumptionConfig("tabular_dataset", param)],
        source_directory=str(code),
    )
    return Pipeline(workspace, [step])


def _total(run: Any) -> str:
    run.wait_for_completion(show_output=False, raise_on_error=True)
    out = run.find_step_run("sum")[0].get_output_data("total")
    return (Path(out.datastore.local_path(out.path_on_datastore)) / "sum.txt").read_text()


def test_default_then_another_dataset_at_submit(workspace: Any, datasets: tuple[Any, Any], tmp_path: Path) -> None:
    pytest.importorskip("pandas", reason="to_pandas_dataframe needs pandas (extra [pandas])")
    small, large = datasets
    pipeline = _pipeline(workspace, tmp_path, small)
    assert list(pipeline.parameters()) == ["tabular_ds_param"]
    first = Experiment(workspace, "ds-param").submit(pipeline)
    assert _total(first) == "5 True"  # the default dataset; its name is also a variable holding its folder
    second = Experiment(workspace, "ds-param").submit(pipeline, pipeline_parameters={"tabular_ds_param": large})
    assert _total(second) == "600 True"
    reasons = second.find_step_run("sum")[0].get_reuse_info()["reasons"]
    assert any("tabular_ds_param" in r for r in reasons) and any("input tabular_dataset" in r for r in reasons)
    third = Experiment(workspace, "ds-param").submit(pipeline, pipeline_parameters={"tabular_ds_param": small})
    assert _total(third) == "5 True" and third.find_step_run("sum")[0].get_reuse_info()["reused"] is True

    with pytest.raises(DefinitionError, match="takes a dataset"):
        pipeline.resolve_parameters({"tabular_ds_param": "small"})
    recorded = second.get_details()["properties"]["amlpipe.parameters"]["tabular_ds_param"]
    assert recorded["dataset"] == "large" and recorded["id"] == large.id

    doc = json.loads(json.dumps(pipeline_to_dict(pipeline)))  # recorded by definition, name, version and id
    assert doc["parameters"]["tabular_ds_param"]["$datasetdef"]["id"] == small.id
    rebuilt, _steps, _ = pipeline_from_dict(doc, workspace)
    default = rebuilt.parameters()["tabular_ds_param"].default_value
    assert (default.name, default.version, default._spec()) == ("small", 1, small._spec())
    assert pipeline_to_dict(rebuilt) == doc


def test_a_rest_body_swaps_the_dataset_of_a_published_pipeline(
    workspace: Any, datasets: tuple[Any, Any], tmp_path: Path
) -> None:
    pytest.importorskip("pandas", reason="to_pandas_dataframe needs pandas (extra [pandas])")
    small, large = datasets
    published = _pipeline(workspace, tmp_path, small).publish(name="summer")
    service = PublishService(workspace)  # what `amlpipe serve` calls for POST /pipelines/v1/published/{id}
    assignments = [
        ({"tabular_ds_param": {"SavedDataSetReference": {"Id": large.id}}}, "600 True"),  # v1's shape
        ({"tabular_ds_param": {"SavedDataSetReference": {"Name": "small", "Version": "1"}}}, "5 True"),
        (None, "5 True"),  # no assignment: the published default
    ]
    for datasets_body, expected in assignments:
        body: dict[str, Any] = {"ExperimentName": "ds-rest"}
        if datasets_body is not None:
            body["DataSetDefinitionValueAssignments"] = datasets_body
        run_id = service.submit_published(published.id, json.loads(json.dumps(body)))
        assert service.start_queued(1) == [run_id]
        assert _total(workspace.get_run(run_id)) == expected

    with pytest.raises(DefinitionError, match="No dataset with id 'nope'"):
        service.submit_published(
            published.id,
            {"ExperimentName": "x", "DataSetDefinitionValueAssignments": {"tabular_ds_param": {"Id": "nope"}}},
        )
    with pytest.raises(DefinitionError, match="not a parameter of this pipeline"):
        service.submit_published(
            published.id,
            {"ExperimentName": "x", "DataSetDefinitionValueAssignments": {"tabular_ds_parm": {"Id": large.id}}},
        )
    with pytest.raises(DefinitionError, match="DataSetDefinitionValueAssignments"):
        service.submit_published(
            published.id, {"ExperimentName": "x", "ParameterAssignments": {"tabular_ds_param": large.id}}
        )


def test_a_non_dataset_default_is_refused_for_a_dataset_input() -> None:
    with pytest.raises(DefinitionError, match="not a dataset"):
        DatasetConsumptionConfig("tabular_dataset", PipelineParameter("p", default_value="x"))


COUNT_ROWS = """
import pathlib, sys
folder = pathlib.Path(sys.argv[1])  # a dataset parameter alone in arguments: the dataset's folder
rows = sum(len(p.read_text().splitlines()) - 1 for p in folder.rglob("*.csv"))
out = pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
(out / "rows.txt").write_text(str(rows))
"""


def test_a_dataset_parameter_alone_in_arguments_is_reused_only_while_its_files_are_unchanged(
    workspace: Any, datasets: tuple[Any, Any], tmp_path: Path
) -> None:
    from jupyter_amlpipe import OutputFileDatasetConfig

    small, _ = datasets
    code = tmp_path / "code"
    code.mkdir()
    (code / "count.py").write_text(COUNT_ROWS)
    param = PipelineParameter(name="ds", default_value=small)
    step = PythonScriptStep(
        "count.py", name="count", arguments=[param, OutputFileDatasetConfig("rows")], source_directory=str(code)
    )
    pipeline = Pipeline(workspace, [step])

    def rows(run: Any) -> str:
        run.wait_for_completion(show_output=False, raise_on_error=True)
        out = run.find_step_run("count")[0].get_output_data("rows")
        return (Path(out.datastore.local_path(out.path_on_datastore)) / "rows.txt").read_text()

    assert rows(Experiment(workspace, "alone").submit(pipeline)) == "2"
    again = Experiment(workspace, "alone").submit(pipeline)
    assert rows(again) == "2" and again.find_step_run("count")[0].get_reuse_info()["reused"] is True
    store = workspace.get_default_datastore()
    (store.local_path() / "small" / "a.csv").write_text("id,score\n1,2\n2,3\n3,4\n")  # the dataset's file changed
    changed = Experiment(workspace, "alone").submit(pipeline)
    assert rows(changed) == "3" and changed.find_step_run("count")[0].get_reuse_info()["reused"] is False
