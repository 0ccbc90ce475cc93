"""Datasets end to end: File and Tabular datasets, registration with versions, datasets as step inputs,
OutputFileDatasetConfig outputs registered on complete, and Run.get_context().input_datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Dataset, Experiment, OutputFileDatasetConfig, Pipeline
from jupyter_amlpipe.core.serialize import pipeline_from_dict, pipeline_to_dict
from jupyter_amlpipe.errors import DefinitionError, LookupFailed
from jupyter_amlpipe.steps import PythonScriptStep

CONSUME = """
import argparse, json, pathlib
from jupyter_amlpipe import Run
p = argparse.ArgumentParser()
p.add_argument("--data")
p.add_argument("--out")
a = p.parse_args()
run = Run.get_context()
folder = pathlib.Path(run.input_datasets["reviews"])
assert folder == pathlib.Path(a.data), (folder, a.data)
names = sorted(str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file())
out = pathlib.Path(a.out)
out.mkdir(parents=True, exist_ok=True)
(out / "names.json").write_text(json.dumps(names))
(out / "total.txt").write_text(str(sum(len(f.read_text().splitlines()) for f in folder.rglob("*.csv"))))
"""

READ_OUTPUT = """
import pathlib, sys
from jupyter_amlpipe import Run
folder = pathlib.Path(Run.get_context().input_datasets["counted"])
pathlib.Path(sys.argv[1]).write_text((folder / "total.txt").read_text())
"""


@pytest.fixture
def data(workspace: Any) -> Any:
    store = workspace.get_default_datastore()
    root = store.local_path()
    for rel, text in {
        "reviews/2024/a.csv": "id,score\n1,5\n2,3\n",
        "reviews/2025/b.csv": "id,score\n3,4\n",
        "reviews/notes.txt": "not a csv\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return store


def _code(tmp_path: Path, name: str, text: str) -> str:
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return str(folder)


def test_file_dataset_matches_globs_and_downloads(data: Any, tmp_path: Path) -> None:
    csvs = Dataset.File.from_files(path=(data, "reviews/**/*.csv"))
    assert csvs.to_path() == ["/2024/a.csv", "/2025/b.csv"]
    everything = Dataset.File.from_files(path=[(data, "reviews")])
    assert everything.to_path() == ["/2024/a.csv", "/2025/b.csv", "/notes.txt"]
    local = csvs.download(tmp_path / "down")
    assert [Path(p).read_text().splitlines()[1] for p in local] == ["1,5", "3,4"]
    with pytest.raises(LookupFailed, match="matches no file"):
        Dataset.File.from_files(path=(data, "reviews/*.parquet"))
    with pytest.raises(DefinitionError, match=r"\(datastore, 'path or glob'\)"):
        Dataset.File.from_files(path="reviews/*.csv")


def test_tabular_dataset_reads_all_files_into_one_dataframe(data: Any) -> None:
    pytest.importorskip("pandas", reason="TabularDataset.to_pandas_dataframe needs pandas (extra [pandas])")
    table = Dataset.Tabular.from_delimited_files(path=(data, "reviews/*/*.csv"), include_path=True)
    frame = table.to_pandas_dataframe()
    assert list(frame.columns) == ["Path", "id", "score"]
    assert frame["score"].tolist() == [5, 3, 4]
    assert frame["Path"].tolist() == ["/2024/a.csv", "/2024/a.csv", "/2025/b.csv"]
    semi = data.local_path() / "semi" / "x.csv"
    semi.parent.mkdir()
    semi.write_text("1;2\n3;4\n")
    raw = Dataset.Tabular.from_delimited_files(path=(data, "semi/x.csv"), separator=";", header=False)
    assert raw.to_pandas_dataframe().values.tolist() == [[1, 2], [3, 4]]


def test_register_versions_and_get_by_name(workspace: Any, data: Any) -> None:
    first = Dataset.File.from_files((data, "reviews/2024")).register(workspace, "reviews", description="d1")
    assert (first.name, first.version, first.description) == ("reviews", 1, "d1")
    same = Dataset.File.from_files((data, "reviews/2024")).register(workspace, "reviews")
    assert same.version == 1 and same.id == first.id
    other = Dataset.File.from_files((data, "reviews"))
    with pytest.raises(DefinitionError, match="create_new_version=True"):
        other.register(workspace, "reviews")
    second = other.register(workspace, "reviews", tags={"k": "v"}, create_new_version=True)
    assert second.version == 2 and second.tags == {"k": "v"}
    assert Dataset.get_by_name(workspace, "reviews").version == 2
    assert Dataset.get_by_name(workspace, "reviews", version=1).to_path() == ["/a.csv"]
    assert Dataset.get_by_id(workspace, first.id).version == 1
    assert list(workspace.datasets) == ["reviews"]
    with pytest.raises(LookupFailed, match="Did you mean 'reviews'"):
        Dataset.get_by_name(workspace, "review")
    with pytest.raises(LookupFailed, match="no version '7'"):
        Dataset.get_by_name(workspace, "reviews", version="7")


@pytest.mark.parametrize("mode", ["mount", "download"])
def test_pipeline_with_dataset_input_and_output_registered_on_complete(
    workspace: Any, data: Any, tmp_path: Path, mode: str
) -> None:
    reviews = Dataset.File.from_files((data, "reviews/**/*.csv")).register(workspace, "reviews")
    named = reviews.as_named_input("reviews")
    source = named.as_mount() if mode == "mount" else named.as_download()
    counted = OutputFileDatasetConfig("counted", destination=(data, "counts/{run-id}")).register_on_complete(
        "review_counts", description="lines per run"
    )
    code = _code(tmp_path, "consume.py", CONSUME)
    _code(tmp_path, "read.py", READ_OUTPUT)
    count = PythonScriptStep(
        "consume.py", name="count", arguments=["--data", source, "--out", counted], source_directory=code
    )
    result = tmp_path / "result.txt"
    read = PythonScriptStep(
        "read.py", name="read", arguments=[str(result)], inputs=[counted.as_input("counted")], source_directory=code
    )
    pipeline = Pipeline(workspace, [read, count])  # the consumer first: data decides the order
    run = Experiment(workspace, "datasets").submit(pipeline)
    run.wait_for_completion(show_output=False, raise_on_error=True)
    assert result.read_text() == "5"  # 2 + 1 data lines + 2 headers
    step = run.find_step_run("count")[0]
    registered = Dataset.get_by_name(workspace, "review_counts")
    assert registered.description == "lines per run"
    assert registered._paths == [{"datastore": data.name, "path": f"counts/{step.id}"}]
    assert sorted(registered.to_path()) == ["/names.json", "/total.txt"]
    names = json.loads((data.local_path() / "counts" / step.id / "names.json").read_text())
    assert names == ["2024/a.csv", "2025/b.csv"]

    again = Experiment(workspace, "datasets").submit(pipeline)  # unchanged dataset content: reused
    again.wait_for_completion(show_output=False, raise_on_error=True)
    assert again.find_step_run("count")[0].get_reuse_info()["reused_from"] == step.id
    (data.local_path() / "reviews" / "2025" / "b.csv").write_text("id,score\n3,4\n4,1\n")
    third = Experiment(workspace, "datasets").submit(pipeline)  # a file of the dataset changed: runs again
    third.wait_for_completion(show_output=False, raise_on_error=True)
    assert not third.find_step_run("count")[0].get_reuse_info().get("reused_from")
    assert result.read_text() == "6"
    assert Dataset.get_by_name(workspace, "review_counts").version == 2


def test_pipeline_with_datasets_survives_recording(workspace: Any, data: Any, tmp_path: Path) -> None:
    """Runs record their pipeline (to resume and publish it): datasets and dataset outputs come back."""
    table = Dataset.Tabular.from_delimited_files((data, "reviews/*/*.csv"))
    out = OutputFileDatasetConfig("out", destination=(data, "o/{run-id}/{output-name}")).register_on_complete("o")
    code = _code(tmp_path, "consume.py", CONSUME)
    step = PythonScriptStep(
        "consume.py",
        name="count",
        arguments=["--data", table.as_named_input("reviews").as_download(), "--out", out],
        source_directory=code,
    )
    doc = json.loads(json.dumps(pipeline_to_dict(Pipeline(workspace, [step]))))
    _, (rebuilt,), _ = pipeline_from_dict(doc, workspace)
    dataset_input, output = rebuilt.arguments[1], rebuilt.arguments[3]
    assert (dataset_input.name, dataset_input.mode) == ("reviews", "download")
    assert dataset_input.dataset._spec() == table._spec()
    assert isinstance(output, OutputFileDatasetConfig)
    assert output._location("r1") == "o/r1/out" and output._register["name"] == "o"


def test_input_datasets_is_empty_outside_a_pipeline() -> None:
    from jupyter_amlpipe import Run

    assert Run.get_context().input_datasets == {}


READ_TABLE = """
import os, sys
from jupyter_amlpipe import Run
table = Run.get_context().input_datasets["scores"]  # v1: a TabularDataset input reads as a DataFrame
frame = table.to_pandas_dataframe()
open(sys.argv[1], "w").write(",".join(str(v) for v in sorted(frame["score"].tolist())) + "|" + str(os.path.isdir(table)))
"""


def test_a_tabular_input_reads_as_a_dataframe_inside_the_step(workspace: Any, data: Any, tmp_path: Path) -> None:
    pytest.importorskip("pandas", reason="TabularDataset.to_pandas_dataframe needs pandas (extra [pandas])")
    semi = data.local_path() / "semi"
    semi.mkdir()
    (semi / "x.csv").write_text("id;score\n1;7\n2;9\n")
    table = Dataset.Tabular.from_delimited_files(path=(data, "semi/*.csv"), separator=";").register(workspace, "t")
    result = tmp_path / "result.txt"
    code = _code(tmp_path, "read_table.py", READ_TABLE)
    step = PythonScriptStep(
        "read_table.py",
        arguments=[str(result)],
        inputs=[table.as_named_input("scores")],
        source_directory=code,
    )
    run = Experiment(workspace, "tabular").submit(Pipeline(workspace, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=True)
    values, is_folder = result.read_text().split("|")
    assert values == "7,9"  # read with the dataset's separator
    assert is_folder == "True"  # still the folder's path, as a string


def test_a_dataset_output_handed_on_in_arguments_only_needs_no_listing(workspace: Any, tmp_path: Path) -> None:
    """v1's documented pattern: ``arguments=[out]`` for the producer, ``arguments=[out.as_input()]`` for the consumer."""
    import warnings

    out = OutputFileDatasetConfig("processed")
    code = _code(tmp_path, "s.py", "print('hi')\n")
    produce = PythonScriptStep("s.py", name="produce", arguments=["--out", out], source_directory=code)
    consume = PythonScriptStep("s.py", name="consume", arguments=["--in", out.as_input()], source_directory=code)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipeline = Pipeline(workspace, [consume, produce])
        pipeline.validate()
    steps = pipeline.steps
    assert [steps[i].name for i in pipeline.graph.order()] == ["produce", "consume"]


