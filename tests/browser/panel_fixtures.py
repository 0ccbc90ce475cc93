"""Helpers of the JupyterLab panel's browser tests: the built extension, a workspace with runs, the panel.

``lab_server_config`` (overriding the one of ``conftest.py``) makes the test's
Lab load the built extension from this checkout without any system-wide
install: ``LabApp.extra_labextensions_path`` names a temporary folder holding
a ``jupyter-amlpipe`` symlink to ``jupyter_amlpipe/labextension``, and
``ServerApp.jpserver_extensions`` enables the server extension. Without the
built extension the tests skip (or fail when ``AMLPIPE_REQUIRE_ENGINES``
names ``browser``).

The workspace lives in the Lab root (``ws/``, found from the root through
``.azureml/config.json``, as ``Workspace.from_config`` finds it); its runs are
made with the Python API in the test process or with the ``amlpipe`` command
in a subprocess, never through the panel under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "jupyter_amlpipe" / "labextension"
SERVER_EXTENSION = ROOT / "jupyter_amlpipe" / "jupyter" / "serverext" / "__init__.py"
BUILD_HINT = "build it with scripts/build-labextension"
SCREENSHOT_DIR_ENV = "AMLPIPE_SCREENSHOT_DIR"
UPDATE_DOCS_ENV = "AMLPIPE_UPDATE_DOCS_SCREENSHOT"
DOCS_SCREENSHOT = ROOT / "docs" / "images" / "jupyterlab-panel.png"
WORKSPACE_NAME = "panel"
RUN_TIMEOUT_MS = 240_000  # for a run started through the panel or the CLI to end on a loaded machine

OK_SCRIPT = """\
print("hello from the panel test")
"""
PREPARE_SCRIPT = """\
print("prepared")
"""
EXPLODE_SCRIPT = """\
import sys
print("about to fail")
print("boom: the input table is missing", file=sys.stderr)
sys.exit(3)
"""
# Holds until the file named by --release exists (at most five minutes), so the browser sees the step Running.
GATE_SCRIPT = """\
import argparse, pathlib, time
parser = argparse.ArgumentParser()
parser.add_argument("--release")
args = parser.parse_args()
deadline = time.monotonic() + 300
while not pathlib.Path(args.release).exists() and time.monotonic() < deadline:
    time.sleep(0.2)
print("released")
"""
GREET_SCRIPT = """\
import argparse, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--greeting")
parser.add_argument("--out")
args = parser.parse_args()
print(f"greeting={args.greeting}")
pathlib.Path(args.out).write_text(args.greeting)
"""
# A pipeline file for `amlpipe submit live_pipeline.py:pipeline`, run from the Lab root.
LIVE_PIPELINE = """\
from pathlib import Path

from jupyter_amlpipe import Pipeline, Workspace
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.steps import PythonScriptStep

HERE = Path(__file__).resolve().parent
ws = Workspace.from_config(str(HERE))
gate = PythonScriptStep(
    name="gate",
    script_name="gate.py",
    arguments=["--release", str(HERE / "RELEASE")],
    compute_target=LocalCompute(workspace=ws, name="local"),
    source_directory=str(HERE / "src"),
    allow_reuse=False,
)
pipeline = Pipeline(workspace=ws, steps=[gate])
"""


def require_built_extension() -> None:
    """Skip (or fail, when AMLPIPE_REQUIRE_ENGINES names browser) unless the panel's parts exist."""
    missing = [str(path.relative_to(ROOT)) for path in (BUILT / "package.json", SERVER_EXTENSION) if not path.exists()]
    if not missing:
        return
    reason = f"the JupyterLab panel is not built ({', '.join(missing)} missing): {BUILD_HINT}"
    required = {n.strip().lower() for n in os.environ.get("AMLPIPE_REQUIRE_ENGINES", "").split(",")}
    if "browser" in required or "all" in required:
        pytest.fail(f"{reason}; AMLPIPE_REQUIRE_ENGINES requires the browser tests to run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(name="lab_server_config")
def lab_server_config_fixture(tmp_path: Path) -> dict[str, Any]:
    """Lab loads this checkout's built extension and server extension; its app is reachable from the page."""
    require_built_extension()
    extensions = tmp_path / "labextensions"
    extensions.mkdir()
    (extensions / "jupyter-amlpipe").symlink_to(BUILT, target_is_directory=True)
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_amlpipe": True}},
        "LabApp": {"extra_labextensions_path": [str(extensions)], "expose_app_in_browser": True},
    }


