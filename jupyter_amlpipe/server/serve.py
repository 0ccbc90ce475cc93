"""Run the server: what ``amlpipe serve`` does.

One process (the default): uvicorn serves the app, whose lifespan runs the
queue worker and the scheduler. ``workers > 1``: uvicorn starts that many HTTP
worker processes, and this process runs the queue worker and the scheduler
once for all of them. The server binds 127.0.0.1 unless told otherwise;
Ctrl-C (or SIGTERM) stops it after the requests in flight, and what is still
queued runs when it starts again.
"""

from __future__ import annotations

import os
from typing import Any

import uvicorn

from jupyter_amlpipe.server.app import MAX_BODY_ENV, WORKSPACE_ENV, create_app, open_workspace
from jupyter_amlpipe.server.background import start_background
from jupyter_amlpipe.server.limits import DEFAULT_MAX_BODY_BYTES

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


# Keep idle keep-alive connections for 75 s (nginx's default) rather than uvicorn's 5 s: under a
# burst of submissions the runner's threads can hold the interpreter for seconds, and a connection
# closed by the server just as a client reuses it fails that client's request with a read error.
_UVICORN_OPTIONS: dict[str, Any] = {"timeout_graceful_shutdown": 10, "timeout_keep_alive": 75}


def serve(
    workspace: Any,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = 1,
    max_running: int | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_level: str = "info",
) -> None:
    """Serve ``workspace`` (a Workspace or its folder) until interrupted."""
    ws = open_workspace(workspace)
    if workers <= 1:
        app = create_app(ws, max_running=max_running, max_body_bytes=max_body_bytes)
        uvicorn.run(app, host=host, port=port, log_level=log_level, **_UVICORN_OPTIONS)
        return
    os.environ[WORKSPACE_ENV] = str(ws.path)
    os.environ[MAX_BODY_ENV] = str(max_body_bytes)
    background = start_background(ws, max_running)
    try:
        uvicorn.run(
            "jupyter_amlpipe.server.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            **_UVICORN_OPTIONS,
        )
    finally:
        background.stop()
