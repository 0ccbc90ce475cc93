"""Notebook widgets: the live DAG, the run details table and the step builder.

`DagWidget(pipeline_or_run)` draws the pipeline as an SVG graph that follows a
run live; `RunDetails(run).show()` is the table of steps, progress, log tail and
metrics that azureml.widgets users know; `StepBuilder(...)` is a form that
declares steps from files in a source directory. The classes are loaded on first
use, so importing this package does not import anywidget or ipywidgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_amlpipe.jupyter.widgets.builder import StepBuilder
    from jupyter_amlpipe.jupyter.widgets.dag import DagWidget
    from jupyter_amlpipe.jupyter.widgets.run_details import RunDetails

__all__ = ["DagWidget", "RunDetails", "StepBuilder"]

_WHERE = {
    "DagWidget": "jupyter_amlpipe.jupyter.widgets.dag",
    "RunDetails": "jupyter_amlpipe.jupyter.widgets.run_details",
    "StepBuilder": "jupyter_amlpipe.jupyter.widgets.builder",
}


def __getattr__(name: str) -> Any:
    module_name = _WHERE.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
