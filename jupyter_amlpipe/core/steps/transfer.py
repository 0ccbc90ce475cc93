"""``DataTransferStep``: copy a file or a folder from one datastore to another (v1 name and arguments)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from jupyter_amlpipe.core.data import DataReference, PipelineData, data_name, is_data
from jupyter_amlpipe.core.steps.base import Resolver, Step, ValueResolver, capture
from jupyter_amlpipe.errors import DefinitionError

TRANSFER_MODULE = "jupyter_amlpipe.compute.runtime.transfer"
_TYPES = ("file", "directory")


def no_source_directory() -> Path:
    """An empty folder standing in for the source directory of steps that run no user code.

    The runner snapshots every step's source directory; a step that runs only a
    built-in program would otherwise snapshot the current folder.
    """
    folder = Path(tempfile.gettempdir()) / f"amlpipe-no-source-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _check_type(value: str | None, what: str, step: str) -> str | None:
    if value is not None and value not in _TYPES:
        raise DefinitionError(f"DataTransferStep {step!r}: {what} must be 'file' or 'directory', got {value!r}.")
    return value


def _store_name(store: Any) -> str:
    return str(getattr(store, "name", store))


def _as_data(source: Any) -> Any:
    """A v1 ``PortDataReference`` (an earlier run's output) as the DataReference to it; anything else as is."""
    if source is not None and not is_data(source) and hasattr(source, "path_on_datastore"):
        as_mount = getattr(source, "as_mount", None)
        reference = as_mount() if callable(as_mount) else None
        if isinstance(reference, DataReference):
            return reference
    return source


class DataTransferStep(Step):
    """Copy a file or a folder byte for byte, with progress lines and a checksum check (v1 ``DataTransferStep``).

    ``source_data_reference`` is existing data (DataReference, DataPath, a
    data PipelineParameter), a PipelineData made by an earlier step, or an
    earlier run's output (a PortDataReference).
    ``destination_data_reference`` is a DataReference (a fixed place on a
    datastore, written in place) or a PipelineData (an output that later steps
    consume). ``source_reference_type`` and ``destination_reference_type`` are
    ``"file"`` or ``"directory"`` (file to file, folder to folder); when both
    are None the kind of the source decides. Files already at a folder
    destination under other names are kept. Runs on any compute target.
    """

    step_type = "data_transfer"

    def __init__(
        self,
        name: str,
        source_data_reference: Any = None,
        destination_data_reference: Any = None,
        compute_target: Any = None,
        source_reference_type: str | None = None,
        destination_reference_type: str | None = None,
        allow_reuse: bool = True,
    ) -> None:
        self._spec = capture(locals())
        label = name if isinstance(name, str) else ""
        source, destination = _as_data(source_data_reference), destination_data_reference
        self._spec["source_data_reference"] = source  # recorded as the data it names
        if source is None or not is_data(source):
            raise DefinitionError(
                f"DataTransferStep {label!r}: source_data_reference must be a DataReference, DataPath, "
                f"PipelineData or PortDataReference, got {source!r}. For example: store.path('raw/data.csv')."
            )
        if not isinstance(destination, (DataReference, PipelineData)):
            raise DefinitionError(
                f"DataTransferStep {label!r}: destination_data_reference must be a DataReference (a fixed place on "
                f"a datastore) or a PipelineData (an output for later steps), got {destination!r}."
            )
        src_type = _check_type(source_reference_type, "source_reference_type", label)
        dst_type = _check_type(destination_reference_type, "destination_reference_type", label)
        if src_type and dst_type and src_type != dst_type:
            raise DefinitionError(
                f"DataTransferStep {label!r}: source_reference_type={src_type!r} but destination_reference_type="
                f"{dst_type!r}; a transfer copies file to file or directory to directory. Set both to {src_type!r}."
            )
        self.kind = src_type or dst_type
        if isinstance(destination, PipelineData):
            root = destination._root()
            if self.kind == "directory" and root.is_directory is False:
                raise DefinitionError(
                    f"DataTransferStep {label!r}: PipelineData {root.name!r} has is_directory=False but the transfer "
                    "copies a directory; leave is_directory unset (or True)."
                )
            if self.kind == "file" and root.is_directory is True:
                raise DefinitionError(
                    f"DataTransferStep {label!r}: PipelineData {root.name!r} has is_directory=True but the transfer "
                    "copies a file; leave is_directory unset (or False)."
                )
        elif self.kind == "file" and not destination.path_on_datastore:
            raise DefinitionError(
                f"DataTransferStep {label!r}: a file destination needs a path_on_datastore naming the file, e.g. "
                "store.path('copies/data.csv')."
            )
        self.source_reference_type = source_reference_type
        self.destination_reference_type = destination_reference_type
        self.source_data_reference = source
        self.destination_data_reference = destination
        super().__init__(
            name,
            inputs=[source],
            outputs=[destination] if isinstance(destination, PipelineData) else None,
            compute_target=compute_target,
            allow_reuse=allow_reuse,
        )

    def _source_dir(self, default: str | None = None) -> Path:
        return no_source_directory()

    def _destination(self, resolve: Resolver) -> dict[str, Any]:
        dest = self.destination_data_reference
        if isinstance(dest, PipelineData):
            return {"path": resolve(dest), "staging": True}
        store = dest.datastore
        local = store.local_path(dest.path_on_datastore or "") if hasattr(store, "local_path") else None
        return {
            "datastore": _store_name(store),
            "path_on_datastore": dest.path_on_datastore or "",
            "path": str(local) if local is not None else None,
        }

    def _program(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        spec = {
            "step": self.name,
            "source": resolve(self.source_data_reference),
            "kind": self.kind,
            "destination": self._destination(resolve),
        }
        return {
            "type": "module",
            "module": TRANSFER_MODULE,
            "args": [json.dumps(spec)],
            "description": f"Data transfer {self.name!r}",
        }

    def _definition(self) -> dict[str, Any]:
        dest = self.destination_data_reference
        shown: dict[str, Any] = (
            {"data": dest.name}
            if isinstance(dest, PipelineData)
            else {"datastore": _store_name(dest.datastore), "path_on_datastore": dest.path_on_datastore}
        )
        definition = super()._definition()
        definition.pop("source_directory", None)  # a temporary folder: not part of what the step does
        return {
            **definition,
            "source": data_name(self.source_data_reference),
            "destination": shown,
            "source_reference_type": self.source_reference_type,
            "destination_reference_type": self.destination_reference_type,
        }
