"""The Pipelines sidebar panel in a real JupyterLab, driven by a real browser.

Lab serves a folder holding a workspace (``ws/``, found from the root) with a
Finished run and a Failed run made with the Python API. The tests open the
panel from its sidebar tab and check what a user sees: both runs with their
statuses, the failing step's stderr, a CLI run going Running → Finished
without a reload, a published pipeline disabled from the panel (checked with
the Python API), a published pipeline run from the panel's form with a changed
parameter, a run opened with Tab and Enter, and screenshots in the light and
the dark theme (in the test's folder, or ``$AMLPIPE_SCREENSHOT_DIR``;
``AMLPIPE_UPDATE_DOCS_SCREENSHOT=1`` also writes docs/images/jupyterlab-panel.png).

The panel's DOM contract is its ``data-testid`` attributes (see panel_fixtures.sel).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from .panel_fixtures import (  # noqa: F401  (the *_fixture names are fixtures)
    CONTRAST_JS,
    DOCS_SCREENSHOT,
    RUN_TIMEOUT_MS,
    UPDATE_DOCS_ENV,
    PanelWorkspace,
    lab_server_config_fixture,
    open_lab,
    open_panel,
    panel_state,
    panel_ws_fixture,
    publish_greeter,
    screenshot_dir,
    sel,
    start_cli_run,
    use_theme,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def _expect(page: Any, lab: Any, tmp_path: Path, selector: str, what: str, timeout: float | None = None) -> Any:
    """Wait until ``selector`` is visible in the panel; fail with what the panel shows otherwise."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    locator = page.locator(f"#amlpipe-panel {selector}").first
    try:
        locator.wait_for(state="visible", timeout=timeout)
    except PlaywrightTimeout:
        pytest.fail(f"the panel does not show {what} ({selector}):\n{panel_state(page, lab, tmp_path / 'failure')}")
    return locator


def _open_runs(lab: Any, page: Any, tmp_path: Path) -> Any:
    open_lab(lab, page)
    panel = open_panel(page, lab, tmp_path / "failure")
    name = _expect(page, lab, tmp_path, sel("workspace-name"), "the workspace's name")
    assert name.inner_text().strip() == "panel"
    return panel


def test_panel_shows_runs_and_the_failing_steps_stderr(
    lab: Any, page: Any, panel_ws: PanelWorkspace, tmp_path: Path
) -> None:
    _open_runs(lab, page, tmp_path)
    tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="amlpipe-panel"]')
    assert "Pipelines" in (tab.get_attribute("title") or "") + tab.inner_text()

    finished = _expect(
        page,
        lab,
        tmp_path,
        f"{sel('experiment-group', experiment='daily')} {sel('run-row', run_id=panel_ws.finished_id)}",
        "the finished run in its experiment",
    )
    failed = _expect(
        page,
        lab,
        tmp_path,
        f"{sel('experiment-group', experiment='broken')} {sel('run-row', run_id=panel_ws.failed_id)}",
        "the failed run in its experiment",
    )
    assert finished.get_attribute("data-status") == "Finished"
    assert failed.get_attribute("data-status") == "Failed"
    assert "Finished" in finished.inner_text()
    assert "Failed" in failed.inner_text()

    # The status filter keeps only the failed run.
    page.locator(f"#amlpipe-panel {sel('status-filter')}").select_option("Failed")
    page.locator(f"#amlpipe-panel {sel('run-row', run_id=panel_ws.finished_id)}").wait_for(state="detached")
    assert page.locator(f"#amlpipe-panel {sel('run-row', run_id=panel_ws.failed_id)}").is_visible()

    failed.click()
    detail = _expect(
        page, lab, tmp_path, sel("run-detail", run_id=panel_ws.failed_id, status="Failed"), "the failed run's detail"
    )
    _expect(page, lab, tmp_path, f"{sel('run-dag')} {sel('dag-node', step='explode', status='Failed')}", "its DAG")
    assert detail.locator(sel("step-row", step="prepare", status="Finished")).is_visible()
    detail.locator(sel("step-row", step="explode", status="Failed")).click()
    stderr = _expect(page, lab, tmp_path, f"{sel('step-detail', step='explode')} {sel('stderr')}", "the step's stderr")
    page.wait_for_function(
        "(el) => el.textContent.includes('boom: the input table is missing')", arg=stderr.element_handle()
    )
    assert "about to fail" in page.locator(f"#amlpipe-panel {sel('stdout')}").first.inner_text()
    # A failed run offers Resume; a finished one does not offer Cancel.
    assert detail.locator(sel("resume-run")).is_visible()
    assert detail.locator(sel("cancel-run")).count() == 0


