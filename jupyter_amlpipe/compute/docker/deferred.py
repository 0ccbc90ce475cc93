"""A step whose environment image is still to be built: the build runs in the step's own thread.

Building an image can take minutes. ``DockerCompute.start`` returns a
:class:`BuildingHandle` at once when the image is missing, so the runner goes on
starting other steps, following logs and answering ``cancel()`` while the build
runs inside ``wait()``. A build that fails ends the step with exit code 1 and the
build's error recorded on the step run; a step canceled during its build never
starts its container.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from jupyter_amlpipe.errors import AmlpipeError
from jupyter_amlpipe.runner.job import StepJob

CANCELED_CODE = 137  # what a killed container reports


class BuildingHandle:
    """Builds the image, then runs the container; ``cancel`` works in both phases."""

    def __init__(self, job: StepJob, description: str, build: Callable[[], str], run: Callable[[str], Any]) -> None:
        self.description = description
        self.pid: int | None = None  # the step runs in the engine, not as a process of this machine
        self._job = job
        self._build = build
        self._run = run
        self._lock = threading.Lock()
        self._settled = threading.Event()  # the build ended, or the step was canceled
        self._canceled = False
        self._image: str | None = None
        self._error: str | None = None
        self._inner: Any = None

    def _build_image(self) -> None:
        try:
            self._image = self._build()
        except AmlpipeError as exc:
            self._error = exc.message
        except Exception as exc:
            self._error = f"Could not build the step's image: {type(exc).__name__}: {exc}"
        finally:
            self._settled.set()

    def wait(self) -> int:
        # The build goes on in a thread of its own, so a cancel ends the step at once; an image it
        # finishes afterwards stays cached for the next run.
        threading.Thread(target=self._build_image, daemon=True, name="amlpipe-image-build").start()
        self._settled.wait()
        with self._lock:
            if self._canceled:
                return CANCELED_CODE
            if self._error is not None or self._image is None:
                self._report(self._error or "The step's image could not be built.")
                return 1
            try:
                self._inner = self._run(self._image)
            except AmlpipeError as exc:
                self._report(exc.message)
                return 1
            except Exception as exc:
                self._report(f"Could not start the step: {type(exc).__name__}: {exc}")
                return 1
        return int(self._inner.wait())

    def cancel(self) -> None:
        with self._lock:
            self._canceled = True
            inner = self._inner
            self._settled.set()
        if inner is not None:
            inner.cancel()

    def _report(self, message: str) -> None:
        """The step's error: in its stderr, and on the step run through the run-context file."""
        with open(self._job.stderr_path, "a", encoding="utf-8") as err:
            err.write(message + "\n")
        with open(self._job.context_file, "a", encoding="utf-8") as ctx:
            ctx.write(json.dumps({"type": "error", "message": message}) + "\n")
