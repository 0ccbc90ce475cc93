"""Storage emulators on loopback for the cloud datastore tests: Azurite (Azure Blob) and moto (S3).

Where they come from:

* Azurite: ``npm install azurite`` into ``$AMLPIPE_AZURITE_DIR`` (default
  ``~/.cache/amlpipe-azurite``), or an ``azurite-blob`` on PATH
  (``npm install -g azurite``).
* moto: ``pip install "moto[server]"`` gives ``moto_server``.

The session fixtures start one server each on a free loopback port with its
data in a temporary folder, and end exactly the process they started (by PID).
Tests get fresh container and bucket names, so they do not see each other's data.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

AZURITE_DIR_ENV = "AMLPIPE_AZURITE_DIR"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, documented by Microsoft).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_dir() -> Path:
    return Path(os.environ.get(AZURITE_DIR_ENV) or Path.home() / ".cache" / "amlpipe-azurite")


def azurite_command() -> str | None:
    local = azurite_dir() / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


def moto_command() -> list[str] | None:
    beside = Path(sys.executable).with_name("moto_server")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("moto_server")
    return [found] if found else None


def check_azurite() -> str | None:
    """None when the Azure Blob tests can run, else why not."""
    if importlib.util.find_spec("adlfs") is None:
        return "adlfs is not installed"
    if shutil.which("node") is None:
        return "node is not on PATH (Azurite runs on Node.js)"
    if azurite_command() is None:
        return f"no azurite-blob in {azurite_dir()}/node_modules/.bin or on PATH"
    return None


def check_s3() -> str | None:
    """None when the S3 tests can run, else why not."""
    if importlib.util.find_spec("s3fs") is None:
        return "s3fs is not installed"
    if importlib.util.find_spec("flask") is None or moto_command() is None:
        return "moto's standalone server is not installed (moto_server, from moto[server])"
    return None


AZURITE_HOW = (
    f'pip install "jupyter_amlpipe[azure]" and npm install --prefix {azurite_dir()} azurite (or set {AZURITE_DIR_ENV})'
)
S3_HOW = 'pip install "jupyter_amlpipe[s3]" "moto[server]"'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server process this test session started; :meth:`stop` ends that PID only."""

    def __init__(self, argv: list[str], port: int, log: Path, cwd: Path) -> None:
        self.port = port
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"server on port {self.port} did not start; its output:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class AzuriteServer:
    blob_endpoint: str
    account_name: str = AZURITE_ACCOUNT
    account_key: str = AZURITE_KEY

    def new_container(self) -> str:
        return f"c{uuid.uuid4().hex[:16]}"


@dataclass
class S3Server:
    endpoint_url: str
    key: str = "testing-key"
    secret: str = "testing-secret"

    def new_bucket(self) -> str:
        return f"b{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    """Azurite's blob service on a free loopback port for the whole session."""
    command = azurite_command()
    if command is None:  # the marker check normally skips or fails before this
        pytest.skip(check_azurite() or "azurite not found")
    folder = Path(tempfile.mkdtemp(prefix="amlpipe-azurite-"))
    port = free_port()
    argv = [command, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(folder / "data")]
    argv += ["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]
    server = Server(argv, port, folder / "azurite.log", folder)
    try:
        yield AzuriteServer(blob_endpoint=f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's standalone S3 server on a free loopback port for the whole session."""
    command = moto_command()
    if command is None:
        pytest.skip(check_s3() or "moto_server not found")
    folder = Path(tempfile.mkdtemp(prefix="amlpipe-moto-"))
    port = free_port()
    server = Server([*command, "-H", "127.0.0.1", "-p", str(port)], port, folder / "moto.log", folder)
    try:
        yield S3Server(endpoint_url=f"http://127.0.0.1:{port}")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
