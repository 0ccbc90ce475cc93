"""Unnamed ``OutputFileDatasetConfig()`` outputs get deterministic names, and dataset names become variables.

v1 (how-to-move-data): ``dataprep_output = OutputFileDatasetConfig()`` passed in ``arguments`` gets a
generated name. Here it is ``<step>_output`` (``<step>_output_2`` for a step's second unnamed output), decided
when the pipeline is built, so an identical pipeline built again has the same names and is reused.
v1 also says an OutputFileDatasetConfig's name "will also become an environment variable which contains the
local path": so does a dataset input's name (``as_named_input(name)``), unless it is a variable the step
already has (PATH, HOME...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_amlpipe import Dataset, Experiment, OutputFileDatasetConfig, Pipeline
from jupyter_amlpipe.core.serialize import pipeline_from_dict, pipeline_to_dict
from jupyter_amlpipe.steps import PythonScriptStep

WRITE_TWO = """
import pathlib, sys
for where, text in ((sys.argv[1], "first"), (sys.argv[2], "second")):
    pathlib.Path(where).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(where) / "part.txt").write_text(text)
"""
READ_TWO = """
import pathlib, sys
a, b, result = sys.argv[1:4]
pathlib.Path(result).write_text((pathlib.Path(a) / "part.txt").read_text() + "+" + (pathlib.Path(b) / "part.txt").read_text())
"""
SHOW_ENV = """
import json, os, pathlib, sys
names = sys.argv[2:]
pathlib.Path(sys.argv[1]).write_text(json.dumps({n: os.environ.get(n) for n in names}))
for name in names:
    if name.startswith("AZUREML_") or name in ("PATH", "HOME"):
        continue
    if name == "features":  # an output: write through the variable
        pathlib.Path(os.environ[name]).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(os.environ[name]) / "f.txt").write_text("via env")
"""


def _code(tmp_path: Path, **scripts: str) -> str:
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    for name, text in scripts.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return str(folder)


def _two_unnamed(code: str, result: Path) -> Pipeline:
    """The pipeline a script or a re-executed cell builds from scratch each time."""
    first, second = OutputFileDatasetConfig(), OutputFileDatasetConfig()
    write = PythonScriptStep("write.py", name="write data", arguments=[first, second], source_directory=code)
    read = PythonScriptStep(
        "read.py",
        name="read",
        arguments=[first.as_input(), second.as_input(), str(result)],
        source_directory=code,
    )
    return Pipeline(None, [read, write])


def test_two_unnamed_outputs_get_distinct_stable_names_and_are_reused(workspace: Any, tmp_path: Path) -> None:
    code = _code(tmp_path, write=WRITE_TWO, read=READ_TWO)
    result = tmp_path / "result.txt"
    pipeline = _two_unnamed(code, result)
    pipeline._workspace = workspace
    assert pipeline.validate() == []  # before: "two different data links are both named 'output'"
    write = next(s for s in pipeline.steps if s.name == "write data")
    assert [o.name for o in write.outputs] == ["write_data_output", "write_data_output_2"]

    first = Experiment(workspace, "unnamed").submit(pipeline)
    first.wait_for_completion(show_output=False, raise_on_error=True)
    assert result.read_text() == "first+second"
    step = first.find_step_run("write data")[0]
    assert sorted(step.get_outputs()) == ["write_data_output", "write_data_output_2"]
    got = step.get_output_data("write_data_output_2").download(str(tmp_path / "dl"))
    assert Path(got, "part.txt").read_text() == "second"
    staged = Path(workspace.get_default_datastore().local_path(), "dataset", step.id, "write_data_output_2")
    assert (staged / "part.txt").read_text() == "second"  # the default destination uses the final name

    # recorded (resume, publish) with the final names; rebuilt, the names do not change
    doc = json.loads(json.dumps(pipeline_to_dict(pipeline)))
    assert sorted(d["name"] for d in doc["data"].values()) == ["write_data_output", "write_data_output_2"]
    rebuilt, _, _ = pipeline_from_dict(doc, workspace)
    assert pipeline_to_dict(rebuilt) == doc

    result.unlink()
    again = _two_unnamed(code, result)  # the same definition, every object new
    again._workspace = workspace
    second = Experiment(workspace, "unnamed").submit(again)
    second.wait_for_completion(show_output=False, raise_on_error=True)
    reuse = {s.name: s.get_reuse_info()["reused"] for s in second.get_steps()}
    assert reuse == {"write data": True, "read": True}


def test_one_unnamed_output_answers_to_output_too(workspace: Any, tmp_path: Path) -> None:
    code = _code(tmp_path, write="import pathlib, sys\npathlib.Path(sys.argv[1]).write_text('x')\n")
    out = OutputFileDatasetConfig()
    step = PythonScriptStep("write.py", name="prep", arguments=[out], source_directory=code)
    run = Experiment(workspace, "unnamed").submit(Pipeline(workspace, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=True)
    assert out.name == "prep_output"
    step_run = run.find_step_run("prep")[0]
    assert (
        step_run.get_output_data("output").path_on_datastore
        == step_run.get_output_data("prep_output").path_on_datastore
    )


def test_a_name_taken_by_other_data_is_skipped(workspace: Any, tmp_path: Path) -> None:
    code = _code(tmp_path, write="print(1)\n")
    named = OutputFileDatasetConfig("prep_output")
    unnamed = OutputFileDatasetConfig()
    step = PythonScriptStep("write.py", name="prep", arguments=[named, unnamed], source_directory=code)
    Pipeline(workspace, [step]).validate()
    assert (named.name, unnamed.name) == ("prep_output", "prep_output_2")


def test_dataset_names_are_environment_variables_unless_they_clobber_one(workspace: Any, tmp_path: Path) -> None:
    store = workspace.get_default_datastore()
    (store.local_path() / "raw").mkdir(parents=True)
    (store.local_path() / "raw" / "a.csv").write_text("a\n1\n")
    raw = Dataset.File.from_files(path=(store, "raw"))
    code = _code(tmp_path, show=SHOW_ENV)
    seen = tmp_path / "env.json"
    features = OutputFileDatasetConfig("features")
    names = ["raw_files", "PATH", "features", "AZUREML_DATAREFERENCE_features", "AZUREML_DATAREFERENCE_PATH"]
    step = PythonScriptStep(
        "show.py",
        name="show",
        arguments=[str(seen), *names, features],
        inputs=[raw.as_named_input("raw_files"), raw.as_named_input("PATH")],
        source_directory=code,
    )
    run = Experiment(workspace, "env").submit(Pipeline(workspace, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=True)
    env = json.loads(seen.read_text())
    assert Path(env["raw_files"], "a.csv").read_text() == "a\n1\n"  # a dataset input's name holds its path
    assert env["PATH"] != env["AZUREML_DATAREFERENCE_PATH"] and "a.csv" not in env["PATH"]  # PATH is kept
    assert Path(env["AZUREML_DATAREFERENCE_PATH"], "a.csv").exists()
    assert env["features"] == env["AZUREML_DATAREFERENCE_features"]  # an output's name holds where to write
    out = run.find_step_run("show")[0].get_output_data("features").download(str(tmp_path / "got"))
    assert sorted(p.name for p in Path(out).rglob("*") if p.is_file()) == ["f.txt"]
