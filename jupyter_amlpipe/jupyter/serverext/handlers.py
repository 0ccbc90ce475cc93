"""Thin, authenticated handlers under ``/amlpipe/api``: each reads its arguments and calls ``PanelService``.

Every call into the service runs in a worker thread (database reads, log
tails, snapshot copies), so the server's event loop never waits on them; the
long poll of ``/changes`` sleeps on the event loop between short queries.
The package's errors become JSON answers ``{"message": ...}`` with a 4xx
status (see ``jupyter_amlpipe.publish.http_status``); a caller's mistake never gets a 500.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from jupyter_amlpipe.errors import AmlpipeError, DefinitionError
from jupyter_amlpipe.jupyter.serverext.background import Workers
from jupyter_amlpipe.publish.http_status import status_for
from jupyter_amlpipe.publish.panel_service import PanelService, open_workspace

T = TypeVar("T")

SETTINGS_KEY = "jupyter_amlpipe"
MAX_WAIT = 25.0  # seconds a long poll of /changes may wait
POLL_EVERY = 0.4  # seconds between two looks at the event table during a long poll


@dataclass
class PanelContext:
    """What the handlers of one server share: its root folder and its queue workers."""

    root_dir: Path
    workers: Workers

    def relative(self, path: str | os.PathLike[str] | None) -> str | None:
        """``path`` relative to the server's root folder (POSIX), or None when it is outside it."""
        if not path:
            return None
        try:
            return Path(path).resolve().relative_to(self.root_dir).as_posix()
        except ValueError:
            return None