WRITE_TABLES = """
import pathlib, sys
out = pathlib.Path(sys.argv[1])
(out / "part").mkdir(parents=True, exist_ok=True)
(out / "part" / "a.csv").write_text("id;score;note\\n1;7;x\\n2;9;y\\n")
(out / "b.csv").write_text("id;score;note\\n3;4;z\\n")
(out / "README.txt").write_text("not data\\n")
"""

READ_SCORES = """
import sys
from jupyter_amlpipe import Run
frame = Run.get_context().input_datasets[sys.argv[2]].to_pandas_dataframe()
open(sys.argv[1], "w").write(";".join(frame.columns) + "|" + ",".join(str(v) for v in sorted(frame["score"])))
"""


def test_an_output_read_as_delimited_files_is_a_table_for_its_consumer(
    workspace: Any, data: Any, tmp_path: Path
) -> None:
    """v1: ``out.read_delimited_files(...)`` hands the next step a TabularDataset, registered on complete."""
    pytest.importorskip("pandas", reason="to_pandas_dataframe needs pandas (extra [pandas])")
    from jupyter_amlpipe import OutputTabularDatasetConfig

    out = OutputFileDatasetConfig("scored", destination=(data, "scored/{run-id}"))
    table = out.read_delimited_files(separator=";", path_glob="*.csv").drop_columns("note")
    assert isinstance(table, OutputTabularDatasetConfig)
    table = table.register_on_complete("scored_table")
    code = _code(tmp_path, "write.py", WRITE_TABLES)
    _code(tmp_path, "read.py", READ_SCORES)
    result = tmp_path / "result.txt"
    produce = PythonScriptStep("write.py", name="produce", arguments=[out], source_directory=code)
    consume = PythonScriptStep(
        "read.py",
        name="consume",
        arguments=[str(result), "scores"],
        inputs=[table.as_input("scores")],
        source_directory=code,
    )
    pipeline = Pipeline(workspace, [consume, produce])
    run = Experiment(workspace, "tables").submit(pipeline)
    run.wait_for_completion(show_output=False, raise_on_error=True)

    assert result.read_text() == "id;score|4,7,9"  # both CSV files, README.txt left out, note dropped
    registered = Dataset.get_by_name(workspace, "scored_table")
    assert type(registered).__name__ == "TabularDataset"
    assert sorted(registered.to_pandas_dataframe()["score"]) == [4, 7, 9]
    step = run.find_step_run("produce")[0]
    assert registered._paths == [{"datastore": data.name, "path": f"scored/{step.id}/**/*.csv"}]

    doc = json.loads(json.dumps(pipeline_to_dict(pipeline)))  # recorded runs and published pipelines keep it
    _, steps, _ = pipeline_from_dict(doc, workspace)
    rebuilt = next(s for s in steps if s.name == "consume").inputs[0]
    assert isinstance(rebuilt, OutputTabularDatasetConfig)
    assert rebuilt._input_name == "scores" and rebuilt._tabular == table._tabular


