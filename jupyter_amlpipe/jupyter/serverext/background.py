"""The queue workers of the Jupyter server process: panel submissions run here.

A submission from the panel is queued in the workspace database, exactly as a
REST submission is, and answered at once with its Queued run id. The first
submission to a workspace starts one :class:`QueueWorker` thread for that
workspace in this process; it drains the workspace's queue (now and later).

Why a thread of the server and not a subprocess per submission: the queue
lives in the database and a worker claims each submission atomically, so a
second worker (``amlpipe serve``, another Lab) never runs it twice; a Lab that
restarts gets its worker back on the next submission, and the worker's
recovery puts submissions that never started back in the queue and marks runs
it lost as Failed, which the panel resumes. Nothing is spawned per request and
nothing outlives the server unseen. Runs started elsewhere (a kernel, the CLI)
keep running in their own processes whatever happens to the server.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from jupyter_amlpipe.publish.queue import QueueWorker

log = logging.getLogger("jupyter_amlpipe.serverext")

__all__ = ["Workers"]


class Workers:
    """One started QueueWorker per workspace folder (at most ``max_running`` runs at once each)."""

    def __init__(self, max_running: int = 4) -> None:
        self.max_running = max_running
        self._workers: dict[Path, QueueWorker] = {}
        self._lock = threading.Lock()

    def ensure(self, workspace: Any) -> QueueWorker:
        """The worker of ``workspace``, started on first use."""
        key = Path(workspace.path)
        with self._lock:
            worker = self._workers.get(key)
            if worker is None:
                worker = QueueWorker(workspace, self.max_running)
                worker.start()
                self._workers[key] = worker
                log.info("amlpipe: running queued submissions of workspace %s in this server", key)
            return worker

    def stop(self) -> None:
        """Stop taking submissions (runs already started go on until the process ends)."""
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.stop()
