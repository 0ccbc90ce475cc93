"""The step graph, a thin wrapper over the standard library's ``graphlib``.

Nodes are step indexes; an edge runs from a producer (or a ``run_after``
target) to the step that needs it. ``graphlib.TopologicalSorter``'s
``get_ready()``/``done()`` loop is the parallel runner's loop.
"""

from __future__ import annotations

import graphlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jupyter_amlpipe.errors import DefinitionError

if TYPE_CHECKING:
    from jupyter_amlpipe.core.steps.base import Step


class CycleError(DefinitionError):
    """The steps depend on each other in a loop."""


class StepGraph:
    """Steps (by index) and what each waits for."""

    def __init__(self, steps: Sequence[Step], deps: dict[int, set[int]]) -> None:
        self.steps = list(steps)
        self.deps = deps

    def sorter(self) -> graphlib.TopologicalSorter[int]:
        ts: graphlib.TopologicalSorter[int] = graphlib.TopologicalSorter()
        for i in range(len(self.steps)):
            ts.add(i, *sorted(self.deps.get(i, ())))
        return ts

    def check_acyclic(self) -> None:
        try:
            self.sorter().prepare()
        except graphlib.CycleError as exc:
            cycle = list(dict.fromkeys(exc.args[1]))
            names = [self.steps[i].name for i in cycle]
            raise CycleError(
                "The pipeline has a cycle: steps "
                + " -> ".join(repr(n) for n in [*names, names[0]])
                + " depend on each other (through their data or run_after). Remove one of these links.",
                steps=names,
            ) from None

    def order(self) -> list[int]:
        """A topological order (producers before consumers)."""
        return list(self.sorter().static_order())

    def depth(self) -> list[int]:
        """Each step's depth: 0 for steps that wait for nothing."""
        depth = [0] * len(self.steps)
        for i in self.order():
            depth[i] = max((depth[d] + 1 for d in self.deps.get(i, ())), default=0)
        return depth

    def downstream(self, index: int) -> set[int]:
        """Every step that (transitively) waits for step ``index``."""
        children: dict[int, set[int]] = {}
        for node, ds in self.deps.items():
            for d in ds:
                children.setdefault(d, set()).add(node)
        out: set[int] = set()
        stack = [index]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return out
