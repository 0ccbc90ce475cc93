"""The REST server, tested as a user runs it: ``python -m jupyter_amlpipe serve`` on a free loopback port.

Helpers shared by the server tests: a test pipeline to publish, a server
process that is started and stopped like a user would, and polling with
generous deadlines (a loaded 2-core machine).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

import jupyter_amlpipe

ASSETS = Path(__file__).resolve().parent / "assets"
PACKAGE_ROOT = str(Path(jupyter_amlpipe.__file__).resolve().parent.parent)
WAIT = 120.0  # seconds: generous on a loaded 2-core machine


def child_env() -> dict[str, str]:
    """This environment with the checkout importable and nothing that looks like a step or a CLI run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    for key in [k for k in env if k.startswith(("AMLPIPE_CONTEXT", "AMLPIPE_RUN_DIR", "AZUREML_"))]:
        del env[key]
    for key in ("AMLPIPE_STARTED_BY", "AMLPIPE_WORKSPACE_PATH"):
        env.pop(key, None)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def write_pipeline(ws: Any, source: Path, name: str = "write", text: str = "default-text") -> Any:
    """A one-step pipeline: server_write.py with parameters text, count (int) and seconds, output ``out``."""
    from jupyter_amlpipe import Pipeline, PipelineData, PipelineParameter
    from jupyter_amlpipe.steps import PythonScriptStep

    source.mkdir(parents=True, exist_ok=True)
    (source / "server_write.py").write_text((ASSETS / "server_write.py").read_text())
    out = PipelineData("out", datastore=ws.get_default_datastore())
    text_p = PipelineParameter(name="text", default_value=text)
    count_p = PipelineParameter(name="count", default_value=1)
    seconds_p = PipelineParameter(name="seconds", default_value=0)
    step = PythonScriptStep(
        name=name,
        script_name="server_write.py",
        arguments=["--output", out, "--text", text_p, "--count", count_p, "--seconds", seconds_p],
        outputs=[out],
        params={"count": count_p},
        source_directory=str(source),
        allow_reuse=False,
    )
    return Pipeline(workspace=ws, steps=[step])


def noop_pipeline(ws: Any, source: Path) -> Any:
    """A one-step pipeline that prints "noop", with one parameter ``label``."""
    from jupyter_amlpipe import Pipeline, PipelineParameter
    from jupyter_amlpipe.steps import PythonScriptStep

    source.mkdir(parents=True, exist_ok=True)
    (source / "server_noop.py").write_text((ASSETS / "server_noop.py").read_text())
    label = PipelineParameter(name="label", default_value="x")
    step = PythonScriptStep(
        name="noop", script_name="server_noop.py", arguments=["--label", label], source_directory=str(source)
    )
    return Pipeline(workspace=ws, steps=[step])


class Server:
    """``python -m jupyter_amlpipe serve --workspace WS --port P ...`` in a subprocess, stopped with SIGTERM."""

    def __init__(self, workspace_path: Path, log_path: Path, *extra: str) -> None:
        self.workspace_path = Path(workspace_path)
        self.log_path = log_path
        self.extra = extra
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.port = free_port()
        args = [sys.executable, "-m", "jupyter_amlpipe", "serve", "--workspace", str(self.workspace_path)]
        args += ["--port", str(self.port), *self.extra]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            args, env=child_env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.log_path.parent
        )
        log.close()
        wait_until(self._healthy, f"the server on port {self.port} to answer /health", timeout=60)
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return httpx.get(self.url + "/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM (uvicorn shuts down gracefully), then SIGKILL after a deadline; the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        return proc.returncode

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def follow(client: httpx.Client, run_id: str, timeout: float = WAIT) -> dict[str, Any]:
    """GET /runs/{run_id} until the run has ended; its view."""

    def ended() -> dict[str, Any] | None:
        view = client.get(f"/runs/{run_id}")
        assert view.status_code == 200, view.text
        data: dict[str, Any] = view.json()
        return data if data["terminal"] else None

    result: dict[str, Any] = wait_until(ended, f"run {run_id} to end", timeout)
    return result


@contextlib.contextmanager
def serving(workspace_path: Path, log_path: Path, *extra: str) -> Any:
    server = Server(workspace_path, log_path, *extra).start()
    try:
        yield server
    finally:
        server.stop()