def test_an_output_read_as_parquet_files_is_a_table_for_its_consumer(workspace: Any, data: Any, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="parquet needs pyarrow (extra [pandas])")
    out = OutputFileDatasetConfig("pq")
    write = (
        "import sys, pathlib, pandas as pd\n"
        "pathlib.Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)\n"
        "pd.DataFrame({'score': [5, 1], 'id': [1, 2]}).to_parquet(pathlib.Path(sys.argv[1]) / 'p.parquet')\n"
    )
    code = _code(tmp_path, "write_pq.py", write)
    _code(tmp_path, "read.py", READ_SCORES)
    result = tmp_path / "result.txt"
    produce = PythonScriptStep("write_pq.py", name="produce", arguments=[out], source_directory=code)
    table = out.read_parquet_files().keep_columns(["score"])
    consume = PythonScriptStep("read.py", name="consume", arguments=[str(result), "pq", table], source_directory=code)
    run = Experiment(workspace, "tables").submit(Pipeline(workspace, [consume, produce]))
    run.wait_for_completion(show_output=False, raise_on_error=True)
    assert result.read_text() == "score|1,5"


def test_tabular_dataset_from_parquet_files_and_a_wrong_column(workspace: Any, data: Any) -> None:
    pd = pytest.importorskip("pandas", reason="needs pandas (extra [pandas])")
    pytest.importorskip("pyarrow", reason="parquet needs pyarrow (extra [pandas])")
    folder = data.local_path() / "pq"
    folder.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(folder / "one.parquet")
    pd.DataFrame({"a": [3]}).to_parquet(folder / "two.parquet")
    dataset = Dataset.Tabular.from_parquet_files((data, "pq/*.parquet"), include_path=True)
    frame = dataset.to_pandas_dataframe()
    assert sorted(frame["a"]) == [1, 2, 3] and set(frame["Path"]) == {"/one.parquet", "/two.parquet"}

    out = OutputFileDatasetConfig("x").read_delimited_files().keep_columns(["nope"])
    from jupyter_amlpipe.workspace.dataset_files import read_delimited_folder

    (folder / "t.csv").write_text("a\n1\n")
    with pytest.raises(LookupFailed, match=r"keep_columns names column\(s\) \['nope'\].*it has \['a'\]"):
        read_delimited_folder(folder, {**out._tabular, "path_glob": "*.csv"}, "input 'x'")


def test_a_bare_datastore_as_destination_gets_the_default_path(workspace: Any, data: Any) -> None:
    """v1: ``OutputFileDatasetConfig(name="training_results", destination=def_blob_store)``."""
    out = OutputFileDatasetConfig("training_results", destination=data)
    assert out.datastore is data
    assert out._location("r7") == "dataset/r7/training_results"
