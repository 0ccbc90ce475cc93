"""The JobHandle of a step running as a Dask task: its exit code, and cancel that reaches the worker."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from jupyter_amlpipe.compute.dask._worker import CANCELED_CODE, kill_step

RELEASE_AFTER = 1.0  # seconds: a future read and not released by a next submit is released then

_PENDING: list[Any] = []
_PENDING_LOCK = threading.Lock()
_TIMER: threading.Timer | None = None


def release_later(future: Any) -> None:
    """Let go of a finished step's future after the next submit, or within a second.

    Holding a future keeps its result on a worker and that worker alive, so it
    is released; but not at once. Dask batches what a client sends for 10 ms
    after each message, and the scheduler what it sends a worker for 5 ms: a
    release sent just before the next step's submit held that submit back by
    5-10 ms, on every step of a chain. Released after the submit, it waits instead.
    """
    global _TIMER
    with _PENDING_LOCK:
        _PENDING.append(future)
        if _TIMER is None:
            _TIMER = threading.Timer(RELEASE_AFTER, release_pending)
            _TIMER.daemon = True
            _TIMER.start()


def release_pending() -> None:
    """Release the futures :func:`release_later` kept (called after each submit, and by its timer)."""
    global _TIMER
    with _PENDING_LOCK:
        futures = _PENDING[:]
        _PENDING.clear()
        timer, _TIMER = _TIMER, None
    if timer is not None:
        timer.cancel()
    for future in futures:
        with contextlib.suppress(Exception):
            future.release()


class DaskJobHandle:
    """A step submitted to a Dask scheduler as task ``key`` (see :mod:`jupyter_amlpipe.compute.dask._worker`)."""

    def __init__(self, client: Any, future: Any, key: str, stderr_path: Path, description: str) -> None:
        self._client = client
        self._future = future
        self._key = key
        self._stderr_path = stderr_path
        self._canceled = threading.Event()
        self.description = description

    def wait(self) -> int:
        """Block until the task ends: the step process's exit code."""
        try:
            return int(self._future.result())
        except Exception as exc:
            if self._canceled.is_set() or self._future.cancelled():
                return CANCELED_CODE
            with contextlib.suppress(OSError), open(self._stderr_path, "a", encoding="utf-8") as err:
                err.write(f"amlpipe: the step's Dask task failed: {type(exc).__name__}: {exc}\n")
            return 1
        finally:
            release_later(self._future)

    def cancel(self) -> None:
        """End the step's process group on whichever worker runs it, then cancel the task."""
        self._canceled.set()
        with contextlib.suppress(Exception):
            self._client.run(kill_step, self._key)  # on every worker: the one running it kills it
        with contextlib.suppress(Exception):
            self._client.cancel(self._future)
