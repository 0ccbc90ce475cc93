"""Moving files between local folders and a datastore.

The v1 calls ``Datastore.upload_files``, ``upload`` and ``download`` and the
runner's ``get_to_local`` and ``put_from_local`` all come down to the same
steps, which live here: walk the local files or the datastore's files, pair
each source with its destination (every path checked by :mod:`.paths` before
anything is copied), skip existing files unless ``overwrite`` (and say so on
stderr), show a tqdm progress bar, and copy one file at a time. On a local
datastore a file is written to a temporary name and renamed, so a reader never
sees half a file.

The functions take the :class:`~jupyter_amlpipe.workspace.datastore.Datastore`
they work on; tqdm is imported inside :func:`progress`, never at import time.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlpipe.errors import AmlpipeError, DefinitionError, LookupFailed
from jupyter_amlpipe.workspace.paths import normalize_relpath, safe_join, safe_join_path

if TYPE_CHECKING:
    from jupyter_amlpipe.core.data import DataReference
    from jupyter_amlpipe.workspace.datastore import Datastore

__all__ = ["download", "get_to_local", "list_files", "progress", "put_from_local", "upload", "upload_files"]


@contextmanager
def progress(total: int, desc: str, enabled: bool) -> Iterator[Any]:
    """A tqdm bar (on stderr, or a widget in notebooks), or a no-op when disabled."""
    if not enabled or total == 0:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="file", file=sys.stderr)
    try:
        yield bar
    finally:
        bar.close()


# -- walking the datastore ------------------------------------------------------
def list_files(store: Datastore, prefix: str | os.PathLike[str] | None) -> list[str]:
    """Datastore-relative POSIX paths of the files in folder ``prefix`` (or that file), sorted."""
    full = store._full_path(prefix, label="prefix")
    return sorted(_relative(store, p) for p in store._fs.find(full))


def _relative(store: Datastore, fs_path: str) -> str:
    """The datastore-relative POSIX path of an fsspec path under the root of ``store``."""
    base = store.root.rstrip("/")
    path = str(store._fs._strip_protocol(fs_path))
    if not base:
        return path.lstrip("/")
    if path == base:
        return ""
    if not path.startswith(base + "/"):
        raise AmlpipeError(f"{fs_path!r} is not under the root of {store._what()} ({base!r}).")
    return path[len(base) + 1 :]


# -- whole transfers ------------------------------------------------------------
def get_to_local(
    store: Datastore, path_on_datastore: str | os.PathLike[str] | None, local_path: str | os.PathLike[str]
) -> int:
    """Copy a file or folder from ``store`` to ``local_path``; returns the number of files (see Datastore)."""
    full = store._full_path(path_on_datastore)
    dest = Path(local_path)
    fs = store._fs
    if fs.isdir(full):
        dest.mkdir(parents=True, exist_ok=True)
        base = _relative(store, full)
        count = 0
        for fs_path in fs.find(full):
            rel = _relative(store, fs_path)[len(base) :].lstrip("/")
            _get_file(store, fs_path, safe_join_path(dest, rel, f"local folder {str(dest)!r}"))
            count += 1
        return count
    if fs.isfile(full):
        _get_file(store, full, dest)
        return 1
    raise LookupFailed(
        f"Nothing at {str(path_on_datastore)!r} on {store._what()}: check the path, or list what is there "
        f"with Datastore.get(ws, {store.name!r}).list_files().",
        datastore=store.name,
        path=str(path_on_datastore),
    )


def put_from_local(
    store: Datastore,
    local_path: str | os.PathLike[str],
    path_on_datastore: str | os.PathLike[str] | None,
    overwrite: bool,
) -> int:
    """Copy a local file or folder to ``path_on_datastore``; returns the number of files written."""
    source = Path(local_path)
    target = normalize_relpath(path_on_datastore, store._what(), label="path_on_datastore", allow_root=True)
    if source.is_dir():
        pairs = [(f, safe_join(target, rel, store._what())) for f, rel in _walk(source)]
    elif source.is_file():
        pairs = [(source, normalize_relpath(target, store._what(), label="path_on_datastore"))]
    else:
        raise DefinitionError(f"Local path {str(source)!r} does not exist: nothing to copy to {store._what()}.")
    written, _skipped = _put_pairs(store, pairs, overwrite, show_progress=False)
    return written


def upload_files(
    store: Datastore,
    files: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    relative_root: str | os.PathLike[str] | None,
    target_path: str | None,
    overwrite: bool,
    show_progress: bool,
) -> DataReference:
    """``Datastore.upload_files``: check every file, then upload them under ``target_path``."""
    paths = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    sources = [Path(os.path.abspath(os.fspath(f))) for f in paths]
    if not sources:
        raise DefinitionError(f"upload_files to {store._what()} got no files: pass a list of file paths.")
    for original, source in zip(paths, sources, strict=True):
        if not source.is_file():
            state = "is a folder (use upload(src_dir=...) for folders)" if source.is_dir() else "does not exist"
            raise DefinitionError(
                f"Cannot upload {os.fspath(original)!r} to {store._what()}: it {state}. Nothing was uploaded.",
                file=os.fspath(original),
            )
    base = Path(os.path.abspath(relative_root)) if relative_root is not None else _common_folder(sources)
    target = normalize_relpath(target_path, store._what(), label="target_path", allow_root=True)
    pairs = [(s, safe_join(target, _relative_to(s, base), store._what(), label="target_path")) for s in sources]
    _written, skipped = _put_pairs(store, pairs, overwrite, show_progress)
    _report_skipped(store, skipped, "uploading")
    return store.path(target or None)


def upload(
    store: Datastore,
    src_dir: str | os.PathLike[str],
    target_path: str | None,
    overwrite: bool,
    show_progress: bool,
) -> DataReference:
    """``Datastore.upload``: the contents of ``src_dir`` (recursively) directly under ``target_path``."""
    source = Path(src_dir)
    if not source.is_dir():
        raise DefinitionError(
            f"Cannot upload src_dir {os.fspath(src_dir)!r} to {store._what()}: it is not an existing folder. "
            "Pass a folder (or use upload_files for single files).",
            src_dir=os.fspath(src_dir),
        )
    target = normalize_relpath(target_path, store._what(), label="target_path", allow_root=True)
    pairs = [(f, safe_join(target, rel, store._what())) for f, rel in _walk(source)]
    _written, skipped = _put_pairs(store, pairs, overwrite, show_progress)
    _report_skipped(store, skipped, "uploading")
    return store.path(target or None)


def download(
    store: Datastore,
    target_path: str | os.PathLike[str],
    prefix: str | None,
    overwrite: bool,
    show_progress: bool,
) -> int:
    """``Datastore.download``: the files whose path starts with the string ``prefix``; returns the count."""
    wanted = normalize_relpath(prefix, store._what(), label="prefix", allow_root=True)
    if wanted and prefix is not None and prefix.replace("\\", "/").endswith("/"):
        wanted += "/"
    folder = wanted.rsplit("/", 1)[0] if "/" in wanted else ""
    names = [n for n in store.list_files(folder) if n.startswith(wanted)]
    dest = Path(target_path)
    dest.mkdir(parents=True, exist_ok=True)
    count = skipped = 0
    with progress(len(names), f"Downloading from {store.name}", show_progress) as bar:
        for name in names:
            local = safe_join_path(dest, name, f"local folder {os.fspath(target_path)!r}")
            if not overwrite and local.exists():
                skipped += 1
            else:
                _get_file(store, store._full_path(name), local)
                count += 1
            if bar is not None:
                bar.update(1)
    _report_skipped(store, skipped, "downloading")
    return count


# -- single files -----------------------------------------------------------------
def _get_file(store: Datastore, fs_path: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    store._fs.get_file(fs_path, str(dest))


def _put_file(store: Datastore, source: Path, rel: str) -> None:
    """Write one file; on a local datastore through a temporary file and a rename."""
    target = store._full_path(rel)
    if store._is_local():
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{target}.tmp-{uuid.uuid4().hex}"
        try:
            shutil.copyfile(source, tmp)
            shutil.copymode(source, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return
    store._fs.put_file(str(source), target)


def _put_pairs(
    store: Datastore, pairs: Sequence[tuple[Path, str]], overwrite: bool, show_progress: bool
) -> tuple[int, int]:
    """Upload (local file, datastore-relative path) pairs; returns (written, skipped)."""
    written = skipped = 0
    with progress(len(pairs), f"Uploading to {store.name}", show_progress) as bar:
        for source, rel in pairs:
            if not overwrite and store.exists(rel):
                skipped += 1
            else:
                _put_file(store, source, rel)
                written += 1
            if bar is not None:
                bar.update(1)
    return written, skipped


def _report_skipped(store: Datastore, skipped: int, verb: str) -> None:
    if skipped:
        print(
            f"{store._what()}: skipped {skipped} existing file(s) while {verb}; pass overwrite=True to replace them.",
            file=sys.stderr,
        )


# -- local paths ------------------------------------------------------------------
def _walk(folder: Path) -> list[tuple[Path, str]]:
    """(file, POSIX path relative to folder) for every file under ``folder``, sorted."""
    found: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for filename in sorted(filenames):
            file = Path(dirpath) / filename
            if file.is_file():
                found.append((file, file.relative_to(folder).as_posix()))
    return found


def _common_folder(files: Sequence[Path]) -> Path:
    """The deepest folder containing every file (v1's default ``relative_root``)."""
    return Path(os.path.commonpath([str(f.parent) for f in files]))


def _relative_to(file: Path, base: Path) -> str:
    if not file.is_relative_to(base):
        raise DefinitionError(
            f"File {str(file)!r} is not under relative_root {str(base)!r}: pass a relative_root that contains "
            "every file, or leave it out to use their common folder. Nothing was uploaded.",
            file=str(file),
        )
    return file.relative_to(base).as_posix()
