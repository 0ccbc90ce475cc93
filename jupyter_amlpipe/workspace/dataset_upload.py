"""Datasets made from local data: ``Dataset.File.upload_directory`` and ``Dataset.Tabular.register_pandas_dataframe``."""

from __future__ import annotations

import importlib.util
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from jupyter_amlpipe.core.data import DataPath, DataReference
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.workspace.datastore import Datastore

__all__ = ["local_files", "target_of", "upload_checked", "write_dataframe"]


def target_of(target: Any, what: str) -> tuple[Datastore, str]:
    """(datastore, path) from v1's ``target``: a DataPath, a DataReference or (datastore, path)."""
    if isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], Datastore):
        return target[0], str(target[1] or "").strip("/")
    if isinstance(target, (DataPath, DataReference)) and isinstance(target.datastore, Datastore):
        return target.datastore, (target.path_on_datastore or "").strip("/")
    if isinstance(target, Datastore):
        return target, ""
    raise DefinitionError(
        f"{what}: target {target!r} is not (datastore, 'path') or a DataPath; "
        "pass for example (ws.get_default_datastore(), 'data/mine')."
    )


def local_files(src_dir: str | os.PathLike[str], pattern: str | None, what: str) -> list[Path]:
    """The files under ``src_dir``; with ``pattern`` (a glob relative to it) only those it matches."""
    root = Path(src_dir)
    if not root.is_dir():
        raise DefinitionError(f"{what}: src_dir {str(root)!r} is not a folder.")
    hits = sorted(root.glob(pattern)) if pattern else [root]
    files = sorted({f for hit in hits for f in ([hit] if hit.is_file() else hit.rglob("*")) if f.is_file()})
    if not files:
        raise DefinitionError(f"{what}: no files under {str(root)!r}" + (f" match {pattern!r}." if pattern else "."))
    return files


def upload_checked(
    store: Datastore, root: Path, files: list[Path], target: str, overwrite: bool, show_progress: bool, what: str
) -> None:
    """Upload ``files`` under ``target``; without ``overwrite`` a different existing file is an error.

    Existing files with the same content are left as they are, so running the cell again is harmless.
    """
    if not overwrite:
        clashes = []
        for f in files:
            rel = "/".join(p for p in (target, f.relative_to(root).as_posix()) if p)
            full = store._full_path(rel)
            if store._fs.isfile(full) and store._fs.cat_file(full) != f.read_bytes():
                clashes.append(rel)
        if clashes:
            raise DefinitionError(
                f"{what}: {len(clashes)} file(s) already on datastore {store.name!r} differ from the local ones "
                f"({', '.join(clashes[:5])}). Pass overwrite=True to replace them, or upload to another target."
            )
    store.upload_files([str(f) for f in files], str(root), target or None, True, show_progress)


def write_dataframe(dataframe: Any, store: Datastore, target: str, what: str) -> tuple[str, str]:
    """Write ``dataframe`` into a new folder ``target/<guid>`` as parquet (CSV without pyarrow).

    Returns (path of the folder on the datastore, "parquet" or "csv").
    """
    if not (hasattr(dataframe, "to_parquet") and hasattr(dataframe, "to_csv")):
        raise DefinitionError(f"{what}: dataframe must be a pandas DataFrame, got {type(dataframe).__name__}.")
    folder = "/".join(p for p in (target, str(uuid.uuid4())) if p)
    kind = "parquet" if importlib.util.find_spec("pyarrow") is not None else "csv"
    with tempfile.TemporaryDirectory(prefix="amlpipe-frame-") as tmp:
        local = Path(tmp) / f"part-00000.{kind}"
        if kind == "parquet":
            dataframe.to_parquet(local, index=False)
        else:
            dataframe.to_csv(local, index=False)
        store.upload_files([str(local)], tmp, folder, False, False)
    return folder, kind