def test_cli_run_goes_from_running_to_finished_without_a_reload(
    lab: Any, page: Any, panel_ws: PanelWorkspace, tmp_path: Path
) -> None:
    _open_runs(lab, page, tmp_path)
    _expect(page, lab, tmp_path, sel("run-row", run_id=panel_ws.finished_id), "the finished run")
    page.evaluate("() => { window.__amlpipeNoReload = true; }")  # gone if the page reloads

    cli = start_cli_run(panel_ws.root, tmp_path / "cli.log")
    try:
        live = f"{sel('experiment-group', experiment='live')} {sel('run-row')}"
        running = _expect(
            page, lab, tmp_path, f'{live}[data-status="Running"]', "the CLI's run Running", timeout=RUN_TIMEOUT_MS
        )
        run_id = running.get_attribute("data-run-id")
        assert run_id
        (panel_ws.root / "RELEASE").write_text("go", encoding="utf-8")
        _expect(
            page,
            lab,
            tmp_path,
            sel("run-row", run_id=run_id, status="Finished"),
            "the CLI's run Finished",
            timeout=RUN_TIMEOUT_MS,
        )
        assert cli.wait(timeout=120) == 0, (tmp_path / "cli.log").read_text(errors="replace")
        row_text = page.locator(f"#amlpipe-panel {sel('run-row', run_id=run_id)}").inner_text()
        assert "cli" in row_text.lower(), f"the row does not say the CLI started it: {row_text!r}"
    finally:
        (panel_ws.root / "RELEASE").write_text("go", encoding="utf-8")
        if cli.poll() is None:
            cli.terminate()
            cli.wait(timeout=30)
    assert page.evaluate("() => window.__amlpipeNoReload === true"), "the page reloaded"
    from jupyter_amlpipe import Experiment, PipelineRun

    assert PipelineRun(Experiment(panel_ws.ws, "live"), run_id).get_status() == "Finished"


def test_published_pipeline_toggles_and_runs_from_the_form(
    lab: Any, page: Any, panel_ws: PanelWorkspace, tmp_path: Path
) -> None:
    from jupyter_amlpipe import Experiment, PipelineRun, PublishedPipeline

    out_file = panel_ws.root / "greeting.txt"
    published = publish_greeter(panel_ws, out_file)
    ws = panel_ws.ws
    _open_runs(lab, page, tmp_path)
    page.locator(f"#amlpipe-panel {sel('tab-pipelines')}").click()
    row = _expect(page, lab, tmp_path, sel("pipeline-row", pipeline_id=published.id), "the published pipeline")
    assert row.get_attribute("data-status") == "Active"
    assert "greeter" in row.inner_text()
    toggle = row.locator(sel("pipeline-toggle"))
    assert toggle.is_checked()

    toggle.click()
    _expect(page, lab, tmp_path, sel("pipeline-row", pipeline_id=published.id, status="Disabled"), "it Disabled")
    wait_for(lambda: PublishedPipeline.get(ws, published.id).status == "Disabled", "the pipeline Disabled in the API")
    assert not row.locator(sel("pipeline-toggle")).is_checked()

    row.locator(sel("pipeline-toggle")).click()
    _expect(page, lab, tmp_path, sel("pipeline-row", pipeline_id=published.id, status="Active"), "it Active again")
    wait_for(lambda: PublishedPipeline.get(ws, published.id).status == "Active", "the pipeline Active in the API")

    row.locator(sel("pipeline-run")).click()
    form = _expect(page, lab, tmp_path, sel("run-form"), "the Run form")
    greeting = form.locator(f'{sel("param-input")}[name="greeting"]')
    assert greeting.input_value() == "hello"  # the published default
    form.locator('input[name="ExperimentName"]').fill("from-panel")
    greeting.fill("bonjour")
    form.locator(sel("run-submit")).click()

    detail = _expect(page, lab, tmp_path, sel("run-detail"), "the new run's detail")
    run_id = detail.get_attribute("data-run-id")
    assert run_id
    _expect(
        page, lab, tmp_path, sel("run-detail", run_id=run_id, status="Finished"), "it Finished", timeout=RUN_TIMEOUT_MS
    )
    assert out_file.read_text(encoding="utf-8") == "bonjour"
    assert PipelineRun(Experiment(ws, "from-panel"), run_id).get_status() == "Finished"
    detail.locator(sel("step-row", step="greet")).click()
    stdout = _expect(page, lab, tmp_path, f"{sel('step-detail', step='greet')} {sel('stdout')}", "the step's stdout")
    page.wait_for_function("(el) => el.textContent.includes('greeting=bonjour')", arg=stdout.element_handle())


