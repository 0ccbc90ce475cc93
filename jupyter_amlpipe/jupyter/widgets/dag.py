"""``DagWidget``: the pipeline as an SVG graph whose nodes follow a run live.

Nodes are laid out in layers by depth (``layout.py``) and coloured by status;
a reused step carries a badge; each node's tooltip gives its duration and why
it ran or was reused; edges are labelled with the data they carry. Given a
run, a background follower (``live.py``) updates the ``nodes`` and ``status``
traits from the run's events, so the drawing changes while the run progresses
without re-running the cell. Clicking a node sets ``selected``; the widget then
fills ``detail`` with that step's last log lines and metrics.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from jupyter_amlpipe.jupyter.widgets.layout import place
from jupyter_amlpipe.jupyter.widgets.live import Following, RunFollower, run_of
from jupyter_amlpipe.runner.view import pipeline_graph, run_view, step_detail

TAIL_LINES = 20


def _seconds(value: float | None) -> str:
    if value is None:
        return "not started"
    if value < 60:
        return f"{value:.2f} s"
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)} min {seconds:.0f} s"


def tooltip(node: dict[str, Any]) -> str:
    """The text shown when the pointer rests on a node: kind, compute, status, duration, reuse reason."""
    lines = [
        f"{node['name']} ({node.get('kind') or 'step'} on {node.get('compute') or 'local'})",
        f"status: {node['status']}",
    ]
    if node.get("run_id"):
        lines.append(f"duration: {_seconds(node.get('duration'))}")
    if node.get("reused_from"):
        lines.append(f"reused from step run {node['reused_from']}")
    reasons = [r for r in node.get("reasons") or [] if not str(r).startswith("reused:")]
    if reasons:
        lines.append("ran because: " + "; ".join(reasons))
    if node.get("error"):
        lines.append(f"error: {node['error']}")
    return "\n".join(lines)


class DagWidget(Following, anywidget.AnyWidget):
    """An SVG graph of a pipeline's steps and data links, live while a run progresses.

    ``DagWidget(pipeline)`` shows the graph of a pipeline not yet submitted;
    ``DagWidget(run)`` shows a run's graph and follows it until it ends.
    """

    _esm = Path(__file__).with_name("dag.js")

    nodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    edges = traitlets.List(traitlets.Dict()).tag(sync=True)
    geometry = traitlets.Dict().tag(sync=True)
    status = traitlets.Unicode("NotStarted").tag(sync=True)
    run_id = traitlets.Unicode("").tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    detail = traitlets.Dict().tag(sync=True)

    def __init__(self, pipeline_or_run: Any, follow: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._follower: RunFollower | None = None
        self._positions: dict[str, dict[str, Any]] = {}
        self._steps: dict[str, dict[str, Any]] = {}
        found = run_of(pipeline_or_run)
        self._workspace: Any = None
        if found is None:
            graph = pipeline_graph(pipeline_or_run)
            self._set_graph(graph["nodes"], graph["edges"])
            self._definitions = {s.name: s._definition() for s in pipeline_or_run.steps}
            return
        self._workspace, run_id = found
        view = run_view(self._workspace, run_id)
        self.run_id = view["id"]
        self._set_graph(view["nodes"], view["edges"])
        self._apply(view)
        if follow and not view["terminal"]:
            self._follower = RunFollower(self._workspace, self.run_id, self._on_view).start()

    # -- state ---------------------------------------------------------------------------
    def _set_graph(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        placed = place(nodes, edges)
        self._positions = {n["name"]: {"x": n["x"], "y": n["y"], "layer": n["layer"]} for n in placed["nodes"]}
        self.geometry = {k: placed[k] for k in ("width", "height", "node_width", "node_height")}
        self.edges = edges
        self.nodes = [self._node(n) for n in nodes]

    def _node(self, node: dict[str, Any]) -> dict[str, Any]:
        return {**node, **self._positions.get(node["name"], {}), "tooltip": tooltip(node)}

    def _apply(self, view: dict[str, Any]) -> None:
        with self._lock:
            self._steps = {s["name"]: s for s in view["steps"]}
            self.nodes = [self._node(n) for n in view["nodes"]]
            self.progress = view["progress"]
            self.status = view["status"]

    def _on_view(self, view: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self._apply(view)
        if self.selected:
            self._fill_detail(self.selected)

    @traitlets.observe("selected")
    def _selected_changed(self, change: dict[str, Any]) -> None:
        self._fill_detail(change["new"])

    def _fill_detail(self, name: str) -> None:
        with self._lock:
            if not name:
                self.detail = {}
                return
            if self._workspace is None:
                definition = getattr(self, "_definitions", {}).get(name)
                self.detail = {"step": name, "status": "NotStarted", "definition": definition or {}}
                return
            step = self._steps.get(name)
            if step is None:
                self.detail = {"step": name, "error": f"No step named {name!r} in run {self.run_id}."}
                return
            self.detail = step_detail(self._workspace, step["run_id"], TAIL_LINES)

    def node(self, name: str) -> dict[str, Any]:
        """The state of one node as the browser draws it (status, reused, tooltip, position)."""
        for node in self.nodes:
            if node["name"] == name:
                return dict(node)
        raise KeyError(name)