class PanelHandler(APIHandler):
    """Base of the panel's handlers: arguments, the workspace of ``?ws=``, and error answers."""

    auth_resource = "amlpipe"

    @property
    def context(self) -> PanelContext:
        return self.settings[SETTINGS_KEY]  # type: ignore[no-any-return]

    # -- arguments -------------------------------------------------------------------------
    def int_arg(self, name: str, default: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except ValueError:
            raise DefinitionError(f"Query parameter {name}={raw!r} must be an integer.", parameter=name) from None

    def float_arg(self, name: str, default: float) -> float:
        raw = self.get_query_argument(name, None)
        if raw in (None, ""):
            return default
        try:
            return float(raw)
        except ValueError:
            raise DefinitionError(f"Query parameter {name}={raw!r} must be a number.", parameter=name) from None

    def folder_arg(self, name: str, default: str | None = None) -> Path:
        """A folder named by a query parameter: absolute, or relative to the server's root folder."""
        raw = self.get_query_argument(name, default)
        if raw is None or raw.strip() == "":
            raise DefinitionError(
                f"The {name} query parameter is missing: pass the workspace folder "
                "(absolute, or relative to the Jupyter root folder).",
                parameter=name,
            )
        path = Path(raw).expanduser()
        return path if path.is_absolute() else self.context.root_dir / path

    def json_body(self) -> Any:
        if not self.request.body:
            return {}
        try:
            return json.loads(self.request.body)
        except ValueError as exc:
            raise DefinitionError(f"The request body is not valid JSON: {exc}.") from None

    # -- running and answering ---------------------------------------------------------------
    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread: the event loop goes on serving other requests."""
        return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args))

    def service_for(self, folder: Path) -> PanelService:
        return PanelService(open_workspace(folder))

    async def service(self) -> PanelService:
        return await self.blocking(self.service_for, self.folder_arg("ws"))

    async def respond(self, work: Callable[[], Awaitable[Any]]) -> None:
        """Answer with the JSON of ``await work()``, or ``{"message"}`` and a 4xx status for the package's errors."""
        try:
            data = await work()
        except AmlpipeError as exc:
            self.set_status(status_for(exc)[0])
            self.finish(json.dumps({"message": getattr(exc, "message", None) or str(exc), "error": type(exc).__name__}))
            return
        self.finish(json.dumps(data, default=str))


class WorkspaceHandler(PanelHandler):
    """``GET /amlpipe/api/workspace?cwd=DIR``: the workspace of a folder, found like ``Workspace.from_config``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        async def work() -> dict[str, Any]:
            cwd = self.get_query_argument("cwd", "") or ""
            folder = self.folder_arg("cwd", ".") if cwd else self.context.root_dir
            service = await self.blocking(self.service_for, folder)
            out = service.describe()
            out.update(cwd=cwd, relative=self.context.relative(out["path"]))
            return out

        await self.respond(work)


class ExperimentsHandler(PanelHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        async def work() -> dict[str, Any]:
            service = await self.service()
            return await self.blocking(service.experiments)

        await self.respond(work)


class RunsHandler(PanelHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        async def work() -> dict[str, Any]:
            experiment = self.get_query_argument("experiment", None) or None
            status = self.get_query_argument("status", None) or None
            limit = self.int_arg("limit", 50)
            service = await self.service()
            return await self.blocking(service.runs, experiment, status, limit)

        await self.respond(work)


class ChangesHandler(PanelHandler):
    """Long poll: answers once events newer than ``after`` exist, or after ``timeout`` seconds (at most 25)."""

    _closed = False

    def on_connection_close(self) -> None:
        self._closed = True

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        async def work() -> dict[str, Any]:
            after = self.int_arg("after", 0)
            timeout = min(max(self.float_arg("timeout", MAX_WAIT), 0.0), MAX_WAIT)
            service = await self.service()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                found = await self.blocking(service.changes, after)
                remaining = deadline - loop.time()
                if found["runs"] or found["cursor"] < after or remaining <= 0 or self._closed:
                    return found
                await asyncio.sleep(min(POLL_EVERY, remaining))

        await self.respond(work)


class RunHandler(PanelHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        async def work() -> dict[str, Any]:
            service = await self.service()
            return await self.blocking(service.run, run_id)

        await self.respond(work)


class StepHandler(PanelHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, step_name: str) -> None:
        async def work() -> dict[str, Any]:
            lines = self.int_arg("lines", 200)
            service = await self.service()
            out = await self.blocking(service.step, run_id, step_name, lines)
            out["notebook_absolute"] = out["notebook"]
            out["notebook"] = self.context.relative(out["notebook"])
            return out

        await self.respond(work)


class CancelHandler(PanelHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        async def work() -> dict[str, Any]:
            service = await self.service()
            return await self.blocking(service.cancel, run_id)

        await self.respond(work)


class ResumeHandler(PanelHandler):
    """Resume answers once the new run is recorded; the run goes on in this server's runner threads."""

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        async def work() -> dict[str, Any]:
            service = await self.service()
            return await self.blocking(service.resume, run_id)

        await self.respond(work)


class SnapshotHandler(PanelHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        async def work() -> dict[str, Any]:
            step = self.get_query_argument("step", None) or None
            service = await self.service()
            out = await self.blocking(service.snapshot, run_id, step)
            out["path"] = self.context.relative(out["absolute"])
            return out

        await self.respond(work)


class PipelinesHandler(PanelHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        async def work() -> dict[str, Any]:
            include_disabled = (self.get_query_argument("all", "0") or "0").lower() in ("1", "true", "yes")
            service = await self.service()
            return await self.blocking(service.pipelines, include_disabled)

        await self.respond(work)


class PipelineStatusHandler(PanelHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, pipeline_id: str, action: str) -> None:
        async def work() -> dict[str, Any]:
            service = await self.service()
            return await self.blocking(service.set_pipeline_enabled, pipeline_id, action == "enable")

        await self.respond(work)


class SubmitHandler(PanelHandler):
    """Queue a run of a published pipeline; this server's queue worker of the workspace runs it."""

    @tornado.web.authenticated
    @authorized
    async def post(self, pipeline_id: str) -> None:
        async def work() -> dict[str, Any]:
            body = self.json_body()
            service = await self.service()
            out = await self.blocking(service.submit, pipeline_id, body)
            await self.blocking(self.context.workers.ensure, service.workspace)
            return out

        await self.respond(work)


_ID = r"([^/]+)"

ROUTES: list[tuple[str, type[PanelHandler]]] = [
    ("workspace", WorkspaceHandler),
    ("experiments", ExperimentsHandler),
    ("runs", RunsHandler),
    ("changes", ChangesHandler),
    (f"runs/{_ID}", RunHandler),
    (f"runs/{_ID}/steps/{_ID}", StepHandler),
    (f"runs/{_ID}/cancel", CancelHandler),
    (f"runs/{_ID}/resume", ResumeHandler),
    (f"runs/{_ID}/snapshot", SnapshotHandler),
    ("pipelines", PipelinesHandler),
    (f"pipelines/{_ID}/(enable|disable)", PipelineStatusHandler),
    (f"pipelines/{_ID}/submit", SubmitHandler),
]