def test_a_run_opens_with_tab_and_enter(lab: Any, page: Any, panel_ws: PanelWorkspace, tmp_path: Path) -> None:
    _open_runs(lab, page, tmp_path)
    _expect(page, lab, tmp_path, sel("run-row", run_id=panel_ws.failed_id), "the failed run")
    page.locator(f"#amlpipe-panel {sel('refresh')}").focus()
    focused: dict[str, Any] = {}
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; return e ? {testid: e.dataset.testid || null,"
            " run: e.dataset.runId || null, inPanel: !!e.closest('#amlpipe-panel')} : {}; }"
        )
        if focused.get("testid") == "run-row" and focused.get("run") == panel_ws.failed_id:
            break
    else:
        pytest.fail(f"Tab never reached the failed run's row; last focus {focused}")
    page.keyboard.press("Enter")
    _expect(page, lab, tmp_path, sel("run-detail", run_id=panel_ws.failed_id), "the run opened with Enter")

    # Back to the list, with the keyboard too.
    page.locator(f"#amlpipe-panel {sel('back')}").focus()
    page.keyboard.press("Enter")
    _expect(page, lab, tmp_path, sel("run-row", run_id=panel_ws.failed_id), "the runs list again")

    # The panel's commands are in the command palette. Soon after Lab loads, it may move focus to the
    # Launcher and so close the (modal) palette again: open it until a search in it sticks.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    labels: list[str] = []
    for _attempt in range(5):
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette-input").first
        try:
            palette.wait_for(state="visible", timeout=5000)
            palette.fill("Pipelines", timeout=5000)
            page.locator(".lm-CommandPalette-itemLabel").first.wait_for(state="visible", timeout=5000)
            labels = page.locator(".lm-CommandPalette-itemLabel").all_inner_texts()
        except PlaywrightTimeout:  # the palette closed under us: try again
            page.wait_for_timeout(1000)
            continue
        if labels:
            break
    assert any("open run" in label for label in labels), labels
    assert any("refresh" in label for label in labels), labels


def _shoot(target: Any, path: Path, saved: list[Path]) -> None:
    target.screenshot(path=str(path))
    assert path.stat().st_size > 0
    saved.append(path)
    print(f"screenshot: {path}")


def test_panel_screenshots_light_and_dark(lab: Any, page: Any, panel_ws: PanelWorkspace, tmp_path: Path) -> None:
    panel = _open_runs(lab, page, tmp_path)
    _expect(page, lab, tmp_path, sel("run-row", run_id=panel_ws.finished_id), "the finished run")
    shots = screenshot_dir(tmp_path)
    saved: list[Path] = []
    contrast: dict[str, dict[str, Any]] = {}
    for theme, name in (("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")):
        if name == "dark":
            use_theme(page, theme)
        # The runs list.
        row = _expect(page, lab, tmp_path, sel("run-row", run_id=panel_ws.failed_id), "the failed run")
        contrast[f"{name} run row"] = page.evaluate(CONTRAST_JS, row.element_handle())
        _shoot(panel, shots / f"jupyterlab-panel-runs-{name}.png", saved)
        # The failed run: its graph and the failing step's logs.
        row.click()
        _expect(page, lab, tmp_path, sel("run-dag"), "the failed run's graph")
        page.locator(f"#amlpipe-panel {sel('step-row', step='explode')}").click()
        stderr = _expect(page, lab, tmp_path, f"{sel('step-detail', step='explode')} {sel('stderr')}", "stderr")
        page.wait_for_function("(el) => el.textContent.includes('boom')", arg=stderr.element_handle())
        contrast[f"{name} stderr"] = page.evaluate(CONTRAST_JS, stderr.element_handle())
        _shoot(panel, shots / f"jupyterlab-panel-run-{name}.png", saved)
        _shoot(page, shots / f"jupyterlab-lab-run-{name}.png", saved)
        if name == "light" and os.environ.get(UPDATE_DOCS_ENV) == "1":
            DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shots / "jupyterlab-lab-run-light.png", DOCS_SCREENSHOT)
            print(f"docs screenshot: {DOCS_SCREENSHOT}")
        page.locator(f"#amlpipe-panel {sel('back')}").click()
    # Legible in both themes: text stands out from its background, and the dark theme's background differs.
    for what, seen in contrast.items():
        assert seen["ratio"] >= 3.0, f"{what}: text {seen['fg']} on {seen['bg']} is hard to read"
    assert contrast["light run row"]["bg"] != contrast["dark run row"]["bg"], contrast
    assert len(saved) == 6
