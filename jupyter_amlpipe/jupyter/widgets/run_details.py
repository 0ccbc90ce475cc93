"""``RunDetails(run).show()``: the run widget azureml.widgets users know.

A table of steps (status, duration, reused-from), a progress bar for the whole
run, a live tail of the selected step's stdout/stderr, and the run's metrics
with a small SVG chart for a metric logged as a list. It follows the run from
its events with the same background follower as ``DagWidget``.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from jupyter_amlpipe.jupyter.widgets.live import Following, RunFollower, run_of
from jupyter_amlpipe.runner.view import run_view, step_detail, step_metrics

TAIL_LINES = 30
CHART_WIDTH = 120
CHART_HEIGHT = 30


def chart(values: list[Any], width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> dict[str, Any] | None:
    """A polyline for a list of numbers: ``{"points": "x,y ...", "min", "max", "count"}``; None if not numeric."""
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    numbers = [v for v in numbers if math.isfinite(v)]
    if len(numbers) < 2 or len(numbers) != len(values):
        return None
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    step = width / (len(numbers) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in enumerate(numbers)
    )
    return {"points": points, "min": low, "max": high, "count": len(numbers), "width": width, "height": height}


def metric_rows(owner: str, metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric: who logged it, its name, its value, and a chart when it is a list of numbers."""
    rows = []
    for name, value in metrics.items():
        rows.append(
            {
                "run": owner,
                "name": name,
                "value": value,
                "chart": chart(value) if isinstance(value, list) else None,
            }
        )
    return rows


class RunDetails(Following, anywidget.AnyWidget):
    """Steps, progress, log tail and metrics of a pipeline run, live until the run ends."""

    _esm = Path(__file__).with_name("run_details.js")

    run_id = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("NotStarted").tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    steps = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    detail = traitlets.Dict().tag(sync=True)
    metrics = traitlets.List(traitlets.Dict()).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, run: Any, follow: bool = True, **kwargs: Any) -> None:
        found = run_of(run)
        if found is None:
            from jupyter_amlpipe.errors import DefinitionError

            raise DefinitionError(
                f"RunDetails needs a PipelineRun or StepRun, got {type(run).__name__}. "
                "Submit the pipeline first: run = Experiment(ws, name).submit(pipeline); RunDetails(run).show()"
            )
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._workspace, run_id = found
        self._follower: RunFollower | None = None
        self._by_name: dict[str, dict[str, Any]] = {}
        self._auto = True  # follow the running step until the user picks one
        self._auto_setting = False
        view = run_view(self._workspace, run_id)
        self.run_id = view["id"]
        self._apply(view, metrics=True)
        if follow and not view["terminal"]:
            self._follower = RunFollower(self._workspace, self.run_id, self._on_view).start()

    def show(self) -> None:
        """Display the widget in the notebook (as ``azureml.widgets.RunDetails(run).show()`` does)."""
        from IPython.display import display

        display(self)  # type: ignore[no-untyped-call]

    # -- state ---------------------------------------------------------------------------
    def _apply(self, view: dict[str, Any], metrics: bool) -> None:
        with self._lock:
            self._by_name = {s["name"]: s for s in view["steps"]}
            self.steps = [
                {k: s[k] for k in ("name", "run_id", "status", "duration", "reused", "reused_from", "reasons", "error")}
                for s in view["steps"]
            ]
            self.progress = view["progress"]
            self.status = view["status"]
            self.error = str(view.get("error") or "")
            if metrics:
                self.metrics = self._metrics(view)
            running = [s["name"] for s in view["steps"] if s["status"] == "Running"]
            if self._auto and running and self.selected not in running:
                self._auto_setting = True
                try:
                    self.selected = running[0]  # follow what is running until the user picks a step
                finally:
                    self._auto_setting = False
            elif self.selected:
                self._fill_detail(self.selected)

    def _metrics(self, view: dict[str, Any]) -> list[dict[str, Any]]:
        rows = metric_rows("pipeline", view["metrics"])
        for step in view["steps"]:
            rows.extend(metric_rows(step["name"], step_metrics(self._workspace, step["run_id"])))
        return rows

    def _on_view(self, view: dict[str, Any], events: list[dict[str, Any]]) -> None:
        changed_metrics = view["terminal"] or any(e["kind"] in ("metric", "status") for e in events)
        self._apply(view, metrics=changed_metrics)

    @traitlets.observe("selected")
    def _selected_changed(self, change: dict[str, Any]) -> None:
        if not self._auto_setting:
            self._auto = False
        self._fill_detail(change["new"])

    def _fill_detail(self, name: str) -> None:
        with self._lock:
            step = self._by_name.get(name)
            self.detail = step_detail(self._workspace, step["run_id"], TAIL_LINES) if step else {}