@dataclass
class PanelWorkspace:
    """The workspace in the Lab root, with its finished and failed runs."""

    ws: Any
    root: Path
    finished_id: str
    failed_id: str


def _write_sources(root: Path) -> Path:
    src = root / "src"
    src.mkdir(exist_ok=True)
    for name, text in (
        ("ok.py", OK_SCRIPT),
        ("prepare.py", PREPARE_SCRIPT),
        ("explode.py", EXPLODE_SCRIPT),
        ("gate.py", GATE_SCRIPT),
        ("greet.py", GREET_SCRIPT),
    ):
        (src / name).write_text(text, encoding="utf-8")
    return src


def make_workspace(root: Path) -> PanelWorkspace:
    """A workspace in ``root/ws`` (found from ``root``) with one Finished and one Failed run, made with the API."""
    from jupyter_amlpipe import Experiment, Pipeline, Workspace
    from jupyter_amlpipe.compute import LocalCompute
    from jupyter_amlpipe.steps import PythonScriptStep

    src = _write_sources(root)
    ws = Workspace.create(WORKSPACE_NAME, path=root / "ws")
    ws.write_config(root)
    compute = LocalCompute(workspace=ws, name="local")
    hello = PythonScriptStep(name="hello", script_name="ok.py", compute_target=compute, source_directory=str(src))
    finished = Experiment(ws, "daily").submit(Pipeline(workspace=ws, steps=[hello]))
    assert finished.wait_for_completion(show_output=False, raise_on_error=False) == "Finished"
    prepare = PythonScriptStep(
        name="prepare", script_name="prepare.py", compute_target=compute, source_directory=str(src)
    )
    explode = PythonScriptStep(
        name="explode", script_name="explode.py", compute_target=compute, source_directory=str(src)
    )
    explode.run_after(prepare)
    failed = Experiment(ws, "broken").submit(Pipeline(workspace=ws, steps=[prepare, explode]))
    assert failed.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    return PanelWorkspace(ws=ws, root=root, finished_id=finished.id, failed_id=failed.id)


def publish_greeter(panel_ws: PanelWorkspace, out_file: Path) -> Any:
    """Publish a one-step pipeline whose parameter ``greeting`` (default "hello") is written to ``out_file``."""
    from jupyter_amlpipe import Pipeline, PipelineParameter
    from jupyter_amlpipe.compute import LocalCompute
    from jupyter_amlpipe.steps import PythonScriptStep

    ws = panel_ws.ws
    greeting = PipelineParameter(name="greeting", default_value="hello")
    greet = PythonScriptStep(
        name="greet",
        script_name="greet.py",
        arguments=["--greeting", greeting, "--out", str(out_file)],
        compute_target=LocalCompute(workspace=ws, name="local"),
        source_directory=str(panel_ws.root / "src"),
        allow_reuse=False,
    )
    return Pipeline(workspace=ws, steps=[greet]).publish(name="greeter", description="says hello", version="1.0")


