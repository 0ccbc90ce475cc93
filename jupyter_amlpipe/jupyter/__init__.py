"""Notebook front-end of jupyter_amlpipe: cell magics and widgets.

``%load_ext jupyter_amlpipe`` (or ``%load_ext jupyter_amlpipe.jupyter``)
registers ``%%amlstep`` and ``%amlpipe``. ``DagWidget``, ``RunDetails`` and
``StepBuilder`` are the widgets. Everything is loaded on first use, so importing
this package imports neither IPython nor the widget libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_amlpipe.jupyter.magic_state import NotebookPipeline
    from jupyter_amlpipe.jupyter.widgets import DagWidget, RunDetails, StepBuilder

__all__ = ["DagWidget", "NotebookPipeline", "RunDetails", "StepBuilder", "load_ipython_extension", "notebook_pipeline"]

_WHERE = {
    "DagWidget": "jupyter_amlpipe.jupyter.widgets",
    "RunDetails": "jupyter_amlpipe.jupyter.widgets",
    "StepBuilder": "jupyter_amlpipe.jupyter.widgets",
    "NotebookPipeline": "jupyter_amlpipe.jupyter.magic_state",
}


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%%amlstep`` and ``%amlpipe`` magics (``%load_ext jupyter_amlpipe``)."""
    from jupyter_amlpipe.jupyter.magics import load_ipython_extension as load

    load(ipython)


def notebook_pipeline(shell: Any = None) -> NotebookPipeline:
    """The pipeline the magics of ``shell`` (default: the running one) hold; see :mod:`.magics`."""
    from jupyter_amlpipe.jupyter.magics import notebook_pipeline as find

    return find(shell)


def __getattr__(name: str) -> Any:
    module_name = _WHERE.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
