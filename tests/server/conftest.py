"""Fixtures of the server tests: a workspace with a published pipeline, a token and a running server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason='the REST server needs the [server] extra: pip install "jupyter_amlpipe[server]"')
pytest.importorskip("uvicorn", reason='the REST server needs the [server] extra: pip install "jupyter_amlpipe[server]"')

from tests.server import Server, write_pipeline


class Served:
    """A workspace, its published ``write`` pipeline, a valid token and the server serving them."""

    def __init__(self, ws: Any, published: Any, token: str, server: Server, root: Path) -> None:
        self.ws = ws
        self.published = published
        self.token = token
        self.server = server
        self.root = root


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for a module's tests (each test uses its own experiment names)."""
    import jupyter_amlpipe

    root = tmp_path_factory.mktemp("served")
    ws = jupyter_amlpipe.Workspace.create("served", path=root / "ws")
    published = write_pipeline(ws, root / "src").publish(
        name="writer", description="writes its parameters", version="1"
    )
    token = ws.create_token(name="tests")
    server = Server(root / "ws", root / "server.log").start()
    try:
        yield Served(ws, published, token, server, root)
    finally:
        server.stop()
