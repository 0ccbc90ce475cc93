"""Where the notebook is: its path, the folder its steps' sources go to, its default experiment.

The notebook's path comes from, in order: ``__session__`` in the user's
namespace (ipykernel puts it there), ``__vsc_ipynb_file__`` (VS Code), then the
``JPY_SESSION_NAME`` environment variable that jupyter_server sets for the
kernels it starts (the notebook's full path; checked last because processes a
kernel starts inherit it). Step processes do not get it. Without any of them (a plain IPython shell,
papermill, nbval) the notebook is taken to be ``notebook.ipynb`` in the current
working directory.

Each step declared with ``%%amlstep NAME`` gets its own source directory
``<notebook folder>/.amlpipe/<notebook stem>/<NAME>/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["FALLBACK_STEM", "default_experiment", "find_notebook", "steps_root"]

FALLBACK_STEM = "notebook"
_SESSION_KEYS = ("__session__", "__vsc_ipynb_file__")


def find_notebook(user_ns: Mapping[str, Any] | None = None) -> Path | None:
    """The path of the running notebook, or None when no front-end told the kernel."""
    candidates = [str((user_ns or {}).get(key) or "") for key in _SESSION_KEYS]
    candidates.append(os.environ.get("JPY_SESSION_NAME") or "")
    for value in candidates:
        if value and value.endswith(".ipynb"):
            return Path(value).expanduser().resolve()
    return None


def steps_root(notebook: Path | None) -> Path:
    """``<notebook folder>/.amlpipe/<notebook stem>``: one sub-folder per declared step."""
    if notebook is None:
        return Path.cwd() / ".amlpipe" / FALLBACK_STEM
    return notebook.parent / ".amlpipe" / notebook.stem


def default_experiment(notebook: Path | None) -> str:
    """The experiment ``%%amlstep --run`` submits to: the notebook's name, made a valid experiment name."""
    stem = notebook.stem if notebook is not None else FALLBACK_STEM
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-._")[:255]
    return name or FALLBACK_STEM
