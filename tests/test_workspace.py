"""The workspace: creating and finding it, its members, and its database shared by many writers."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import jupyter_amlpipe
from jupyter_amlpipe import ComputeTarget, Experiment, Pipeline, PipelineRun, StepRun, Workspace
from jupyter_amlpipe.compute import AmlCompute, LocalCompute
from jupyter_amlpipe.errors import DefinitionError, LookupFailed
from jupyter_amlpipe.steps import PythonScriptStep

ASSETS = Path(__file__).resolve().parent / "assets"
PACKAGE_ROOT = str(Path(jupyter_amlpipe.__file__).resolve().parent.parent)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private AMLPIPE_HOME: workspaces named without a folder live under it."""
    folder = tmp_path / "home"
    monkeypatch.setenv("AMLPIPE_HOME", str(folder))
    return folder


def _run_script(ws: Any, tmp_path: Path, script: str) -> PipelineRun:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    shutil.copy(ASSETS / script, src / script)
    run = Experiment(ws, "ws-tests").submit(Pipeline(ws, [PythonScriptStep(script, name="step", source_directory=src)]))
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    return run


# -- create, get, config -------------------------------------------------------------------------


def test_create_makes_the_folder_and_its_parents(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "c" / "ws"
    ws = Workspace.create("deep", path=folder)
    assert ws.name == "deep"
    assert ws.path == folder.resolve()
    for part in ("workspace.json", "amlpipe.db", "datastores", "snapshots", "runs"):
        assert (folder / part).exists(), part


def test_create_on_an_existing_workspace(tmp_path: Path) -> None:
    first = Workspace.create("demo", path=tmp_path / "ws")
    with pytest.raises(DefinitionError) as info:
        Workspace.create("demo", path=tmp_path / "ws")
    assert "already exists" in str(info.value) and "exist_ok=True" in str(info.value)
    again = Workspace.create("demo", path=tmp_path / "ws", exist_ok=True)
    assert again == first and again.name == "demo"


def test_create_accepts_and_records_v1_azure_arguments(tmp_path: Path) -> None:
    ws = Workspace.create(
        name="azure-style",
        subscription_id="0000-1111",
        resource_group="rg-ml",
        location="westeurope",
        create_resource_group=True,
        sku="basic",
        friendly_name="Old workspace",
        tags={"team": "nlp"},
        path=tmp_path / "ws",
    )
    reopened = Workspace(path=tmp_path / "ws")
    assert (reopened.subscription_id, reopened.resource_group, reopened.location) == (
        "0000-1111",
        "rg-ml",
        "westeurope",
    )
    details = reopened.get_details()
    assert details["azure"]["sku"] == "basic"
    assert details["azure"]["tags"] == {"team": "nlp"}
    assert ws.get_details()["schema_version"] >= 1
    with pytest.raises(DefinitionError, match="unexpected arguments"):
        Workspace.create("typo", path=tmp_path / "other", subscripton_id="x")


def test_get_by_name_under_the_home_and_by_path(home: Path, tmp_path: Path) -> None:
    created = Workspace.create("shared")
    assert created.path == (home / "workspaces" / "shared").resolve()
    assert Workspace.get("shared") == created
    elsewhere = Workspace.create("elsewhere", path=tmp_path / "proj" / "ws")
    assert Workspace.get("elsewhere", path=tmp_path / "proj" / "ws") == elsewhere
    with pytest.raises(LookupFailed) as info:
        Workspace.get("shraed")
    assert "Did you mean 'shared'?" in str(info.value)
    assert "Workspace.create('shraed'" in str(info.value)


def test_write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create("demo", path=tmp_path / "ws")
    written = ws.write_config(path=tmp_path / "proj")
    assert written == (tmp_path / "proj" / ".azureml" / "config.json").resolve()
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data["workspace_name"] == "demo"
    assert data["workspace_path"] == str(ws.path) and Path(data["workspace_path"]).is_absolute()

    monkeypatch.chdir(tmp_path)
    assert ws.write_config() == (tmp_path / ".azureml" / "config.json").resolve()  # default: the cwd


def test_from_config_searches_the_folder_its_azureml_and_the_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.create("demo", path=tmp_path / "ws")
    project = tmp_path / "project"
    ws.write_config(path=project)
    nested = project / "src" / "deep" / "er"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert Workspace.from_config() == ws  # found in a parent's .azureml/
    monkeypatch.chdir(project)
    assert Workspace.from_config() == ws  # in the cwd's .azureml/

    other = Workspace.create("other", path=tmp_path / "other-ws")
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(other.write_config(path=tmp_path / "tmp-config"), plain / "config.json")
    assert Workspace.from_config(path=plain) == other  # config.json in the folder itself
    assert Workspace.from_config(path=plain / "config.json") == other  # the file itself


def test_from_config_maps_a_v1_file_to_a_local_workspace(home: Path, tmp_path: Path) -> None:
    project = tmp_path / "legacy-project"
    (project / ".azureml").mkdir(parents=True)
    v1 = {"subscription_id": "0000-1111", "resource_group": "rg-ml", "workspace_name": "legacy"}
    (project / ".azureml" / "config.json").write_text(json.dumps(v1), encoding="utf-8")
    ws = Workspace.from_config(path=project)
    assert ws.name == "legacy"
    assert ws.path == (home / "workspaces" / "legacy").resolve()
    assert (ws.path / "workspace.json").is_file()
    assert (ws.subscription_id, ws.resource_group) == ("0000-1111", "rg-ml")
    assert Workspace.from_config(path=project) == ws  # the second time it opens the same one


def test_from_config_without_a_config_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty" / "folder"
    empty.mkdir(parents=True)
    with pytest.raises(LookupFailed) as info:
        Workspace.from_config(path=empty)
    message = str(info.value)
    assert ".azureml/config.json" in message and str(empty) in message
    assert "write_config()" in message  # says how to make one


# -- members -------------------------------------------------------------------------------------------


def test_datastores(workspace: Any) -> None:
    stores = workspace.datastores
    assert {"workspaceblobstore", "workspacefilestore"} <= set(stores)
    assert workspace.get_default_datastore().name == "workspaceblobstore"


def test_compute_targets(workspace: Any) -> None:
    LocalCompute(workspace=workspace, name="local")
    LocalCompute(workspace=workspace, name="local")  # recorded once, however often it is made
    LocalCompute(workspace=workspace, name="gpu-pool", max_concurrency=2)
    assert [r["name"] for r in workspace._store.list_named("compute_targets")] == ["local", "gpu-pool"]
    assert set(workspace.compute_targets) == {"local", "gpu-pool"}

    fetched = ComputeTarget(workspace, "gpu-pool")
    assert isinstance(fetched, LocalCompute) and fetched.max_concurrency == 2
    assert workspace.compute_targets["gpu-pool"].max_concurrency == 2
    with pytest.raises(LookupFailed, match="Did you mean 'gpu-pool'"):
        ComputeTarget(workspace, "gpu-poool")

    config = AmlCompute.provisioning_configuration(vm_size="x", min_nodes=0, max_nodes=3)
    cluster = ComputeTarget.create(workspace, "cluster", config)
    cluster.wait_for_completion(show_output=False)
    assert cluster.name == "cluster" and cluster.max_concurrency == 3
    other_process_view = Workspace(path=workspace.path)
    assert other_process_view.compute_targets["cluster"].max_concurrency == 3
    assert ComputeTarget(other_process_view, "cluster").max_concurrency == 3


def test_experiments_and_get_run(workspace: Any, tmp_path: Path) -> None:
    assert dict(workspace.experiments) == {}
    run = _run_script(workspace, tmp_path, "core_noop.py")
    assert set(workspace.experiments) == {"ws-tests"}
    assert workspace.experiments["ws-tests"].workspace == workspace
    again = workspace.get_run(run.id)
    assert isinstance(again, PipelineRun) and again.get_status() == "Finished"
    step = workspace.get_run(run.find_step_run("step")[0].id)
    assert isinstance(step, StepRun) and step.get_stdout_log() == "noop\n"
    with pytest.raises(LookupFailed, match="No run with id 'nope'"):
        workspace.get_run("nope")


def test_management_calls_are_refused_inside_a_step(workspace: Any, tmp_path: Path) -> None:
    run = _run_script(workspace, tmp_path, "core_manage_compute.py")
    step = run.find_step_run("step")[0]
    assert step.get_status() == "Failed"
    assert "inside a running step" in step.get_stderr_log()
    assert "created a compute target" not in step.get_stdout_log()
    assert "from-step" not in workspace.compute_targets


# -- the database --------------------------------------------------------------------------------------


def test_database_uses_wal_and_has_a_schema_version(workspace: Any) -> None:
    conn = sqlite3.connect(workspace.path / "amlpipe.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    finally:
        conn.close()


WRITES = 60

_WRITER = """
import sys
from jupyter_amlpipe import Workspace

ws = Workspace(path=sys.argv[1])
who = sys.argv[2]
for i in range({writes}):
    ws._store.ensure_experiment(f"exp-{{who}}-{{i % 5}}")
    ws._store.add_events([("root-" + who, "run-" + who, "log", {{"i": i}})])
    ws._store.put_named("compute_targets", f"target-{{who}}", "local", {{"max_concurrency": i + 1}})
print("done", who)
"""


def test_concurrent_writers_never_see_database_is_locked(workspace: Any) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p))
    script = _WRITER.format(writes=WRITES)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(workspace.path), f"proc{n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    errors: list[BaseException] = []

    def write(who: str) -> None:
        try:
            store = workspace._store
            for i in range(WRITES):
                store.ensure_experiment(f"exp-{who}-{i % 5}")
                store.add_events([("root-" + who, "run-" + who, "log", {"i": i})])
                store.put_named("compute_targets", f"target-{who}", "local", {"max_concurrency": i + 1})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"thread{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    outcomes = [p.communicate(timeout=120) for p in procs]

    assert errors == []
    for proc, (_, err) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in err
    writers = [f"thread{n}" for n in range(4)] + ["proc0", "proc1"]
    for who in writers:
        events = workspace._store.events(root_id="root-" + who)
        assert [e["data"]["i"] for e in events] == list(range(WRITES))
        assert workspace._store.get_named("compute_targets", f"target-{who}")["config"] == {"max_concurrency": WRITES}
    assert len(workspace._store.list_experiments()) == 5 * len(writers)
