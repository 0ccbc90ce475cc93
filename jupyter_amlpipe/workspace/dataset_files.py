"""The files of a dataset: matching its paths on datastores, copying them, hashing them, reading CSVs.

A dataset's definition is a list of path specs ``{"datastore": name, "path":
pattern}``. A pattern is a file, a folder (all files under it) or a glob
(``data/*.csv``, ``logs/**/*.txt``: a matched folder stands for its files);
``{"url": "https://..."}`` is one file on a web server (:mod:`.dataset_urls`).
Each file gets a path inside the dataset, relative to its spec's *base*: the
folder itself, a file's parent folder, or the part of a glob before its first
wildcard. That relative layout is what a step sees when the dataset is mounted
or downloaded. The dataset's options may select some of the files
(``"select_files"``) or rows and columns (``"transforms"``): :mod:`.dataset_select`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, MissingExtraError
from jupyter_amlpipe.workspace import dataset_select, dataset_urls, transfer
from jupyter_amlpipe.workspace.datastore import Datastore
from jupyter_amlpipe.workspace.paths import safe_join_path

__all__ = [
    "DatasetFile",
    "content_digest",
    "direct_folder",
    "has_glob",
    "match",
    "materialize",
    "read_delimited",
    "read_delimited_folder",
]

_GLOB_CHARS = set("*?[")


def has_glob(pattern: str) -> bool:
    return any(c in pattern for c in _GLOB_CHARS)


@dataclass(frozen=True)
class DatasetFile:
    store: Datastore | None  # None for a file at a URL
    fs_path: str  # the path on the datastore's filesystem, or the URL
    rel: str  # the path inside the dataset
    url: str = ""

    def open(self, what: str) -> Any:
        """The file opened for reading bytes."""
        if self.store is None:
            return dataset_urls.open_url(self.url, what)
        return self.store._fs.open(self.fs_path, "rb")


def _base_of(pattern: str) -> str:
    parts = PurePosixPath(pattern).parts
    base: list[str] = []
    for part in parts:
        if has_glob(part):
            break
        base.append(part)
    return "/".join(base)


def _under(store: Datastore, fs_path: str, base_rel: str) -> str:
    rel = transfer._relative(store, fs_path)
    if not base_rel:
        return rel
    return rel[len(base_rel) :].lstrip("/") if rel.startswith(base_rel) else rel


def match(
    workspace: Any, specs: Sequence[dict[str, str]], what: str, options: dict[str, Any] | None = None
) -> list[DatasetFile]:
    """Every file of ``specs``, in spec order and sorted within a spec, then ``options["select_files"]``.

    Raises:
        LookupFailed: a path (not a glob) does not exist, or a glob matches nothing.
        DefinitionError: two files would land on the same path inside the dataset.
    """
    files: list[DatasetFile] = []
    seen: dict[str, str] = {}
    for spec in specs:
        if "url" in spec:
            web = DatasetFile(None, spec["url"], dataset_urls.name_of(spec["url"]), spec["url"])
            _check_unique([web], seen, spec["url"], what)
            files.append(web)
            continue
        store = Datastore.get(workspace, spec["datastore"])
        pattern = spec.get("path") or ""
        fs = store._fs
        found: list[DatasetFile] = []
        if has_glob(pattern):
            base = _base_of(pattern)
            for hit in sorted(fs.glob(store._full_path(pattern))):
                hits = sorted(fs.find(hit)) if fs.isdir(hit) else [hit]
                found.extend(DatasetFile(store, h, _under(store, h, base)) for h in hits)
        else:
            full = store._full_path(pattern)
            if fs.isdir(full):
                found = [DatasetFile(store, h, _under(store, h, pattern.strip("/"))) for h in sorted(fs.find(full))]
            elif fs.isfile(full):
                found = [DatasetFile(store, full, PurePosixPath(pattern).name)]
            else:
                raise LookupFailed(
                    f"{what}: nothing at {pattern or '/'!r} on datastore {store.name!r}. Upload the data first "
                    f"or fix the path (list what is there with Datastore.get(ws, {store.name!r}).list_files()).",
                    datastore=store.name,
                    path=pattern,
                )
        if not found and has_glob(pattern):
            raise LookupFailed(
                f"{what}: the pattern {pattern!r} matches no file on datastore {store.name!r}.",
                datastore=store.name,
                path=pattern,
            )
        for item in found:
            _check_unique([item], seen, f"{store.name}:{item.fs_path}", what)
        files.extend(found)
    return dataset_select.apply_to_items(files, (options or {}).get("select_files") or [])


def _check_unique(found: Sequence[DatasetFile], seen: dict[str, str], source: str, what: str) -> None:
    for item in found:
        if seen.setdefault(item.rel, source) != source:
            raise DefinitionError(
                f"{what}: {seen[item.rel]} and {source} would both be {item.rel!r} inside the dataset. "
                "Use paths whose files have different names, or one dataset per folder."
            )


def direct_folder(
    workspace: Any, specs: Sequence[dict[str, str]], options: dict[str, Any] | None = None
) -> Path | None:
    """The local folder a dataset can be mounted from as it is (one folder on a local datastore), else None.

    A FileDataset that selects some of its files (``take``, ``random_split``, ...) is never used as it is.
    """
    if (options or {}).get("select_files"):
        return None
    if len(specs) != 1 or "datastore" not in specs[0] or has_glob(specs[0].get("path") or ""):
        return None
    store = Datastore.get(workspace, specs[0]["datastore"])
    local = store.local_path(specs[0].get("path") or "")
    return local if local is not None and local.is_dir() else None


def materialize(files: Sequence[DatasetFile], target: str | os.PathLike[str]) -> list[str]:
    """Copy ``files`` into the folder ``target`` (created); returns the local paths, in order."""
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for item in files:
        dest = safe_join_path(root, item.rel, f"local folder {str(root)!r}")
        if item.store is None:
            dataset_urls.download(item.url, dest, f"dataset file {item.rel!r}")
        else:
            transfer._get_file(item.store, item.fs_path, dest)
        out.append(str(dest))
    return out


def content_digest(files: Sequence[DatasetFile], local_digest: Callable[[Path], str]) -> str:
    """A digest of the files' paths inside the dataset and their content (local files through ``local_digest``).

    Files at URLs are fetched and hashed by content.
    """
    h = hashlib.sha256()
    for item in sorted(files, key=lambda f: f.rel):
        if item.store is None:
            digest = hashlib.sha256(dataset_urls.fetch(item.url, f"dataset file {item.rel!r}")).hexdigest()
            h.update(item.rel.encode() + b"\0" + digest.encode() + b"\n")
            continue
        local = item.store.local_path(transfer._relative(item.store, item.fs_path))
        digest = (
            local_digest(local)
            if local is not None
            else hashlib.sha256(item.store._fs.cat_file(item.fs_path)).hexdigest()
        )
        h.update(item.rel.encode() + b"\0" + digest.encode() + b"\n")
    return h.hexdigest()


def read_delimited(files: Sequence[DatasetFile], options: dict[str, Any], what: str) -> Any:
    """The files read as one pandas DataFrame (``TabularDataset.to_pandas_dataframe``)."""
    return _read_tables([(f"/{f.rel}", partial(f.open, what)) for f in files], options, what)


def read_delimited_folder(folder: str | os.PathLike[str], options: dict[str, Any], what: str) -> Any:
    """The files under a local folder (a TabularDataset input's) read as one pandas DataFrame.

    ``options["path_glob"]`` keeps the files whose path inside the folder matches it, from the right as
    :meth:`pathlib.PurePath.match` does: ``*.csv`` is every CSV file, ``part/*.csv`` those in a ``part`` folder.
    """
    root = Path(folder)
    pattern = options.get("path_glob")
    if root.is_file():  # an output the step wrote as one file
        return _read_tables([(f"/{root.name}", partial(open, root, "rb"))], options, what)
    paths = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and (not pattern or PurePosixPath(p.relative_to(root).as_posix()).match(pattern))
    )
    return _read_tables([(f"/{p.relative_to(root).as_posix()}", partial(open, p, "rb")) for p in paths], options, what)


def _read_tables(files: Sequence[tuple[str, Callable[[], Any]]], options: dict[str, Any], what: str) -> Any:
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingExtraError.for_module("pandas", "pandas", f"{what}.to_pandas_dataframe()") from exc
    if not files:
        raise LookupFailed(f"{what}: the dataset has no files to read.")
    transforms = options.get("transforms") or []
    if any(t["op"] in dataset_select.ROW_OPS for t in transforms):
        files = sorted(files, key=lambda f: f[0])  # rows are counted in one order wherever the files are
    reader = _READERS.get(options.get("format") or "delimited", _read_csv)
    frames = []
    for rel, opener in files:
        with opener() as handle:
            frame = reader(pd, handle, options, what, rel)
        if options.get("include_path"):
            frame.insert(0, "Path", rel)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return dataset_select.apply_to_table(table, transforms, what)


def _read_csv(pd: Any, handle: Any, options: dict[str, Any], what: str, rel: str) -> Any:
    return pd.read_csv(
        handle,
        sep=options.get("separator", ","),
        header=0 if options.get("header", True) else None,
        encoding=options.get("encoding", "utf8"),
        dtype=None if options.get("infer_column_types", True) else str,
        keep_default_na=not options.get("empty_as_string", False),
    )


def _read_parquet(pd: Any, handle: Any, options: dict[str, Any], what: str, rel: str) -> Any:
    try:
        return pd.read_parquet(handle)
    except ImportError as exc:  # pandas reads parquet through pyarrow
        raise MissingExtraError.for_module(
            "pyarrow", "pandas", f"{what}.to_pandas_dataframe() of parquet files"
        ) from exc


def _read_json_lines(pd: Any, handle: Any, options: dict[str, Any], what: str, rel: str) -> Any:
    """JSON Lines: one object per line; ``invalid_lines="drop"`` skips lines that are not JSON objects."""
    import json

    text = handle.read().decode(options.get("encoding") or "utf8")
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            record, problem = None, f"is not valid JSON ({exc})"
        else:
            problem = "" if isinstance(record, dict) else "is not a JSON object"
        if problem:
            if options.get("invalid_lines") == "drop":
                continue
            raise DefinitionError(
                f"{what}: line {number} of {rel} {problem}. Fix the file, or pass invalid_lines='drop' to skip such lines."
            )
        records.append(record)
    return pd.DataFrame.from_records(records)


_READERS: dict[str, Callable[[Any, Any, dict[str, Any], str, str], Any]] = {
    "delimited": _read_csv,
    "parquet": _read_parquet,
    "json_lines": _read_json_lines,
}
