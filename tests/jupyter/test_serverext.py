"""The server extension behind the JupyterLab panel, through a real Jupyter server (pytest-jupyter's jp_fetch).

One workspace in the server's root folder holds a finished run (a script step
and a notebook step) and a failed run, made with the Python API; the other
tests add what they need (a published pipeline, a run to cancel, a run to resume).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytest_jupyter", reason='needs pytest-jupyter[server] (pip install "jupyter_amlpipe[dev]")')
pytest.importorskip("jupyter_server", reason='needs jupyter_server (pip install "jupyter_amlpipe[jupyter]")')

from tornado.httpclient import HTTPClientError

pytest_plugins = ("pytest_jupyter.jupyter_server",)

WAIT = 120
PREP = """import sys
from jupyter_amlpipe import Run
print("prepared 3 rows")
Run.get_context().log("rows", 3)
"""
BROKEN = """import os, sys
print("starting")
if not os.path.exists(sys.argv[1]):
    print("boom: the input file " + sys.argv[1] + " is missing", file=sys.stderr)
    sys.exit(1)
print("fixed")
"""
SLOW = """import os, sys, time
print("waiting", flush=True)
for _ in range(1200):
    if os.path.exists(sys.argv[1]):
        break
    time.sleep(0.1)
"""
NOTEBOOK = {
    "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": "print(6 * 7)"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def build(ws: Any, src: Path, name: str, *, flag: Path | None = None, slow: Path | None = None) -> Any:
    from jupyter_amlpipe import Pipeline
    from jupyter_amlpipe.steps import NotebookStep, PythonScriptStep

    if name == "good":
        prep = PythonScriptStep(name="prep", script_name="prep.py", source_directory=str(src), allow_reuse=False)
        report = NotebookStep(name="report", notebook="report.ipynb", source_directory=str(src), allow_reuse=False)
        return Pipeline(ws, [prep, report])
    if name == "broken":
        first = PythonScriptStep(name="prep", script_name="prep.py", source_directory=str(src), allow_reuse=False)
        second = PythonScriptStep(
            name="train", script_name="broken.py", source_directory=str(src), arguments=[str(flag)]
        )
        second.run_after(first)
        return Pipeline(ws, [first, second])
    step = PythonScriptStep(
        name="wait", script_name="slow.py", source_directory=str(src), arguments=[str(slow)], allow_reuse=False
    )
    return Pipeline(ws, [step])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A root folder with a project (config → workspace), a finished run and a failed run."""
    from jupyter_amlpipe import Experiment, Workspace

    root = tmp_path_factory.mktemp("lab")
    ws = Workspace.create("panel", path=root / "ws")
    project = root / "project"
    src = project / "src"
    src.mkdir(parents=True)
    (src / "prep.py").write_text(PREP)
    (src / "broken.py").write_text(BROKEN)
    (src / "slow.py").write_text(SLOW)
    (src / "report.ipynb").write_text(json.dumps(NOTEBOOK))
    ws.write_config(project)
    (root / "empty").mkdir()
    flag = root / "fixed.flag"
    good = Experiment(ws, "daily").submit(build(ws, src, "good"))
    bad = Experiment(ws, "nightly").submit(build(ws, src, "broken", flag=flag))
    assert good.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False) == "Finished"
    assert bad.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False) == "Failed"
    return {"root": root, "ws": ws, "src": src, "good": good.id, "bad": bad.id, "flag": flag}


@pytest.fixture
def jp_root_dir(lab: dict[str, Any]) -> Path:
    return Path(lab["root"])


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> Any:
    from traitlets.config import Config

    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_amlpipe": True}}})


@pytest.fixture
def api(jp_fetch: Any, jp_serverapp: Any) -> Any:
    """``await api(method, *path, ws="ws", **query)`` → (status, JSON body); errors are answers, not exceptions."""

    async def call(method: str, *path: str, body: Any = None, ws: str | None = "ws", **query: Any) -> Any:
        params = {k: str(v) for k, v in query.items()}
        if ws is not None:
            params["ws"] = ws
        kwargs: dict[str, Any] = {"method": method, "params": params, "raise_error": False}
        if method == "POST":
            kwargs["body"] = json.dumps(body if body is not None else {})
        response = await jp_fetch("amlpipe", "api", *path, **kwargs)
        return response.code, json.loads(response.body or b"null")

    yield call
    jp_serverapp.web_app.settings["jupyter_amlpipe"].workers.stop()


