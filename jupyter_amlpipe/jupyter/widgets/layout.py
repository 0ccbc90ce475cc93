"""A layered layout of a step graph: rows by depth, ordered to cross few edges, never overlapping.

Each step's layer is the longest path to it from a step that waits for nothing,
so every edge points down to a later layer. Inside a layer, a few barycenter
sweeps (down, then up) order the nodes by the mean position of their
neighbours, which removes most edge crossings. Nodes of one layer sit side by
side with a fixed gap, so no two boxes ever intersect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NODE_WIDTH = 160
NODE_HEIGHT = 40
GAP_X = 30
GAP_Y = 60
MARGIN = 20
SWEEPS = 4


def layers(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's layer: the length of the longest path to it from a source (0 for sources)."""
    preds: dict[str, list[str]] = {n: [] for n in names}
    succs: dict[str, list[str]] = {n: [] for n in names}
    for source, target in edges:
        if source in preds and target in preds and source != target:
            preds[target].append(source)
            succs[source].append(target)
    waiting = {n: len(preds[n]) for n in names}
    ready = [n for n in names if waiting[n] == 0]
    layer = dict.fromkeys(names, 0)
    while ready:  # nodes on a cycle (an invalid pipeline) are never ready and keep what they reached
        node = ready.pop()
        for child in succs[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return layer


def _barycenter(
    rows: list[list[str]], neighbours: dict[str, list[str]], position: dict[str, float], order: range
) -> None:
    for r in order:
        row = rows[r]
        keyed = []
        for i, node in enumerate(row):
            near = [position[n] for n in neighbours[node] if n in position]
            keyed.append((sum(near) / len(near) if near else float(i), i, node))
        keyed.sort()
        rows[r] = [node for _, _, node in keyed]
        for i, node in enumerate(rows[r]):
            position[node] = float(i)


def layout(
    names: Sequence[str],
    edges: Sequence[tuple[str, str]],
    node_width: int = NODE_WIDTH,
    node_height: int = NODE_HEIGHT,
) -> dict[str, Any]:
    """Positions of the nodes: ``{"positions": {name: {x, y, layer}}, "width": W, "height": H}``.

    ``x``/``y`` are the top-left corner of a ``node_width`` × ``node_height`` box.
    """
    layer = layers(names, edges)
    count = max(layer.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(count)]
    for name in names:
        rows[layer[name]].append(name)
    up: dict[str, list[str]] = {n: [] for n in names}
    down: dict[str, list[str]] = {n: [] for n in names}
    for source, target in edges:
        if source in up and target in up and source != target:
            down[source].append(target)
            up[target].append(source)
    position: dict[str, float] = {}
    for row in rows:
        for i, node in enumerate(row):
            position[node] = float(i)
    for _ in range(SWEEPS):
        _barycenter(rows, up, position, range(1, count))
        _barycenter(rows, down, position, range(count - 2, -1, -1))
    widest = max((len(row) for row in rows), default=0)
    full = widest * (node_width + GAP_X) - GAP_X if widest else 0
    positions: dict[str, dict[str, float]] = {}
    for r, row in enumerate(rows):
        span = len(row) * (node_width + GAP_X) - GAP_X
        left = MARGIN + (full - span) / 2  # centre each row
        for i, node in enumerate(row):
            positions[node] = {
                "x": left + i * (node_width + GAP_X),
                "y": float(MARGIN + r * (node_height + GAP_Y)),
                "layer": r,
            }
    return {
        "positions": positions,
        "width": full + 2 * MARGIN,
        "height": count * (node_height + GAP_Y) - GAP_Y + 2 * MARGIN if count else 2 * MARGIN,
        "node_width": node_width,
        "node_height": node_height,
    }


def place(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    """Nodes with ``x``, ``y``, ``layer`` added (copies), and the drawing's width and height."""
    names = [n["name"] for n in nodes]
    placed = layout(names, [(e["source"], e["target"]) for e in edges])
    out = [{**node, **placed["positions"][node["name"]]} for node in nodes]
    return {
        "nodes": out,
        "width": placed["width"],
        "height": placed["height"],
        "node_width": placed["node_width"],
        "node_height": placed["node_height"],
    }
