"""Examples shipped with the package (package data); ``amlpipe demo`` copies one out and runs it.

``quickstart/`` is a small pipeline on shipped data (no downloads): a script
step cleans ``data/reviews.csv``, a notebook step trains a sentiment model in
plain Python, a command step counts rows and a script step evaluates the model.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_amlpipe.errors import LookupFailed, did_you_mean

if TYPE_CHECKING:
    from importlib.abc import Traversable

EXAMPLES = ("quickstart",)
# Never copied out of the package: caches an editor or Python may leave next to the files.
_SKIPPED = frozenset({"__pycache__", ".ipynb_checkpoints"})


def example_files(name: str = "quickstart") -> Traversable:
    """The folder of the example ``name`` inside the installed package."""
    if name not in EXAMPLES:
        raise LookupFailed(f"No example {name!r}.{did_you_mean(name, EXAMPLES)}", name=name)
    return resources.files(__name__).joinpath(name)


def copy_example(destination: str | Path, name: str = "quickstart") -> list[Path]:
    """Copy the example's files into ``destination`` (created if needed), overwriting them.

    Other files in ``destination`` (a workspace, the user's own files) are left alone.
    Returns the files written.
    """
    target = Path(destination)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    _copy_tree(example_files(name), target, written)
    return written


def _copy_tree(source: Traversable, target: Path, written: list[Path]) -> None:
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name in _SKIPPED or entry.name.endswith(".pyc"):
            continue
        dest = target / entry.name
        if entry.is_dir():
            dest.mkdir(exist_ok=True)
            _copy_tree(entry, dest, written)
        else:
            with entry.open("rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            written.append(dest)


__all__ = ["EXAMPLES", "copy_example", "example_files"]