async def wait_for(api: Any, run_id: str, statuses: set[str]) -> dict[str, Any]:
    for _ in range(WAIT * 5):
        code, run = await api("GET", "runs", run_id)
        assert code == 200, run
        if run["status"] in statuses:
            return run  # type: ignore[no-any-return]
        await asyncio.sleep(0.2)
    raise AssertionError(f"run {run_id} is still {run['status']}")


ROUTES = [
    ("GET", "workspace"),
    ("GET", "experiments"),
    ("GET", "runs"),
    ("GET", "changes"),
    ("GET", "runs/x"),
    ("GET", "runs/x/steps/prep"),
    ("POST", "runs/x/cancel"),
    ("POST", "runs/x/resume"),
    ("POST", "runs/x/snapshot"),
    ("GET", "pipelines"),
    ("POST", "pipelines/x/enable"),
    ("POST", "pipelines/x/disable"),
    ("POST", "pipelines/x/submit"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
async def test_every_route_needs_the_token(jp_fetch: Any, method: str, route: str) -> None:
    kwargs: dict[str, Any] = {"method": method, "headers": {"Authorization": ""}, "params": {"ws": "ws"}}
    if method == "POST":
        kwargs["body"] = "{}"
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("amlpipe", "api", *route.split("/"), **kwargs)
    assert refused.value.code in (401, 403)


async def test_the_workspace_of_a_folder(api: Any, lab: dict[str, Any]) -> None:
    code, found = await api("GET", "workspace", ws=None, cwd="project/src")  # config in a parent folder
    assert code == 200, found
    assert (found["name"], found["path"], found["relative"]) == ("panel", str(lab["ws"].path), "ws")
    code, found = await api("GET", "workspace", ws=None, cwd="ws")  # the workspace folder itself
    assert (code, found["name"]) == (200, "panel")
    code, missing = await api("GET", "workspace", ws=None, cwd="empty")
    assert code == 404
    assert "amlpipe workspace create" in missing["message"] and "Workspace.create" in missing["message"]
    code, missing = await api("GET", "runs", ws="empty")
    assert code == 404 and "amlpipe workspace create" in missing["message"]
    code, missing = await api("GET", "runs", ws=None)
    assert code == 400 and "ws query parameter" in missing["message"]


async def test_the_workspace_of_an_absolute_folder(api: Any, lab: dict[str, Any], tmp_path: Path) -> None:
    """What a user types into the panel's workspace-path input: an absolute folder, a workspace folder, a typo."""
    ws_path = str(lab["ws"].path)
    for typed in (ws_path, ws_path + "/", str(lab["src"]), str(lab["root"] / "project")):
        code, found = await api("GET", "workspace", ws=None, cwd=typed)
        assert code == 200, (typed, found)
        assert (found["name"], found["path"], found["relative"], found["cwd"]) == ("panel", ws_path, "ws", typed)
    # a workspace outside the server's root folder: found, with no path relative to the root
    from jupyter_amlpipe import Workspace

    outside = Workspace.create("elsewhere", path=tmp_path / "outside")
    code, found = await api("GET", "workspace", ws=None, cwd=str(outside.path))
    assert code == 200, found
    assert (found["name"], found["path"], found["relative"]) == ("elsewhere", str(outside.path), None)
    code, runs = await api("GET", "runs", ws=found["path"])  # the panel then passes the absolute path as ws
    assert (code, runs["runs"]) == (200, [])
    code, missing = await api("GET", "workspace", ws=None, cwd=str(tmp_path / "no-such-folder"))
    assert code == 404
    assert "no-such-folder" in missing["message"] and "amlpipe workspace create" in missing["message"]
    code, missing = await api("GET", "workspace", ws=None, cwd=str(lab["root"] / "empty"))
    assert code == 404 and "Workspace.create" in missing["message"]


async def test_experiments_and_runs(api: Any, lab: dict[str, Any]) -> None:
    code, experiments = await api("GET", "experiments")
    assert code == 200
    by_name = {e["name"]: e for e in experiments["experiments"]}
    assert by_name["daily"]["runs"] == 1 and by_name["daily"]["last_start"] is not None

    code, listed = await api("GET", "runs", experiment="daily")
    assert code == 200 and listed["cursor"] > 0
    (row,) = listed["runs"]
    assert (row["id"], row["status"], row["experiment"]) == (lab["good"], "Finished", "daily")
    assert row["progress"]["total"] == 2 and row["progress"]["ran"] == 2 and row["progress"]["failed"] == 0
    started_by = lab["ws"].get_run(lab["good"]).get_properties()["amlpipe.started_by"]
    assert row["started_by"] == started_by and row["duration"] > 0

    code, failed = await api("GET", "runs", status="Failed", experiment="nightly")
    assert [r["id"] for r in failed["runs"]][-1] == lab["bad"]
    assert all(r["status"] == "Failed" for r in failed["runs"])
    code, wrong = await api("GET", "runs", status="failed")
    assert code == 400 and "Did you mean 'Failed'" in wrong["message"]
    code, wrong = await api("GET", "runs", limit="many")
    assert code == 400 and "limit" in wrong["message"]


async def test_a_finished_run_its_steps_logs_metrics_and_notebook(api: Any, lab: dict[str, Any]) -> None:
    code, run = await api("GET", "runs", lab["good"])
    assert code == 200, run
    assert run["status"] == "Finished" and [s["name"] for s in run["steps"]] == ["prep", "report"]
    assert {n["name"]: n["status"] for n in run["graph"]["nodes"]} == {"prep": "Finished", "report": "Finished"}
    assert run["properties"]["amlpipe.started_by"] == run["started_by"] and run["parameters"] == {}

    code, prep = await api("GET", "runs", lab["good"], "steps", "prep", lines=5)
    assert code == 200, prep
    assert "prepared 3 rows" in prep["stdout"] and prep["metrics"] == {"rows": 3}
    assert prep["notebook"] is None and prep["properties"]["StepType"] == "python_script"

    code, report = await api("GET", "runs", lab["good"], "steps", "report")
    assert code == 200, report
    assert report["notebook"].startswith("ws/runs/") and report["notebook"].endswith("report.ipynb")
    executed = json.loads((lab["root"] / report["notebook"]).read_text())
    assert "42" in json.dumps(executed["cells"][0]["outputs"])

    code, missing = await api("GET", "runs", lab["good"], "steps", "prepp")
    assert code == 404 and "Did you mean 'prep'" in missing["message"]
    code, missing = await api("GET", "runs", "no-such-run")
    assert code == 404 and "No run with id 'no-such-run'" in missing["message"]


async def test_a_failed_run_shows_the_failing_steps_stderr(api: Any, lab: dict[str, Any]) -> None:
    code, run = await api("GET", "runs", lab["bad"])
    assert run["status"] == "Failed"
    assert {s["name"]: s["status"] for s in run["steps"]} == {"prep": "Finished", "train": "Failed"}
    code, train = await api("GET", "runs", lab["bad"], "steps", "train")
    assert code == 200 and train["status"] == "Failed"
    assert "boom: the input file" in train["stderr"] and "starting" in train["stdout"]


async def test_the_code_snapshot_of_a_step(api: Any, lab: dict[str, Any]) -> None:
    code, snap = await api("POST", "runs", lab["bad"], "snapshot", step="train")
    assert code == 200, snap
    assert "broken.py" in snap["files"] and snap["path"].startswith("ws/runs/")
    assert (Path(snap["absolute"]) / "broken.py").read_text() == BROKEN
    code, snap = await api("POST", "runs", lab["bad"], "snapshot")  # every step shares one snapshot
    assert code == 200 and "prep.py" in snap["files"]
    code, missing = await api("POST", "runs", lab["bad"], "snapshot", step="trainn")
    assert code == 404 and "Did you mean 'train'" in missing["message"]


async def test_published_pipelines_toggle_and_submit_to_finished(api: Any, lab: dict[str, Any]) -> None:
    from jupyter_amlpipe import Pipeline, PipelineParameter, PublishedPipeline
    from jupyter_amlpipe.steps import PythonScriptStep

    ws, src = lab["ws"], lab["src"]
    (src / "greet.py").write_text("import sys\nprint('GREETING=' + sys.argv[1] + ' TIMES=' + sys.argv[2])\n")
    greeting, times = PipelineParameter("greeting", default_value="hello"), PipelineParameter("times", default_value=2)
    step = PythonScriptStep(
        name="greet", script_name="greet.py", source_directory=str(src), arguments=[greeting, times], allow_reuse=False
    )
    published = Pipeline(ws, [step]).publish(name="greeter", version="1")

    code, listed = await api("GET", "pipelines")
    row = next(p for p in listed["pipelines"] if p["id"] == published.id)
    assert (row["name"], row["version"], row["status"]) == ("greeter", "1", "Active")
    assert row["parameters"] == [
        {"name": "greeting", "default": "hello", "type": "string"},
        {"name": "times", "default": 2, "type": "int"},
    ]
    assert row["endpoint"].endswith(f"/pipelines/v1/published/{published.id}")

    code, off = await api("POST", "pipelines", published.id, "disable")
    assert (code, off["status"]) == (200, "Disabled")
    assert PublishedPipeline.get(ws, published.id).status == "Disabled"  # seen through the Python API
    code, listed = await api("GET", "pipelines")
    assert published.id not in [p["id"] for p in listed["pipelines"]]
    code, listed = await api("GET", "pipelines", all=1)
    assert published.id in [p["id"] for p in listed["pipelines"]]
    body = {"ExperimentName": "from-lab", "ParameterAssignments": {"greeting": "hola"}}
    code, refused = await api("POST", "pipelines", published.id, "submit", body=body)
    assert code == 409 and "disabled" in refused["message"]

    code, on = await api("POST", "pipelines", published.id, "enable")
    assert (code, on["status"]) == (200, "Active")
    code, wrong = await api(
        "POST", "pipelines", published.id, "submit", body={**body, "ParameterAssignments": {"greting": "x"}}
    )
    assert code == 400 and "Did you mean 'greeting'" in wrong["message"]
    code, unknown = await api("POST", "pipelines", "nope", "submit", body=body)
    assert code == 404 and "No published pipeline" in unknown["message"]

    code, cursor = await api("GET", "runs", experiment="from-lab")
    code, submitted = await api("POST", "pipelines", published.id, "submit", body=body)
    assert code == 200, submitted
    code, changed = await api("GET", "changes", after=cursor["cursor"], timeout=10)
    assert code == 200 and submitted["Id"] in changed["runs"] and changed["cursor"] > cursor["cursor"]
    run = await wait_for(api, submitted["Id"], {"Finished", "Failed", "Canceled"})
    assert run["status"] == "Finished" and run["started_by"] == "lab"
    code, greet = await api("GET", "runs", submitted["Id"], "steps", "greet")
    assert "GREETING=hola TIMES=2" in greet["stdout"]


async def test_a_datapath_parameter_submitted_as_the_panel_sends_it(api: Any, lab: dict[str, Any]) -> None:
    """The Run form shows a DataPath parameter as ``datastore/path`` and sends a changed one as DataPathAssignments."""
    from jupyter_amlpipe import DataPath, DataPathComputeBinding, Pipeline, PipelineParameter
    from jupyter_amlpipe.steps import PythonScriptStep

    ws, src = lab["ws"], lab["src"]
    upload = lab["root"] / "upload"
    for rel, text in (("a/one.txt", "first file"), ("b/two.txt", "second file")):
        (upload / rel).parent.mkdir(parents=True, exist_ok=True)
        (upload / rel).write_text(text, encoding="utf-8")
        ws.get_default_datastore().upload_files(
            [str(upload / rel)], target_path=str(Path(rel).parent), overwrite=True, show_progress=False
        )
    (src / "read.py").write_text("import sys\nprint('content:', open(sys.argv[1], encoding='utf-8').read())\n")
    store = ws.get_default_datastore()
    infile = PipelineParameter(name="infile", default_value=DataPath(datastore=store, path_on_datastore="a/one.txt"))
    binding = (infile, DataPathComputeBinding(mode="mount"))
    step = PythonScriptStep(
        name="read", script_name="read.py", source_directory=str(src), arguments=[binding], inputs=[binding]
    )
    published = Pipeline(ws, [step]).publish(name="reader", version="1")

    code, listed = await api("GET", "pipelines")
    row = next(p for p in listed["pipelines"] if p["id"] == published.id)
    (param,) = row["parameters"]
    assert (param["name"], param["type"]) == ("infile", "datapath")
    assert store.name in json.dumps(param["default"]) and "a/one.txt" in json.dumps(param["default"])

    outputs = []
    for assigned in ({}, {"infile": {"DataStoreName": store.name, "RelativePath": "b/two.txt"}}):
        body: dict[str, Any] = {"ExperimentName": "reader", "ParameterAssignments": {}}
        if assigned:
            body["DataPathAssignments"] = assigned
        code, submitted = await api("POST", "pipelines", published.id, "submit", body=body)
        assert code == 200, submitted
        run = await wait_for(api, submitted["Id"], {"Finished", "Failed", "Canceled"})
        code, read = await api("GET", "runs", submitted["Id"], "steps", "read")
        assert run["status"] == "Finished", read["stderr"]
        outputs.append(read["stdout"])
    assert "content: first file" in outputs[0]
    assert "content: second file" in outputs[1] and "first file" not in outputs[1]


async def test_changes_waits_without_blocking_the_server(api: Any) -> None:
    code, listed = await api("GET", "runs")
    poll = asyncio.ensure_future(api("GET", "changes", after=listed["cursor"], timeout=5))
    await asyncio.sleep(0.3)
    code, _ = await api("GET", "experiments")  # served while the long poll waits
    assert code == 200 and not poll.done()
    code, quiet = await poll
    assert (code, quiet) == (200, {"cursor": listed["cursor"], "runs": []})


async def test_cancel_a_run_started_by_another_process(api: Any, lab: dict[str, Any], tmp_path: Path) -> None:
    release = tmp_path / "release"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from jupyter_amlpipe import Experiment, Pipeline, Workspace
        from jupyter_amlpipe.steps import PythonScriptStep
        ws = Workspace(path={str(lab["ws"].path)!r})
        step = PythonScriptStep(name="wait", script_name="slow.py", source_directory={str(lab["src"])!r},
                                arguments=[{str(release)!r}], allow_reuse=False)
        run = Experiment(ws, "to-cancel").submit(Pipeline(ws, [step]))
        print(run.id, flush=True)
        print(run.wait_for_completion(show_output=False, timeout_seconds={WAIT}, raise_on_error=False), flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        await wait_for(api, run_id, {"Running"})
        code, canceled = await api("POST", "runs", run_id, "cancel")
        assert code == 200 and canceled["id"] == run_id
        run = await wait_for(api, run_id, {"Finished", "Failed", "Canceled"})
        assert run["status"] == "Canceled"
        assert proc.stdout.readline().strip() == "Canceled"  # the submitting process saw it too
        code, again = await api("POST", "runs", run_id, "cancel")
        assert (code, again["status"]) == (200, "Canceled")
    finally:
        release.touch()
        proc.wait(timeout=WAIT)


async def test_resume_a_failed_run_after_fixing_the_cause(api: Any, lab: dict[str, Any]) -> None:
    from jupyter_amlpipe import Experiment

    ws = lab["ws"]
    failed = Experiment(ws, "resumable").submit(build(ws, lab["src"], "broken", flag=lab["flag"]))
    assert failed.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False) == "Failed"
    code, refused = await api("POST", "runs", lab["good"], "resume")
    assert code == 400 and "only a Failed or Canceled run can be resumed" in refused["message"]

    lab["flag"].write_text("fixed\n")  # the cause: an input outside the snapshot
    try:
        code, resumed = await api("POST", "runs", failed.id, "resume")
        assert code == 200, resumed
        assert resumed["id"] != failed.id
        run = await wait_for(api, resumed["id"], {"Finished", "Failed", "Canceled"})
        assert run["status"] == "Finished" and run["started_by"] == "lab"
        assert run["properties"]["amlpipe.resumed_from"] == failed.id
        steps = {s["name"]: s for s in run["steps"]}
        assert steps["prep"]["reused"] and not steps["train"]["reused"]
        code, train = await api("GET", "runs", resumed["id"], "steps", "train")
        assert "fixed" in train["stdout"]
    finally:
        lab["flag"].unlink()
