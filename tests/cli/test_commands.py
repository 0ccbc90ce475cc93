"""Quick command-line behaviour, in process with click's CliRunner (no pipeline is submitted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from jupyter_amlpipe.cli import loader, render
from jupyter_amlpipe.cli.main import _load_command_modules, cli
from jupyter_amlpipe.workspace.workspace import Workspace

from . import ASSETS, child_env, field_of, make_project


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


# -- workspace create / show ---------------------------------------------------------------
def test_workspace_create_writes_config_and_show_lists_its_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    created = invoke("workspace", "create", "team", "--path", "ws")
    assert created.exit_code == 0, created.output
    assert "Created workspace 'team'" in created.stdout
    config = json.loads((tmp_path / ".azureml" / "config.json").read_text())
    assert config["workspace_name"] == "team"
    assert Path(config["workspace_path"]) == (tmp_path / "ws").resolve()

    shown = invoke("workspace", "show")  # found from the current folder through the config file
    assert shown.exit_code == 0, shown.output
    assert field_of(shown.stdout, "Workspace") == "team"
    assert str((tmp_path / "ws").resolve()) in shown.stdout
    assert "workspaceblobstore" in shown.stdout and "workspacefilestore" in shown.stdout
    assert "(none yet; submit a pipeline" in shown.stdout


def test_workspace_create_twice_needs_exist_ok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = invoke("workspace", "create", "team", "--path", str(tmp_path / "ws"), "--no-write-config")
    assert first.exit_code == 0, first.output
    again = invoke("workspace", "create", "team", "--path", str(tmp_path / "ws"), "--no-write-config")
    assert again.exit_code == 2
    assert "Error: A workspace already exists" in again.stderr
    assert "Traceback" not in again.output
    ok = invoke("workspace", "create", "team", "--path", str(tmp_path / "ws"), "--exist-ok", "--no-write-config")
    assert ok.exit_code == 0
    assert "Using existing workspace 'team'" in ok.stdout
    assert not (tmp_path / ".azureml").exists()  # --no-write-config


def test_workspace_show_counts_runs_per_experiment(workspace: Workspace) -> None:
    store = workspace._store
    store.ensure_experiment("nightly")
    store.insert_runs(
        [
            {"id": f"run-{i}", "experiment": "nightly", "kind": "pipeline", "name": "nightly", "status": status}
            for i, status in enumerate(["Finished", "Finished", "Failed", "Canceled"])
        ]
    )
    shown = invoke("--workspace", str(workspace.path), "workspace", "show")
    assert shown.exit_code == 0, shown.output
    row = next(line.split() for line in shown.stdout.splitlines() if line.startswith("nightly"))
    assert row[:6] == ["nightly", "4", "0", "2", "1", "1"]  # runs, active, finished, failed, canceled


def test_workspace_option_takes_a_folder_to_search_from(workspace: Workspace, tmp_path: Path) -> None:
    project = tmp_path / "project" / "sub"
    project.mkdir(parents=True)
    workspace.write_config(tmp_path / "project")
    shown = invoke("-w", str(project), "workspace", "show")
    assert shown.exit_code == 0, shown.output
    assert field_of(shown.stdout, "Workspace") == "test"


def test_no_workspace_found_is_not_found(tmp_path: Path) -> None:
    missing = invoke("--workspace", str(tmp_path / "nowhere"), "runs")
    assert missing.exit_code == 3
    assert "Error: No workspace at" in missing.stderr


# -- runs / show / logs / cancel on what is not there -------------------------------------
def test_unknown_run_id_is_exit_3_for_every_run_command(workspace: Workspace) -> None:
    for command in ("show", "logs", "cancel"):
        result = invoke("-w", str(workspace.path), command, "0000-no-such-run")
        assert result.exit_code == 3, (command, result.output)
        assert "Error: No run with id '0000-no-such-run'" in result.stderr
        assert "Traceback" not in result.output


def test_runs_on_an_empty_workspace_says_so(workspace: Workspace) -> None:
    result = invoke("-w", str(workspace.path), "runs")
    assert result.exit_code == 0
    assert "No pipeline runs." in result.stderr


def test_runs_rejects_an_unknown_status(workspace: Workspace) -> None:
    result = invoke("-w", str(workspace.path), "runs", "--status", "Done")
    assert result.exit_code == 2
    assert "'Done' is not one of" in result.stderr


def test_runs_filters_by_status_and_limits(workspace: Workspace) -> None:
    store = workspace._store
    store.ensure_experiment("e")
    store.insert_runs(
        [
            {
                "id": f"run-{i}",
                "experiment": "e",
                "kind": "pipeline",
                "name": "e",
                "status": status,
                "created": 100.0 + i,
            }
            for i, status in enumerate(["Failed", "Finished", "Failed", "Finished", "Failed"])
        ]
    )
    failed = invoke("-w", str(workspace.path), "runs", "--status", "failed", "--limit", "2")
    assert failed.exit_code == 0, failed.output
    ids = [line.split()[0] for line in failed.stdout.splitlines()[1:]]
    assert ids == ["run-4", "run-2"]  # newest first, only Failed, at most 2


# -- submit: finding the pipeline in a file -------------------------------------------------
def test_submit_with_several_pipelines_lists_them(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project", workspace)
    monkeypatch.chdir(project)
    result = invoke("submit", "two_pipelines.py")
    assert result.exit_code == 2
    assert "defines 2 Pipeline objects (first, second)" in result.stderr
    assert "two_pipelines.py:first" in result.stderr


def test_submit_of_a_file_without_pipeline(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project", workspace)
    monkeypatch.chdir(project)
    result = invoke("submit", "no_pipeline.py")
    assert result.exit_code == 2
    assert "no_pipeline.py defines no Pipeline object at module level" in result.stderr


def test_submit_of_a_missing_name_or_file_is_not_found(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project", workspace)
    monkeypatch.chdir(project)
    wrong_name = invoke("submit", "two_pipelines.py:Second")
    assert wrong_name.exit_code == 3
    assert "Did you mean 'second'?" in wrong_name.stderr
    not_a_pipeline = invoke("submit", "two_pipelines.py:ws")
    assert not_a_pipeline.exit_code == 2
    assert "two_pipelines.py:ws is a Workspace, not a Pipeline" in not_a_pipeline.stderr
    no_file = invoke("submit", "absent.py")
    assert no_file.exit_code == 3
    assert "No pipeline file 'absent.py'" in no_file.stderr


def test_a_bug_in_the_users_file_shows_only_its_own_traceback(tmp_path: Path) -> None:
    result = invoke("submit", str(ASSETS / "broken_user_file.py"))
    assert result.exit_code == 2  # a bad definition
    assert "broken_user_file.py" in result.stderr and "ZeroDivisionError" in result.stderr
    assert "runpy" not in result.stderr and "jupyter_amlpipe" not in result.stderr  # no frames of ours


def test_bad_param_syntax_is_a_usage_error(workspace: Workspace) -> None:
    result = invoke("-w", str(workspace.path), "submit", str(ASSETS / "hello_pipeline.py"), "--param", "greeting")
    assert result.exit_code == 2
    assert "--param 'greeting' is not NAME=VALUE" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lr=0.05", ("lr", 0.05)),
        ("epochs=3", ("epochs", 3)),
        ("flag=true", ("flag", True)),
        ("layers=[1, 2]", ("layers", [1, 2])),
        ("name=bonjour", ("name", "bonjour")),
        ('quoted="42"', ("quoted", "42")),
        ("expr=a=b", ("expr", "a=b")),
        ("empty=", ("empty", "")),
    ],
)
def test_param_values_are_json_when_they_parse(text: str, expected: tuple[str, object]) -> None:
    assert loader.parse_param(text) == expected


def test_spec_splits_file_and_name() -> None:
    assert loader.split_spec("pipes/train.py:pipeline") == (Path("pipes/train.py"), "pipeline")
    assert loader.split_spec("train.py") == (Path("train.py"), None)
    assert loader.experiment_name_for(Path("my pipeline.py")) == "my_pipeline"


# -- help, rendering, plugins, import cost -------------------------------------------------
@pytest.mark.parametrize(
    "command", [["workspace", "create"], ["workspace", "show"], ["runs"], ["show"], ["logs"], ["cancel"], ["submit"]]
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"amlpipe {' '.join(command)}" in result.stdout


def test_table_aligns_columns_and_marks_missing_values() -> None:
    text = render.table(["NAME", "STATUS"], [("train", "Finished"), ("a-much-longer-name", None)])
    assert text.splitlines() == [
        "NAME                STATUS",
        "train               Finished",
        "a-much-longer-name  -",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.123, "0.12s"), (12.34, "12.3s"), (125, "2m05s"), (3725, "1h02m"), (None, None)]
)
def test_durations_read_naturally(seconds: float | None, text: str | None) -> None:
    assert render.duration(seconds) == text


def test_command_modules_register_or_are_skipped_when_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ASSETS))
    group = click.Group("amlpipe")
    loaded = _load_command_modules(["amlpipe_no_such_module", "plugin_hello"], group)
    assert loaded == ["plugin_hello"]
    assert CliRunner().invoke(group, ["hello"]).stdout == "hello from a plugin\n"
    with pytest.raises(ModuleNotFoundError, match="amlpipe_no_such_dependency"):
        _load_command_modules(["plugin_broken"], group)  # a broken module is an error, not silently skipped


def test_importing_the_command_line_stays_light() -> None:
    code = (
        "import sys, jupyter_amlpipe.cli.main; "
        "print(sorted(m for m in ('papermill', 'fsspec', 'tqdm', 'nbformat', 'nbclient') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
