"""The DAG widget's layout: layers by depth, no overlapping nodes, few crossings, at 200 steps."""

from __future__ import annotations

import random
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("anywidget", reason='the widgets need the [jupyter] extra: pip install "jupyter_amlpipe[jupyter]"')

from jupyter_amlpipe.jupyter.widgets.layout import layers, layout

STEPS = 200


def random_dag(count: int, seed: int) -> tuple[list[str], list[tuple[str, str]]]:
    rng = random.Random(seed)
    names = [f"step_{i:03d}" for i in range(count)]
    edges = set()
    for i in range(1, count):
        for _ in range(rng.randint(0, 3)):
            edges.add((names[rng.randrange(max(0, i - 30), i)], names[i]))
    order = names[:]
    rng.shuffle(order)  # the layout must not depend on the steps being listed in order
    return order, sorted(edges)


def boxes_intersect(a: dict[str, float], b: dict[str, float], w: float, h: float) -> bool:
    return a["x"] < b["x"] + w and b["x"] < a["x"] + w and a["y"] < b["y"] + h and b["y"] < a["y"] + h


def crossings(edges: list[tuple[str, str]], x: dict[str, float], layer: dict[str, int]) -> int:
    count = 0
    by_layer: dict[int, list[tuple[float, float]]] = {}
    for s, t in edges:
        if layer[t] == layer[s] + 1:
            by_layer.setdefault(layer[s], []).append((x[s], x[t]))
    for segs in by_layer.values():
        for (a1, a2), (b1, b2) in combinations(segs, 2):
            if (a1 - b1) * (a2 - b2) < 0:
                count += 1
    return count


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_200_steps_never_overlap_and_every_edge_points_down(seed: int) -> None:
    names, edges = random_dag(STEPS, seed)
    placed = layout(names, edges)
    pos = placed["positions"]
    w, h = placed["node_width"], placed["node_height"]

    assert set(pos) == set(names)
    overlapping = [(a, b) for a, b in combinations(names, 2) if boxes_intersect(pos[a], pos[b], w, h)]
    assert overlapping == []
    assert all(pos[s]["layer"] < pos[t]["layer"] for s, t in edges)
    assert all(pos[s]["y"] + h < pos[t]["y"] for s, t in edges)  # a lower layer is drawn above
    for p in pos.values():  # everything inside the drawing
        assert p["x"] >= 0 and p["x"] + w <= placed["width"]
        assert p["y"] >= 0 and p["y"] + h <= placed["height"]


def test_layers_are_the_longest_path_from_a_source() -> None:
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("x", "d")]
    assert layers(["d", "c", "b", "a", "x"], edges) == {"a": 0, "x": 0, "b": 1, "c": 2, "d": 3}


def test_barycenter_ordering_removes_the_crossings_of_a_crossed_ladder() -> None:
    # Two chains listed so that a naive left-to-right placement crosses them on every layer.
    names = ["a0", "b0", "b1", "a1", "a2", "b2", "b3", "a3"]
    edges = [("a0", "a1"), ("a1", "a2"), ("a2", "a3"), ("b0", "b1"), ("b1", "b2"), ("b2", "b3")]
    placed = layout(names, edges)
    x = {n: p["x"] for n, p in placed["positions"].items()}
    layer = {n: p["layer"] for n, p in placed["positions"].items()}
    assert crossings(edges, x, layer) == 0


def test_dag_widget_of_a_200_step_pipeline(workspace: Any, tmp_path: Path) -> None:
    from jupyter_amlpipe import Pipeline, PipelineData
    from jupyter_amlpipe.jupyter.widgets import DagWidget
    from jupyter_amlpipe.steps import PythonScriptStep

    src = tmp_path / "src"
    src.mkdir()
    (src / "noop.py").write_text("pass\n", encoding="utf-8")
    names, edges = random_dag(STEPS, 7)
    data = {n: PipelineData(f"d_{n}") for n in names}
    inputs: dict[str, list[Any]] = {n: [] for n in names}
    for s, t in edges:
        inputs[t].append(data[s])
    steps = [
        PythonScriptStep("noop.py", name=n, inputs=inputs[n], outputs=[data[n]], source_directory=src) for n in names
    ]
    widget = DagWidget(Pipeline(workspace, steps))

    assert len(widget.nodes) == STEPS and len(widget.edges) == len(edges)
    w, h = widget.geometry["node_width"], widget.geometry["node_height"]
    assert not any(boxes_intersect(a, b, w, h) for a, b in combinations(widget.nodes, 2))
    layer = {n["name"]: n["layer"] for n in widget.nodes}
    assert all(layer[e["source"]] < layer[e["target"]] for e in widget.edges)
    assert {e["label"] for e in widget.edges} == {f"d_{s}" for s, _ in edges}
