"""PipelineData consumed as a dataset (v1 ``as_dataset()``, ``parse_delimited_files()``, ``parse_parquet_files()``).

The producer writes a folder; the consumer finds it in ``Run.get_context().input_datasets[name]``, as a folder
(``as_dataset()``) or as a table (``parse_*``: ``.to_pandas_dataframe()``). Recorded and rebuilt, it is the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline, PipelineData
from jupyter_amlpipe.core.dataset import PipelineOutputFileDataset, PipelineOutputTabularDataset
from jupyter_amlpipe.core.serialize import pipeline_from_dict, pipeline_to_dict
from jupyter_amlpipe.steps import PythonScriptStep

WRITE = """
import pathlib, sys
out = pathlib.Path(sys.argv[1])
(out / "2024").mkdir(parents=True, exist_ok=True)
(out / "2024" / "a.csv").write_text("id|score\\n1|7\\n2|9\\n")
(out / "b.csv").write_text("id|score\\n3|4\\n")
(out / "notes.txt").write_text("not data\\n")
"""
READ_TABLE = """
import pathlib, sys
from jupyter_amlpipe import Run
frame = Run.get_context().input_datasets[sys.argv[2]].to_pandas_dataframe()
pathlib.Path(sys.argv[1]).write_text(",".join(frame.columns) + "|" + ",".join(str(v) for v in sorted(frame["score"])))
"""
READ_FILES = """
import os, pathlib, sys
from jupyter_amlpipe import Run
folder = pathlib.Path(Run.get_context().input_datasets[sys.argv[2]])
names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
pathlib.Path(sys.argv[1]).write_text(",".join(names) + "|" + str(os.environ.get(sys.argv[2]) == str(folder)))
"""


def _code(tmp_path: Path) -> str:
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    for name, text in {"write": WRITE, "read_table": READ_TABLE, "read_files": READ_FILES}.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return str(folder)


def test_pipeline_data_as_a_file_dataset_and_as_a_delimited_table(workspace: Any, tmp_path: Path) -> None:
    pytest.importorskip("pandas", reason="to_pandas_dataframe needs pandas (extra [pandas])")
    code = _code(tmp_path)
    prepared = PipelineData("prepared", datastore=workspace.get_default_datastore()).as_dataset()
    assert isinstance(prepared, PipelineOutputFileDataset)
    table = prepared.parse_delimited_files(separator="|", file_extension=".csv")
    assert isinstance(table, PipelineOutputTabularDataset)
    files_out, table_out = tmp_path / "files.txt", tmp_path / "table.txt"
    produce = PythonScriptStep(
        "write.py", name="produce", arguments=[prepared], outputs=[prepared], source_directory=code
    )
    as_files = PythonScriptStep(
        "read_files.py",
        name="as_files",
        arguments=[str(files_out), "prepared"],
        inputs=[prepared],
        source_directory=code,
    )
    as_table = PythonScriptStep(
        "read_table.py",
        name="as_table",
        arguments=[str(table_out), "scores"],
        inputs=[table.as_named_input("scores")],
        source_directory=code,
    )
    pipeline = Pipeline(workspace, [as_table, as_files])  # the producer is found through the data
    assert produce in pipeline.steps and sorted(s.name for s in pipeline.steps) == ["as_files", "as_table", "produce"]
    run = Experiment(workspace, "pd-datasets").submit(pipeline)
    run.wait_for_completion(show_output=False, raise_on_error=True)

    assert files_out.read_text() == "2024/a.csv,b.csv,notes.txt|True"  # a folder, and a variable named after it
    assert table_out.read_text() == "id,score|4,7,9"  # only the .csv files, "|"-separated, one table

    doc = json.loads(json.dumps(pipeline_to_dict(pipeline)))
    _, steps, _ = pipeline_from_dict(doc, workspace)
    rebuilt = {s.name: s for s in steps}
    again = rebuilt["as_table"].inputs[0]
    assert isinstance(again, PipelineOutputTabularDataset)
    assert again._dataset_input_name() == "scores" and again._tabular == table._tabular
    assert isinstance(rebuilt["as_files"].inputs[0], PipelineOutputFileDataset)
    assert rebuilt["as_files"].inputs[0]._root() is rebuilt["produce"].outputs[0]


def test_pipeline_data_parsed_as_parquet(workspace: Any, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="parquet needs pyarrow (extra [pandas])")
    code = _code(tmp_path)
    (Path(code) / "write_pq.py").write_text(
        "import pathlib, sys, pandas as pd\n"
        "out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)\n"
        "pd.DataFrame({'score': [5, 1], 'id': [1, 2]}).to_parquet(out / 'p.parquet')\n"
        "(out / 'skip.txt').write_text('x')\n"
    )
    out_text = tmp_path / "pq.txt"
    data = PipelineData("pq")
    parsed = data.parse_parquet_files()
    produce = PythonScriptStep("write_pq.py", name="produce", arguments=[data], outputs=[data], source_directory=code)
    consume = PythonScriptStep(
        "read_table.py",
        name="consume",
        arguments=[str(out_text), "pq", parsed],
        inputs=[parsed],
        source_directory=code,
    )
    run = Experiment(workspace, "pd-datasets").submit(Pipeline(workspace, [consume, produce]))
    run.wait_for_completion(show_output=False, raise_on_error=True)
    assert out_text.read_text() == "score,id|1,5"
