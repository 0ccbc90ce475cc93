"""The DAG widget in a real JupyterLab, driven by a real browser.

Lab opens a notebook and runs all its cells; the DAG widget of the submitted
run first shows a step Running and then, without any cell being run again,
every step Finished, in another colour. Screenshots of both moments are saved
in the test's ``tmp_path`` (their paths are printed).

The widget's DOM contract: a root element of class ``amlpipe-dag``; each node a
``<g class="amlpipe-dag-node" data-step=NAME data-status=STATUS>`` (plus
``data-reused="true"`` when reused) whose ``rect.amlpipe-dag-box`` is filled
by status.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

WIDGETS_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03-widgets.ipynb"
NODES = ".amlpipe-dag .amlpipe-dag-node"

# The nodes of one DAG widget (the index-th on the page): [{step, status, reused, fill}].
_NODES_JS = """
(index) => {
  const root = document.querySelectorAll('.amlpipe-dag')[index];
  if (!root) return [];
  return [...root.querySelectorAll('.amlpipe-dag-node')].map(g => {
    const box = g.querySelector('rect.amlpipe-dag-box') || g.querySelector('rect');
    return {step: g.dataset.step, status: g.dataset.status, reused: g.dataset.reused === 'true',
            fill: box ? getComputedStyle(box).fill : null};
  });
}
"""
# The index of the first DAG widget with a node whose status is the argument, or -1.
_INDEX_WITH_STATUS_JS = """
(status) => [...document.querySelectorAll('.amlpipe-dag')].findIndex(
  root => root.querySelector(`.amlpipe-dag-node[data-status="${status}"]`) !== null)
"""
_ALL_FINISHED_JS = """
(index) => {
  const root = document.querySelectorAll('.amlpipe-dag')[index];
  const nodes = root ? [...root.querySelectorAll('.amlpipe-dag-node')] : [];
  return nodes.length > 0 && nodes.every(g => g.dataset.status === 'Finished');
}
"""

# A two-step pipeline whose first step holds until the test creates the file RELEASE in the notebook's folder,
# so the browser sees it Running for as long as the test needs.
GATE_SCRIPT = """\
import argparse, pathlib, time
parser = argparse.ArgumentParser()
parser.add_argument("--release")
parser.add_argument("--out")
args = parser.parse_args()
deadline = time.monotonic() + 300
while not pathlib.Path(args.release).exists() and time.monotonic() < deadline:
    time.sleep(0.2)
pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
pathlib.Path(args.out, "data.txt").write_text("released")
"""
COPY_SCRIPT = """\
import argparse, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--src")
parser.add_argument("--out")
args = parser.parse_args()
pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
pathlib.Path(args.out, "copy.txt").write_text(pathlib.Path(args.src, "data.txt").read_text())
"""
GATED_CELLS = [
    f"""\
from pathlib import Path

from jupyter_amlpipe import Experiment, Pipeline, PipelineData, Workspace
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.jupyter.widgets import DagWidget
from jupyter_amlpipe.steps import PythonScriptStep

src = Path("src")
src.mkdir(exist_ok=True)
(src / "gate.py").write_text({GATE_SCRIPT!r})
(src / "copy.py").write_text({COPY_SCRIPT!r})
release = str(Path("RELEASE").resolve())
ws = Workspace.create("browser", path="ws", exist_ok=True)
""",
    """\
compute = LocalCompute(workspace=ws, name="local")
data = PipelineData("data", datastore=ws.get_default_datastore())
copied = PipelineData("copied", datastore=ws.get_default_datastore())
gate = PythonScriptStep(name="gate", script_name="gate.py", arguments=["--release", release, "--out", data],
                        outputs=[data], compute_target=compute, source_directory="src", allow_reuse=False)
copy = PythonScriptStep(name="copy", script_name="copy.py", arguments=["--src", data, "--out", copied],
                        inputs=[data], outputs=[copied], compute_target=compute, source_directory="src")