def start_cli_run(root: Path, log: Path) -> subprocess.Popen[bytes]:
    """``amlpipe submit live_pipeline.py:pipeline --experiment live`` in the Lab root; the step waits for RELEASE."""
    (root / "live_pipeline.py").write_text(LIVE_PIPELINE, encoding="utf-8")
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jupyter_amlpipe", "submit", "live_pipeline.py:pipeline", "-e", "live", "-q"],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(predicate: Any, what: str, timeout: float = 60.0) -> None:
    """Poll ``predicate`` (outside the browser) until it is true; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


# -- the page ------------------------------------------------------------------------------------------------------


def sel(testid: str, **data: str) -> str:
    """A CSS selector of ``[data-testid=testid]`` with ``data-*`` attributes (``run_id`` → ``data-run-id``)."""
    attrs = "".join(f'[data-{key.replace("_", "-")}="{value}"]' for key, value in data.items())
    return f'[data-testid="{testid}"]{attrs}'


CONSOLE_ERRORS: dict[int, list[str]] = {}  # id(page) -> the errors its console showed


def open_lab(lab: Any, page: Any) -> None:
    """Open Lab's main page (fresh layout) and wait until its shell is there; record console errors."""
    errors = CONSOLE_ERRORS.setdefault(id(page), [])
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    page.locator("#jp-main-dock-panel").wait_for(state="visible")
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.wait_for(state="visible")


def open_panel(page: Any, lab: Any, shots: Path) -> Any:
    """Click the Pipelines tab of the left sidebar; return the panel's locator once it shows a workspace."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="amlpipe-panel"]')
    try:
        tab.wait_for(state="visible")
        tab.click()
        panel = page.locator("#amlpipe-panel")
        panel.wait_for(state="visible")
        panel.locator(f"{sel('workspace-name')}, {sel('panel-error')}").first.wait_for(state="visible")
    except PlaywrightTimeout:
        pytest.fail(f"the Pipelines panel did not open:\n{panel_state(page, lab, shots)}")
    return panel


def panel_state(page: Any, lab: Any, shots: Path, name: str = "failure") -> str:
    """What the panel shows (screenshot path, text, data-testid elements) and Lab's log tail, for a failure."""
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"{name}.png"
    page.screenshot(path=str(shot))
    text = page.evaluate("() => { const p = document.getElementById('amlpipe-panel'); return p ? p.innerText : null; }")
    tagged = page.evaluate(
        "() => [...document.querySelectorAll('#amlpipe-panel [data-testid]')].slice(0, 80).map(e => ({...e.dataset}))"
    )
    errors = CONSOLE_ERRORS.get(id(page), [])[-20:]
    return (
        f"screenshot: {shot}\npanel text: {text!r}\ntagged: {tagged}\nconsole errors: {errors}\n"
        f"Lab log tail:\n{lab.log_text()[-4000:]}"
    )


def screenshot_dir(tmp_path: Path) -> Path:
    """``$AMLPIPE_SCREENSHOT_DIR`` when set (so docs can reuse the images), else the test's ``tmp_path``."""
    folder = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def use_theme(page: Any, theme: str) -> None:
    """Settings > Theme > ``theme`` from Lab's menu bar; wait until the theme is applied."""
    page.locator('.lm-MenuBar-itemLabel:text-is("Settings")').click()
    page.locator('.lm-Menu-itemLabel:text-is("Theme")').hover()
    page.locator(f'.lm-Menu-itemLabel:text-is("{theme}")').click()
    light = "false" if "Dark" in theme else "true"
    page.locator(f'body[data-jp-theme-light="{light}"][data-jp-theme-name="{theme}"]').wait_for(state="attached")
    page.wait_for_timeout(500)  # let the theme's stylesheet paint before a screenshot


# The contrast ratio (WCAG) of an element's text colour against the first opaque background behind it.
CONTRAST_JS = """
(el) => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  let bg = null;
  for (let node = el; node; node = node.parentElement) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) { bg = c; break; }
  }
  bg = bg || [255, 255, 255];
  const fg = parse(getComputedStyle(el).color);
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return {ratio: (hi + 0.05) / (lo + 0.05), fg: getComputedStyle(el).color, bg: `rgb(${bg.slice(0, 3).join(',')})`};
}
"""


@pytest.fixture(name="panel_ws")
def panel_ws_fixture(lab: Any) -> PanelWorkspace:
    """The Lab root's workspace, with a Finished run (experiment ``daily``) and a Failed one (``broken``)."""
    return make_workspace(Path(os.path.realpath(lab.root)))
