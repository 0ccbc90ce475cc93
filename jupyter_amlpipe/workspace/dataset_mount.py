"""``FileDataset.mount()``: the dataset's files in a local folder for the length of a ``with`` block (v1 MountContext).

There is no FUSE mount here: one folder on a local datastore is used as it is,
anything else is copied into the mount point when the context starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.workspace import dataset_files

__all__ = ["MountContext"]


class MountContext:
    """v1 ``MountContext``: ``start()``, ``stop()``, ``mount_point``, and ``with`` support."""

    def __init__(self, dataset: Any, mount_point: str | os.PathLike[str] | None = None) -> None:
        self._dataset = dataset
        self._requested = None if mount_point is None else str(mount_point)
        self._temporary: str | None = None
        self.mount_point: str | None = self._requested

    def start(self) -> None:
        """Make the files available at ``mount_point``."""
        dataset = self._dataset
        if self._requested is None:
            folder = dataset_files.direct_folder(dataset._workspace, dataset._paths, dataset._options)
            if folder is not None:
                self.mount_point = str(folder)
                return
            self._temporary = self.mount_point = tempfile.mkdtemp(prefix="amlpipe-mount-")
        else:
            target = Path(self._requested)
            if target.exists() and any(target.iterdir()):
                raise DefinitionError(
                    f"{dataset._what()}.mount: the mount point {self._requested!r} is not empty; "
                    "pass an empty or new folder.",
                )
        dataset_files.materialize(dataset._files(), str(self.mount_point))

    def stop(self) -> None:
        """Remove the temporary copy, if one was made."""
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None

    def __enter__(self) -> MountContext:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"MountContext(mount_point={self.mount_point!r})"