run = Experiment(ws, "browser").submit(Pipeline(workspace=ws, steps=[copy]))
DagWidget(run)
""",
]


def _screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot ({name}): {path}")
    return path


def _page_state(page: Any, tmp_path: Path) -> str:
    """What the page shows (a screenshot, the cells' outputs and the DAG nodes), for a failure message."""
    shot = _screenshot(page, tmp_path, "failure")
    outputs = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea')].map(e => e.innerText)")
    nodes = page.evaluate("() => [...document.querySelectorAll('.amlpipe-dag-node')].map(g => ({...g.dataset}))")
    return f"screenshot: {shot}\ncell outputs: {outputs}\nDAG nodes: {nodes}"


def _watch_live_run(page: Any, tmp_path: Path, release: Path | None = None) -> dict[str, Any]:
    """After Run All: see a node Running, then every node of that widget Finished; return what was seen."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(f'{NODES}[data-status="Running"]').first.wait_for(state="attached")
    except PlaywrightTimeout:
        pytest.fail(f"no DAG node was shown Running:\n{_page_state(page, tmp_path)}")
    index = page.evaluate(_INDEX_WITH_STATUS_JS, "Running")
    assert index >= 0
    running_nodes = page.evaluate(_NODES_JS, index)
    page.locator(".amlpipe-dag").nth(index).scroll_into_view_if_needed()
    running_shot = _screenshot(page, tmp_path, "running")
    if release is not None:
        release.write_text("go", encoding="utf-8")
    # No cell runs again from here: the widget follows the run's events by itself.
    try:
        page.wait_for_function(_ALL_FINISHED_JS, arg=index, timeout=240_000)
    except PlaywrightTimeout:
        pytest.fail(f"the DAG widget did not show every node Finished:\n{_page_state(page, tmp_path)}")
    finished_nodes = page.evaluate(_NODES_JS, index)
    page.locator(".amlpipe-dag").nth(index).scroll_into_view_if_needed()
    finished_shot = _screenshot(page, tmp_path, "finished")
    return {"running": running_nodes, "finished": finished_nodes, "shots": (running_shot, finished_shot)}


def _assert_colours(seen: dict[str, Any]) -> None:
    running_fills = {n["fill"] for n in seen["running"] if n["status"] == "Running"}
    finished_fills = {n["fill"] for n in seen["finished"]}
    assert running_fills and None not in running_fills, seen
    assert len(finished_fills) == 1 and None not in finished_fills, f"Finished nodes differ in colour: {seen}"
    assert running_fills.isdisjoint(finished_fills), f"Running and Finished nodes have the same fill: {seen}"
    for shot in seen["shots"]:
        assert shot.stat().st_size > 0, shot


def test_dag_widget_follows_a_run_live_in_jupyterlab(lab: Any, page: Any, tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in GATED_CELLS])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(notebook, lab.root / "live-dag.ipynb")

    lab.open_notebook(page, "live-dag.ipynb")
    lab.run_all(page)
    seen = _watch_live_run(page, tmp_path, release=lab.root / "RELEASE")

    running = {n["step"]: n["status"] for n in seen["running"]}
    assert running == {"gate": "Running", "copy": "NotStarted"} or running == {"gate": "Running", "copy": "Queued"}, (
        running
    )
    assert {n["step"]: n["status"] for n in seen["finished"]} == {"gate": "Finished", "copy": "Finished"}
    assert not any(n["reused"] for n in seen["finished"]), seen
    _assert_colours(seen)
    # The run really ran: the copy step's output holds what the gate step wrote after its release.
    (copied,) = (lab.root / "ws").rglob("copy.txt")
    assert copied.read_text(encoding="utf-8") == "released"


def test_widgets_notebook_shows_a_live_dag_in_jupyterlab(lab: Any, page: Any, tmp_path: Path) -> None:
    if not WIDGETS_NOTEBOOK.exists():
        pytest.fail(f"{WIDGETS_NOTEBOOK} is missing: the example notebook of the widgets")
    shutil.copyfile(WIDGETS_NOTEBOOK, lab.root / WIDGETS_NOTEBOOK.name)

    lab.open_notebook(page, WIDGETS_NOTEBOOK.name)
    lab.run_all(page)
    seen = _watch_live_run(page, tmp_path)

    assert any(n["status"] == "Running" for n in seen["running"]), seen
    assert len(seen["finished"]) >= 2 and all(n["status"] == "Finished" for n in seen["finished"]), seen
    assert {n["step"] for n in seen["finished"]} == {n["step"] for n in seen["running"]}
    _assert_colours(seen)
