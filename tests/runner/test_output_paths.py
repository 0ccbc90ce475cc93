"""An output's path is made by its step, as in Azure ML v1: a file or a folder, published either way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, OutputFileDatasetConfig, Pipeline, PipelineData
from jupyter_amlpipe.core.serialize import pipeline_from_dict, pipeline_to_dict
from jupyter_amlpipe.steps import PythonScriptStep

# v1's "moving data between steps" example: the producer writes one file at the output's path ...
WRITE_FILE = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--output_path", dest="output_path", required=True)
args = parser.parse_args()
os.makedirs(os.path.dirname(args.output_path), exist_ok=True)
with open(args.output_path, "w") as f:
    f.write("Step 1's output")
"""
# ... and the consumer opens the path it is given as that file.
READ_FILE = """
import argparse, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--pd", dest="pd", required=True)
parser.add_argument("--result", required=True)
args = parser.parse_args()
with open(args.pd) as f:
    pathlib.Path(args.result).write_text(f.read())
"""
WRITE_INTO = """
import pathlib, sys
(pathlib.Path(sys.argv[1]) / "data.csv").write_text("a\\n1\\n")
"""


def _code(tmp_path: Path, **scripts: str) -> str:
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    for name, text in scripts.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return str(folder)


def _submit(workspace: Any, steps: list[Any]) -> Any:
    run = Experiment(workspace, "outputs").submit(Pipeline(workspace, steps))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    return run


@pytest.mark.parametrize("kind", ["PipelineData", "OutputFileDatasetConfig"])
def test_a_step_writes_one_file_at_its_output_path(workspace: Any, tmp_path: Path, kind: str) -> None:
    code = _code(tmp_path, write=WRITE_FILE, read=READ_FILE)
    out = PipelineData("step1_output") if kind == "PipelineData" else OutputFileDatasetConfig("step1_output")
    step1 = PythonScriptStep(
        "write.py", name="step1", arguments=["--output_path", out], outputs=[out], source_directory=code
    )
    result = tmp_path / "result.txt"
    data = out.as_input() if kind == "OutputFileDatasetConfig" else out
    step2 = PythonScriptStep(
        "read.py", name="step2", arguments=["--pd", data, "--result", str(result)], inputs=[data], source_directory=code
    )
    run = _submit(workspace, [step1, step2])
    assert run.get_status() == "Finished", [s.get_details().get("error") for s in run.get_steps()]
    assert result.read_text() == "Step 1's output"
    port = run.find_step_run("step1")[0].get_output_data("step1_output")
    port.download(str(tmp_path / "down"))
    assert [p.read_text() for p in (tmp_path / "down").rglob("step1_output")] == ["Step 1's output"]


def test_writing_into_an_output_folder_that_was_not_made_fails_with_the_fix(workspace: Any, tmp_path: Path) -> None:
    code = _code(tmp_path, write_into=WRITE_INTO)
    out = PipelineData("table")
    step = PythonScriptStep("write_into.py", arguments=[out], outputs=[out], source_directory=code)
    run = _submit(workspace, [step])
    assert run.get_status() == "Failed"
    error = next(iter(run.get_steps())).get_details()["error"]["error"]["message"]
    assert "Output 'table' is a path the step creates" in error and "os.makedirs(path, exist_ok=True)" in error
    assert "PipelineData('table', is_directory=True)" in error

    folder = PipelineData("table", is_directory=True)  # declared a folder: made before the step starts
    step = PythonScriptStep("write_into.py", arguments=[folder], outputs=[folder], source_directory=code)
    assert _submit(workspace, [step]).get_status() == "Finished"


def test_pipelines_recorded_before_keep_their_output_folders(workspace: Any, tmp_path: Path) -> None:
    """A published pipeline or a run recorded by an earlier version was written for folders made first."""
    code = _code(tmp_path, write_into=WRITE_INTO)
    out = PipelineData("table")
    step = PythonScriptStep("write_into.py", name="old", arguments=[out], outputs=[out], source_directory=code)
    doc = json.loads(json.dumps(pipeline_to_dict(Pipeline(workspace, [step]))))
    for record in doc["data"].values():
        del record["made_by_step"]  # as an earlier version recorded it
    _, steps, _ = pipeline_from_dict(doc, workspace)
    run = _submit(workspace, list(steps))
    assert run.get_status() == "Finished", [s.get_details().get("error") for s in run.get_steps()]


def test_an_output_written_as_one_csv_file_reads_as_a_table(workspace: Any, tmp_path: Path) -> None:
    pytest.importorskip("pandas", reason="to_pandas_dataframe needs pandas (extra [pandas])")
    write = WRITE_FILE.replace('f.write("Step 1\'s output")', 'f.write("x,y\\n1,2\\n3,4\\n")')
    read = (
        "import pathlib, sys\nfrom jupyter_amlpipe import Run\n"
        "frame = Run.get_context().input_datasets['t'].to_pandas_dataframe()\n"
        "pathlib.Path(sys.argv[1]).write_text(str(int(frame['y'].sum())))\n"
    )
    code = _code(tmp_path, write=write, read_table=read)
    out = OutputFileDatasetConfig("t")
    table = out.read_delimited_files(path_glob="*.csv").register_on_complete("one_file_table")
    result = tmp_path / "sum.txt"
    step1 = PythonScriptStep("write.py", name="w", arguments=["--output_path", out], source_directory=code)
    step2 = PythonScriptStep("read_table.py", name="r", arguments=[str(result)], inputs=[table], source_directory=code)
    run = _submit(workspace, [step1, step2])
    assert run.get_status() == "Finished", [s.get_details().get("error") for s in run.get_steps()]
    assert result.read_text() == "6"
    from jupyter_amlpipe import Dataset

    assert int(Dataset.get_by_name(workspace, "one_file_table").to_pandas_dataframe()["y"].sum()) == 6
