"""The JobHandle of a step running as a Dask task: its exit code, and cancel that reaches the worker."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from jupyter_amlpipe.compute.dask._worker import CANCELED_CODE, kill_step


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
            # Holding the future keeps its result on a worker and that worker alive: let it go.
            with contextlib.suppress(Exception):
                self._future.release()

    def cancel(self) -> None:
        """End the step's process group on whichever worker runs it, then cancel the task."""
        self._canceled.set()
        with contextlib.suppress(Exception):
            self._client.run(kill_step, self._key)  # on every worker: the one running it kills it
        with contextlib.suppress(Exception):
            self._client.cancel(self._future)
