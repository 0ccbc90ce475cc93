"""A headless JupyterLab and a headless Chromium for the browser tests.

``lab`` starts ``jupyter lab`` on a free port with a token, serving a folder in
``tmp_path``, with its own settings (no news or update checks, the default
kernel starts when a notebook opens) and its own workspaces; the server is
stopped by its PID at the end. ``page`` is a Playwright page of Debian's
Chromium (``/usr/bin/chromium``). ``lab.open_notebook`` and ``lab.run_all`` drive Lab the
way a user does: open a notebook, wait until its kernel is idle, then
Run > Run All Cells.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
START_TIMEOUT = 120  # seconds for Lab to answer; generous for a loaded 2-core machine
UI_TIMEOUT_MS = int(
    os.environ.get("AMLPIPE_UI_TIMEOUT_MS", "120000")
)  # for the page to show something (a kernel, a cell's output)

# JupyterLab settings: no news toast or update check, and the notebook's kernel starts by itself.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True},
}


@dataclass
class Lab:
    """A running JupyterLab: its address, token, the folder it serves and its log."""

    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen[bytes]

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def open_notebook(self, page: Any, name: str) -> None:
        """Open ``name`` (a path under Lab's root) and wait until its kernel is idle."""
        page.goto(self.notebook_url(name))
        page.locator(".jp-Notebook").first.wait_for(state="visible")
        # The first Run All right after a notebook opens can be lost: wait for the started kernel to be idle.
        page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(state="attached")
        self._wait_for_one_idle_kernel(name)
        page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(state="attached")

    def _wait_for_one_idle_kernel(self, name: str) -> None:
        """Wait until the notebook's session has settled on one kernel and that kernel is idle."""
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            try:
                sessions = [s for s in self.api("sessions") if s.get("path", "").endswith(name)]
                kernels = self.api("kernels")
            except urllib.error.HTTPError as exc:  # jupyter_server answers 500 while a kernel is half-started
                if exc.code < 500:
                    raise
                time.sleep(0.5)
                continue
            if (
                len(sessions) == 1
                and len(kernels) == 1
                and sessions[0]["kernel"]["id"] == kernels[0]["id"]
                and kernels[0].get("execution_state") == "idle"
            ):
                return
            time.sleep(0.5)
        raise AssertionError(f"the kernel of {name} did not settle: sessions {self.api('sessions')}\n{self.log_text()}")

    def run_all(self, page: Any) -> None:
        """Run > Run All Cells, from Lab's main menu."""
        page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
        page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
        # Run All took effect once the first code cell is queued or ran ("[*]:" or "[1]:", no longer "[ ]:").
        page.wait_for_function(
            """() => { const p = document.querySelector('.jp-CodeCell .jp-InputPrompt');
                       return p !== null && /\\[(\\*|\\d+)\\]/.test(p.textContent); }"""
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_settings(settings_dir: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _lab_env(base: Path) -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)  # for the kernels
    env["AMLPIPE_WIDGETS_DIR"] = str(base / "widgets-work")  # 03-widgets.ipynb works here, not in a new /tmp folder
    for var, folder in (
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_CONFIG_DIR", "config"),
    ):
        (base / folder).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / folder)
    _write_settings(base / "settings")
    return env


def _wait_until_up(lab: Lab) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {lab.process.returncode}:\n{lab.log_text()}")
        try:
            lab.api("status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, http.client.HTTPException):
            # HTTPException: something else (a kernel's socket) answered on the port Lab was given;
            # Lab then exits with "already in use" and the caller tries another port.
            time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not answer at {lab.url} within {START_TIMEOUT} s:\n{lab.log_text()}")


def _stop(lab: Lab) -> None:
    """Shut down the kernels Lab started, then end Lab itself, by its PID."""
    if lab.process.poll() is None:
        try:
            for kernel in lab.api("kernels"):
                lab.api(f"kernels/{kernel['id']}", method="DELETE")
        except (urllib.error.URLError, OSError, ValueError):
            pass
        lab.process.terminate()
        try:
            lab.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            lab.process.kill()
            lab.process.wait(timeout=30)


@pytest.fixture
def lab_server_config() -> dict[str, Any]:
    """Extra Jupyter configuration for ``lab`` (``jupyter_server_config.json`` in its own JUPYTER_CONFIG_DIR).

    Empty here; a test module overrides this fixture, e.g. to load an extension from the checkout.
    """
    return {}


@pytest.fixture
def lab(tmp_path: Path, lab_server_config: dict[str, Any]) -> Iterator[Lab]:
    """A headless JupyterLab serving ``tmp_path / "lab"``."""
    root = tmp_path / "lab"
    root.mkdir()
    base = tmp_path / "jupyter"
    env = _lab_env(base)
    if lab_server_config:
        (base / "config" / "jupyter_server_config.json").write_text(json.dumps(lab_server_config), encoding="utf-8")
    token = secrets.token_hex(16)
    log = base / "lab.log"
    started: Lab | None = None
    for _attempt in range(3):  # another process may take the free port before Lab binds it
        port = _free_port()
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyterlab",
                    "--no-browser",
                    "--ip=127.0.0.1",
                    f"--port={port}",
                    "--ServerApp.port_retries=0",
                    f"--ServerApp.token={token}",
                    f"--ServerApp.root_dir={root}",
                    "--allow-root",
                ],
                cwd=root,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        candidate = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log, process=process)
        try:
            _wait_until_up(candidate)
        except RuntimeError:
            _stop(candidate)
            if "already in use" in candidate.log_text() or "Address already" in candidate.log_text():
                continue
            raise
        started = candidate
        break
    if started is None:
        raise RuntimeError(f"jupyter lab could not bind a free port:\n{log.read_text(errors='replace')}")
    try:
        yield started
    finally:
        _stop(started)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A Playwright page in headless Chromium (Debian's, at /usr/bin/chromium)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            new_page = context.new_page()
            new_page.set_default_timeout(UI_TIMEOUT_MS)
            yield new_page
        finally:
            browser.close()
