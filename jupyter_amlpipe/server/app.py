"""The FastAPI application: ``create_app(workspace)``.

One app serves one workspace. It holds the workspace and its PublishService
(``app.state``), checks bearer tokens on every route but ``/health``, maps the
package's errors to HTTP (:mod:`.errors`), refuses bodies over a size limit
(:mod:`.limits`) and publishes its OpenAPI document at ``/openapi.json``
(interactive docs at ``/docs``). While it runs, it runs queued submissions and
fires schedules (:mod:`.background`) unless told not to.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from jupyter_amlpipe.server import routes_meta, routes_pipelines, routes_runs
from jupyter_amlpipe.server.background import start_background
from jupyter_amlpipe.server.errors import install_error_handlers
from jupyter_amlpipe.server.limits import DEFAULT_MAX_BODY_BYTES, BodySizeLimit

__all__ = ["WORKSPACE_ENV", "app_from_environment", "create_app", "open_workspace"]

# Set by ``amlpipe serve --workers N`` for the worker processes uvicorn starts.
WORKSPACE_ENV = "AMLPIPE_SERVE_WORKSPACE"
MAX_BODY_ENV = "AMLPIPE_SERVE_MAX_BODY_BYTES"

DESCRIPTION = """\
Published pipelines of one jupyter_amlpipe workspace, with Azure ML SDK v1's REST body.

POST v1's body (`ExperimentName`, `ParameterAssignments`, `DataPathAssignments`, `Description`,
`ContinueRunOnStepFailure`, `Tags`, `Properties`, ...; names match in any case, other v1 fields such as
`RunSource` are accepted and ignored) to a published pipeline's endpoint
(`/pipelines/v1/published/{id}`) or to v1's URL shapes after any prefix
(`.../PipelineRuns/PipelineSubmit/{id}`, `.../PipelineRuns/PipelineEndpointSubmit/Id/{id}?pipelineVersion=`);
the answer is `{"Id": RUN_ID, "Status": ...}` at once. Follow the run under `/runs/{run_id}`.

Every route but `/health` needs `Authorization: Bearer TOKEN` (`amlpipe token create`).
"""


def open_workspace(workspace: Any) -> Any:
    """A Workspace as is; a path: the workspace in that folder, or found from it like ``from_config``."""
    if not isinstance(workspace, (str, os.PathLike)):
        return workspace
    from jupyter_amlpipe.workspace.config import WORKSPACE_FILE
    from jupyter_amlpipe.workspace.workspace import Workspace

    folder = Path(workspace).expanduser()
    if (folder / WORKSPACE_FILE).is_file():
        return Workspace(path=folder)
    return Workspace.from_config(folder)


def create_app(
    workspace: Any,
    *,
    run_background: bool = True,
    max_running: int | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The REST app for ``workspace`` (a Workspace or its folder).

    ``run_background``: run queued submissions and fire schedules while the app
    runs (``max_running`` queued runs at once); ``max_body_bytes``: larger
    request bodies get 413.
    """
    from jupyter_amlpipe import __version__
    from jupyter_amlpipe.publish.service import PublishService

    ws = open_workspace(workspace)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = start_background(ws, max_running) if run_background else None
        try:
            yield
        finally:
            if background is not None:
                background.stop()

    app = FastAPI(
        title="jupyter_amlpipe published pipelines",
        description=DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
    )
    app.state.workspace = ws
    app.state.service = PublishService(ws)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.include_router(routes_meta.router)
    app.include_router(routes_pipelines.router)
    app.include_router(routes_runs.router)
    return app


def app_from_environment() -> FastAPI:
    """The app of a uvicorn worker process (``amlpipe serve --workers N``); the supervisor runs the background."""
    path = os.environ.get(WORKSPACE_ENV)
    if not path:
        from jupyter_amlpipe.errors import DefinitionError

        raise DefinitionError(f"{WORKSPACE_ENV} is not set: start the server with amlpipe serve --workspace PATH.")
    max_body = int(os.environ.get(MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES))
    return create_app(path, run_background=False, max_body_bytes=max_body)
