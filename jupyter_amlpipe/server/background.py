"""The work a server process does besides answering requests: run queued submissions, fire schedules.

Started when the app starts and stopped when it stops (the app's lifespan), or
once in the supervising process when uvicorn runs several HTTP worker
processes, so exactly one queue worker and one scheduler run per server.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Protocol

__all__ = ["Background", "start_background"]

log = logging.getLogger("jupyter_amlpipe.server")


class _Stoppable(Protocol):
    def stop(self) -> Any: ...


class Background:
    """The started queue worker and scheduler loop; :meth:`stop` stops them, last started first."""

    def __init__(self, parts: list[_Stoppable]) -> None:
        self.parts = parts

    def stop(self) -> None:
        for part in reversed(self.parts):
            with contextlib.suppress(Exception):
                part.stop()
        self.parts = []


def start_background(workspace: Any, max_running: int | None = None) -> Background:
    """Start the publish layer's QueueWorker (runs what is queued, now and later) and SchedulerLoop."""
    from jupyter_amlpipe.publish import service

    parts: list[_Stoppable] = []
    worker = service.QueueWorker(workspace, max_running) if max_running else service.QueueWorker(workspace)
    worker.start()
    parts.append(worker)
    scheduler = service.SchedulerLoop(workspace)
    scheduler.start()
    parts.append(scheduler)
    log.info("queue worker and scheduler started for workspace %s", workspace.path)
    return Background(parts)
