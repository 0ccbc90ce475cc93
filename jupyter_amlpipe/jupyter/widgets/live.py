"""Following a run for a widget: a daemon thread that polls the run's events and reports new views.

The thread asks the events table for anything new every ``interval`` seconds
(one indexed query); only when something happened does it build a fresh
``run_view`` and hand it to the widget's callback. It stops on its own once the
run has ended (after reporting the final view), or when the widget stops it.
Nothing here re-runs a cell: widget traits change and the browser redraws.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from jupyter_amlpipe.runner.view import run_view

INTERVAL = 0.3


class RunFollower:
    """Calls ``on_view(view, events)`` whenever the run changes, from a daemon thread, until the run ends."""

    def __init__(
        self,
        workspace: Any,
        run_id: str,
        on_view: Callable[[dict[str, Any], list[dict[str, Any]]], None],
        interval: float = INTERVAL,
        after: int = 0,
    ) -> None:
        self.workspace = workspace
        self.run_id = run_id
        self.on_view = on_view
        self.interval = interval
        self.after = after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> RunFollower:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"amlpipe-follow-{self.run_id}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following (the thread ends at its next wake-up)."""
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        store = self.workspace._store
        try:
            while not self._stop.is_set():
                events = store.events(self.run_id, self.after)
                if events:
                    self.after = events[-1]["seq"]
                view = run_view(self.workspace, self.run_id)
                if events or view["terminal"]:
                    self.on_view(view, events)
                if view["terminal"]:
                    return
                self._stop.wait(self.interval)
        except BaseException as exc:  # a follower must never take the kernel down; keep it for inspection
            self.error = exc
        finally:
            with contextlib.suppress(Exception):
                store.close()  # this thread's own connection


def run_of(obj: Any) -> tuple[Any, str] | None:
    """``(workspace, run id)`` of a PipelineRun or StepRun; None for anything else (a pipeline)."""
    from jupyter_amlpipe.runner.runs import PipelineRun, StepRun

    if isinstance(obj, (PipelineRun, StepRun)):
        return obj.workspace, obj.id
    return None


class Following:
    """What a widget that follows a run offers: ``following``, ``stop()``, and ``close()`` that stops first."""

    _follower: RunFollower | None

    @property
    def following(self) -> bool:
        """Whether the widget is still following its run."""
        follower = getattr(self, "_follower", None)
        return follower is not None and bool(follower.running)

    def stop(self) -> None:
        """Stop following the run (the widget keeps what it shows)."""
        follower = getattr(self, "_follower", None)  # None also when __init__ failed early
        if follower is not None:
            follower.stop()

    def close(self) -> None:
        self.stop()
        super().close()  # type: ignore[misc]
