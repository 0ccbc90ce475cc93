"""CommandStep with v1's semantics: a list command is one shell line; ScriptRunConfig; registered environments.

Every pipeline here really runs on LocalCompute in a temporary workspace.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import (
    DataReference,
    Environment,
    Experiment,
    Pipeline,
    PipelineData,
    PipelineParameter,
    ScriptRunConfig,
    Workspace,
)
from jupyter_amlpipe.core.serialize import pipeline_from_dict, pipeline_to_dict
from jupyter_amlpipe.errors import DefinitionError, LookupFailed
from jupyter_amlpipe.steps import CommandStep

# Reads --in (a file), writes --out/<name>: the upper-cased text, then the tag, epochs and GREETING it saw.
WRITE = """\
import argparse, os, pathlib
p = argparse.ArgumentParser()
p.add_argument("--in", dest="src")
p.add_argument("--out")
p.add_argument("--name", default="result.txt")
p.add_argument("--tag", default="")
p.add_argument("--epochs", type=int, default=0)
a = p.parse_args()
text = pathlib.Path(a.src).read_text() if a.src else ""
out = pathlib.Path(a.out)
out.mkdir(parents=True, exist_ok=True)
(out / a.name).write_text(
    f"{text.upper()}tag={a.tag}|epochs={a.epochs}|greeting={os.environ.get('GREETING', '')}", encoding="utf-8"
)
print("wrote", out / a.name)
"""


def _source(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "write.py").write_text(WRITE, encoding="utf-8")
    return folder


def _upload(ws: Any, target: str, name: str, text: str, tmp_path: Path) -> DataReference:
    local = tmp_path / "upload" / name
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(text, encoding="utf-8")
    store = ws.get_default_datastore()
    store.upload_files([str(local)], target_path=target, overwrite=True, show_progress=False)
    return DataReference(store, data_reference_name="raw", path_on_datastore=f"{target}/{name}")


def _submit(ws: Any, steps: list[Any], **kwargs: Any) -> Any:
    run = Experiment(ws, "command-v1").submit(Pipeline(ws, steps), **kwargs)
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    return run


def _finished(run: Any) -> None:
    failed = {s.name: s.get_stderr_log()[-2000:] for s in run.get_steps() if s.get_status() != "Finished"}
    assert run.get_status() == "Finished", failed


def _output(run: Any, step: str, data: str, file: str, tmp_path: Path) -> str:
    target = tmp_path / "downloads" / step
    run.find_step_run(step)[0].get_output_data(data).download(str(target), overwrite=True)
    found = list(target.rglob(file))
    assert len(found) == 1, list(target.rglob("*"))
    return found[0].read_text(encoding="utf-8")


def test_a_list_command_is_one_shell_line_with_data_resolved(workspace: Any, tmp_path: Path) -> None:
    raw = _upload(workspace, "reviews", "raw.txt", "good\nbad\n", tmp_path)
    upper = PipelineData("upper")
    src = _source(tmp_path / "src")
    # v1's notebook form: string fragments pasted as they are, data items resolved to their paths.
    # The '&&' and the redirection only work because the line runs in a shell.
    write = CommandStep(
        command=[
            "python write.py --epochs 30 --in",
            raw,
            "--out",
            upper,
            "&& echo shell-ran > shell.txt && cat shell.txt",
        ],
        name="write",
        inputs=[raw],
        outputs=[upper],
        source_directory=src,
    )
    listing = CommandStep(
        command=["ls", upper, "> listing.txt && cat listing.txt"],  # a consumer gets the producer's output folder
        name="listing",
        inputs=[upper],
        source_directory=src,
    )
    run = _submit(workspace, [write, listing])

    _finished(run)
    assert _output(run, "write", "upper", "result.txt", tmp_path) == "GOOD\nBAD\ntag=|epochs=30|greeting="
    assert run.find_step_run("listing")[0].get_stdout_log() == "result.txt\n"
    assert "shell-ran" in run.find_step_run("write")[0].get_stdout_log()


def test_data_paths_and_parameter_values_are_quoted(tmp_path: Path) -> None:
    ws = Workspace.create("spaced", path=tmp_path / "my workspace")  # every data path holds a space
    raw = _upload(ws, "raw data", "in file.txt", "spaced\n", tmp_path)
    out = PipelineData("out")
    tag = PipelineParameter("tag", default_value="two words; echo INJECTED")
    src = _source(tmp_path / "source dir")
    step = CommandStep(
        command=["python write.py --in", raw, "--out", out, "--tag", tag],
        name="quoted",
        inputs=[raw],
        outputs=[out],
        source_directory=src,
    )
    run = _submit(ws, [step])
    _finished(run)
    assert " " in str(ws.get_default_datastore().local_path("raw data/in file.txt"))
    assert (
        _output(run, "quoted", "out", "result.txt", tmp_path)
        == "SPACED\ntag=two words; echo INJECTED|epochs=0|greeting="
    )
    assert "INJECTED" not in run.find_step_run("quoted")[0].get_stdout_log()  # a value, never a shell fragment

    again = _submit(ws, [step])  # the same list command, unchanged inputs: reused
    assert again.find_step_run("quoted")[0].get_reuse_info()["reused"] is True


def test_an_unnamed_step_is_named_after_the_first_word(workspace: Any, tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    out = PipelineData("out")
    listed = CommandStep(command=["python write.py --epochs 30 --out", out], outputs=[out], source_directory=src)
    assert listed.name == "python"
    assert CommandStep(command="echo hello world").name == "echo"
    assert CommandStep(command=["  ", "ls -la"]).name == "ls"
    run = _submit(workspace, [listed])
    _finished(run)
    assert [s.name for s in run.get_steps()] == ["python"]
    assert _output(run, "python", "out", "result.txt", tmp_path) == "tag=|epochs=30|greeting="


def test_a_script_run_config_gives_command_source_and_environment(workspace: Any, tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    env = Environment("greeter")
    env.environment_variables = {"GREETING": "hello from the environment"}
    registered = env.register(workspace)
    out = PipelineData("out")
    config = ScriptRunConfig(
        source_directory=str(src),
        command=["python write.py --epochs 3 --out", out],
        compute_target="local",
        environment=Environment.get(workspace, "greeter"),
    )
    step = CommandStep(runconfig=config, outputs=[out])
    assert (step.name, step.source_directory, step.environment.name, step.environment.version) == (
        "python",
        str(src),
        "greeter",
        registered.version,
    )
    run = _submit(workspace, [step])
    _finished(run)
    assert _output(run, "python", "out", "result.txt", tmp_path) == "tag=|epochs=3|greeting=hello from the environment"

    # Recorded for resume and publishing without the ScriptRunConfig, and rebuilt the same.
    pipeline = Pipeline(workspace, [step])
    (rebuilt,) = pipeline_from_dict(pipeline_to_dict(pipeline), workspace)[1]
    assert (rebuilt.name, rebuilt.source_directory, rebuilt.compute_target) == ("python", str(src), "local")
    assert rebuilt.command[0] == "python write.py --epochs 3 --out"
    assert rebuilt.environment.environment_variables == {"GREETING": "hello from the environment"}


def test_command_step_definition_errors() -> None:
    with pytest.raises(DefinitionError, match="needs a command"):
        CommandStep(command=[], name="empty")
    with pytest.raises(DefinitionError, match=r"command item .*object.* cannot be put on a command line"):
        CommandStep(command=["python x.py", object()], name="odd")
    with pytest.raises(DefinitionError, match="a PythonScriptStep runs a script"):
        CommandStep(runconfig=ScriptRunConfig(".", script="train.py"))
    with pytest.raises(DefinitionError, match=r"either script .* or command, not both"):
        ScriptRunConfig(".", script="train.py", command="python train.py")


def test_environments_register_get_and_list_with_versions(workspace: Any, tmp_path: Path) -> None:
    env = Environment("sklearn-env")
    env.python.conda_dependencies.add_pip_package("scikit-learn==1.3.2")
    first = env.register(workspace)
    assert first.version == "1"
    assert env.register(workspace).version == "1"  # unchanged: v1 keeps the version

    env.python.conda_dependencies.add_pip_package("pandas")
    env.docker.base_image = "python:3.11-slim"
    assert env.register(workspace).version == "2"
    Environment("other").register(workspace)

    latest = Environment.get(workspace, "sklearn-env")
    assert (latest.version, latest.python.conda_dependencies.pip_packages) == ("2", ["scikit-learn==1.3.2", "pandas"])
    assert latest.docker.base_image == "python:3.11-slim"
    old = Environment.get(workspace, "sklearn-env", version="1")
    assert (old.version, old.python.conda_dependencies.pip_packages, old.docker.base_image) == (
        "1",
        ["scikit-learn==1.3.2"],
        None,
    )
    assert latest.digest() == env.digest()  # the same definition: the same reuse key and Docker image

    listed = Environment.list(workspace)
    assert {name: e.version for name, e in listed.items()} == {"other": "1", "sklearn-env": "2"}
    assert sorted(p.name for p in (workspace.path / "environments" / "sklearn-env").iterdir()) == ["1.json", "2.json"]

    # Another process opening the same workspace sees them.
    assert Environment.get(Workspace.get("test", path=workspace.path), "sklearn-env").version == "2"

    with pytest.raises(LookupFailed, match=r"'sklearn-envv' is not registered .*Did you mean 'sklearn-env'\?"):
        Environment.get(workspace, "sklearn-envv")
    with pytest.raises(LookupFailed, match=r"no version '7'.* its versions are '1', '2'"):
        Environment.get(workspace, "sklearn-env", version=7)
    with pytest.raises(DefinitionError, match="cannot be registered"):
        Environment("../escape").register(workspace)


@pytest.mark.dask
def test_a_list_command_runs_on_dask_the_same(workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_amlpipe.compute import DaskCompute

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])))
    raw = _upload(workspace, "reviews", "raw.txt", "dask\n", tmp_path)
    out = PipelineData("out")
    target = DaskCompute(workspace, "dask", min_nodes=1, max_nodes=1)
    try:
        step = CommandStep(
            command=["python write.py --in", raw, "--out", out, "--tag", PipelineParameter("tag", "a b")],
            inputs=[raw],
            outputs=[out],
            source_directory=_source(tmp_path / "src"),
            compute_target=target,
        )
        run = _submit(workspace, [step])
        _finished(run)
        assert _output(run, "python", "out", "result.txt", tmp_path) == "DASK\ntag=a b|epochs=0|greeting="
    finally:
        target.delete()
