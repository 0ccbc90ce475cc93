"""Datasets (Azure ML SDK v1 ``Dataset``): named, versioned references to files on datastores.

``Dataset.File.from_files(path)`` and ``Dataset.Tabular.from_delimited_files(path, ...)``
define a dataset from ``(datastore, "path or glob")`` tuples, DataPaths,
DataReferences or http(s) URLs (or a list of them). Nothing is copied when a dataset is defined;
its files are matched when it is used (:mod:`.dataset_files`). ``register``
stores the definition in the workspace as a new version; ``Dataset.get_by_name``
and ``ws.datasets`` find it again. As a step input: ``as_named_input(name)``
with ``.as_mount()`` or ``.as_download()`` (see :mod:`jupyter_amlpipe.core.dataset`).
``take``, ``skip``, ``take_sample``, ``random_split`` and the column selections
return new, unregistered datasets that record the selection (:mod:`.dataset_select`).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from jupyter_amlpipe.core.data import DataPath, DataReference
from jupyter_amlpipe.core.dataset import DatasetConsumptionConfig
from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean
from jupyter_amlpipe.workspace import dataset_files as files_of
from jupyter_amlpipe.workspace import dataset_select as select
from jupyter_amlpipe.workspace import dataset_urls
from jupyter_amlpipe.workspace.datastore import Datastore

if TYPE_CHECKING:
    from jupyter_amlpipe.workspace.dataset_mount import MountContext

__all__ = ["Dataset", "FileDataset", "TabularDataset"]

_D = TypeVar("_D", bound="Dataset")


def _specs(path: Any, what: str) -> tuple[Any, list[dict[str, str]]]:
    """(workspace, path specs) from v1's ``path`` argument."""
    items = path if isinstance(path, list) else [path]
    workspace, specs = None, []
    for item in items:
        if dataset_urls.is_url(item):
            dataset_urls.name_of(item)
            specs.append({"url": item})
            continue
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Datastore):
            store, rel = item[0], str(item[1] or "")
        elif isinstance(item, (DataPath, DataReference)) and isinstance(item.datastore, Datastore):
            store, rel = item.datastore, item.path_on_datastore or ""
        elif isinstance(item, Datastore):
            store, rel = item, ""
        else:
            raise DefinitionError(
                f"{what}: path {item!r} is not (datastore, 'path or glob'), a DataPath, an http(s) URL "
                "or a list of them. "
                "Upload local files to a datastore first (datastore.upload(src_dir, target_path)), then "
                "pass (datastore, target_path)."
            )
        store._full_path(rel.replace("*", "x").replace("?", "x"), label="path")  # refuses '..' and absolute paths
        workspace = workspace or store.workspace
        specs.append({"datastore": store.name, "path": rel.strip("/")})
    if not specs:
        raise DefinitionError(f"{what}: path is empty; pass (datastore, 'path or glob').")
    return workspace, specs


class Dataset:
    """Base of FileDataset and TabularDataset, and the v1 entry point (``Dataset.File``, ``Dataset.Tabular``)."""

    File: ClassVar[Any]
    Tabular: ClassVar[Any]
    _kind: ClassVar[str] = ""

    def __init__(self, workspace: Any, specs: list[dict[str, str]], options: dict[str, Any] | None = None) -> None:
        self._workspace = workspace
        self._paths = specs
        self._options = dict(options or {})
        self.name: str | None = None
        self.version: int | None = None
        self.id: str | None = None
        self.description: str | None = None
        self.tags: dict[str, str] = {}

    # -- lookup ----------------------------------------------------------------
    @staticmethod
    def get_by_name(workspace: Any, name: str, version: int | str = "latest") -> Dataset:
        """The registered dataset ``name`` (its latest version, or ``version``).

        Raises:
            LookupFailed: no dataset has that name, or it has no such version.
        """
        versions = workspace._store.dataset_versions(name)
        if not versions:
            known = [r["name"] for r in workspace._store.list_datasets()]
            raise LookupFailed(
                f"No dataset named {name!r} in workspace {workspace.name!r}.{did_you_mean(name, known)} "
                "Register one with dataset.register(ws, name).",
                dataset=name,
            )
        if version == "latest":
            return Dataset._from_row(workspace, versions[-1])
        for row in versions:
            if str(row["version"]) == str(version):
                return Dataset._from_row(workspace, row)
        raise LookupFailed(
            f"Dataset {name!r} has no version {version!r}; it has {', '.join(str(r['version']) for r in versions)}.",
            dataset=name,
        )

    @staticmethod
    def get_by_id(workspace: Any, id: str) -> Dataset:
        row = workspace._store.get_dataset(id)
        if row is None:
            raise LookupFailed(f"No dataset with id {id!r} in workspace {workspace.name!r}.", id=id)
        return Dataset._from_row(workspace, row)

    @staticmethod
    def get_all(workspace: Any) -> dict[str, Dataset]:
        """The latest version of every registered dataset, by name (``ws.datasets``)."""
        return {r["name"]: Dataset._from_row(workspace, r) for r in workspace._store.list_datasets()}

    @staticmethod
    def _from_row(workspace: Any, row: dict[str, Any]) -> Dataset:
        dataset = Dataset._from_spec(workspace, row["doc"]["definition"])
        dataset.name, dataset.version, dataset.id = row["name"], int(row["version"]), row["id"]
        dataset.description = row["doc"].get("description")
        dataset.tags = dict(row["doc"].get("tags") or {})
        return dataset

    @staticmethod
    def _from_spec(workspace: Any, spec: dict[str, Any]) -> Dataset:
        cls: type[Dataset] = TabularDataset if spec["type"] == "tabular" else FileDataset
        return cls(workspace, list(spec["paths"]), spec.get("options"))

    # -- definition --------------------------------------------------------------
    def _spec(self) -> dict[str, Any]:
        return {"type": self._kind, "paths": self._paths, "options": self._options}

    def _identity(self) -> str:
        import json

        return json.dumps(self._spec(), sort_keys=True)

    def _what(self) -> str:
        return f"{type(self).__name__} {self.name!r}" if self.name else type(self).__name__

    def _files(self) -> list[files_of.DatasetFile]:
        return files_of.match(self._workspace, self._paths, self._what(), self._options)

    def _validate(self) -> None:
        """Match the files now, and check that the files at URLs can be fetched."""
        for item in self._files():
            if item.store is None:
                dataset_urls.fetch(item.url, self._what())

    def _with(self: _D, key: str, op: dict[str, Any]) -> _D:
        """A new, unregistered dataset of the same kind with ``op`` appended to ``options[key]``."""
        options = {**self._options, key: [*(self._options.get(key) or []), op]}
        return type(self)(self._workspace, list(self._paths), options)

    def _split(self: _D, key: str, percentage: float, seed: int | None) -> tuple[_D, _D]:
        what = f"{self._what()}.random_split"
        op: dict[str, Any] = {"op": "split", "percentage": select.check_fraction(percentage, "percentage", what)}
        op["seed"] = select.new_seed() if seed is None else int(seed)
        return self._with(key, {**op, "part": 0}), self._with(key, {**op, "part": 1})

    # -- registration --------------------------------------------------------------
    def register(
        self,
        workspace: Any,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        create_new_version: bool = False,
    ) -> Dataset:
        """Register this definition as ``name``; returns the registered dataset.

        The same definition as the latest version returns that version. Another
        definition needs ``create_new_version=True`` (then it is version n+1).
        """
        from jupyter_amlpipe.core.naming import check_identifier

        check_identifier(name, "Dataset")
        versions = workspace._store.dataset_versions(name)
        if versions:
            latest = versions[-1]
            if latest["doc"]["definition"] == self._spec():
                return Dataset._from_row(workspace, latest)
            if not create_new_version:
                raise DefinitionError(
                    f"Dataset {name!r} is already registered (version {latest['version']}) with another definition. "
                    "Pass create_new_version=True to add a version, or register under another name.",
                    dataset=name,
                )
        doc = {"definition": self._spec(), "description": description, "tags": dict(tags or {})}
        id = str(uuid.uuid4())
        workspace._store.add_dataset_version(id, name, doc)
        return Dataset.get_by_id(workspace, id)

    # -- as step input --------------------------------------------------------------
    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        """This dataset as a step input called ``name`` (``input_datasets[name]`` in the step)."""
        return DatasetConsumptionConfig(name, self)

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self.as_named_input(self.name or "dataset").as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self.as_named_input(self.name or "dataset").as_download(path_on_compute)

    def __repr__(self) -> str:
        where = ", ".join(repr(p["url"]) if "url" in p else f"({p['datastore']!r}, {p['path']!r})" for p in self._paths)
        head = f"name={self.name!r}, version={self.version!r}, " if self.name else ""
        return f"{type(self).__name__}({head}paths=[{where}])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and (self._spec(), self.id) == (other._spec(), other.id)

    def __hash__(self) -> int:
        return hash(self._identity())


class FileDataset(Dataset):
    """Files on datastores (v1 ``FileDataset``)."""

    _kind = "file"

    def to_path(self) -> list[str]:
        """The paths of the files inside the dataset (``/a.csv``, ``/sub/b.csv``)."""
        return [f"/{f.rel}" for f in self._files()]

    def download(self, target_path: str | os.PathLike[str] | None = None, overwrite: bool = False) -> list[str]:
        """Copy the files into ``target_path`` (default: a new temporary folder); returns their local paths."""
        import tempfile

        target = target_path if target_path is not None else tempfile.mkdtemp(prefix="amlpipe-dataset-")
        files = self._files()
        if not overwrite:
            for item in files:
                if os.path.exists(os.path.join(target, item.rel)):
                    raise DefinitionError(
                        f"{self._what()}.download: {os.path.join(target, item.rel)} exists; pass overwrite=True.",
                    )
        return files_of.materialize(files, target)

    def mount(self, mount_point: str | os.PathLike[str] | None = None, **kwargs: Any) -> MountContext:
        """A context giving the files in a local folder: ``with dataset.mount() as context: context.mount_point``.

        One folder on a local datastore is used as it is; otherwise the files are
        copied into ``mount_point`` (default: a temporary folder, removed by ``stop()``).
        """
        from jupyter_amlpipe.workspace.dataset_mount import MountContext

        return MountContext(self, mount_point)

    def take(self, count: int) -> FileDataset:
        """The first ``count`` files (in the order of ``to_path()``)."""
        return self._with("select_files", {"op": "take", "count": select.check_count(count, f"{self._what()}.take")})

    def skip(self, count: int) -> FileDataset:
        """All but the first ``count`` files."""
        return self._with("select_files", {"op": "skip", "count": select.check_count(count, f"{self._what()}.skip")})

    def take_sample(self, probability: float, seed: int | None = None) -> FileDataset:
        """Each file with probability ``probability`` (the same files for the same seed)."""
        what = f"{self._what()}.take_sample"
        p = select.check_fraction(probability, "probability", what)
        return self._with("select_files", {"op": "sample", "probability": p, "seed": _seed(seed)})

    def random_split(self, percentage: float, seed: int | None = None) -> tuple[FileDataset, FileDataset]:
        """Two datasets: ``round(percentage * n)`` of the n files chosen at random (by ``seed``), and the rest."""
        first, second = self._split("select_files", percentage, seed)
        return first, second


class TabularDataset(Dataset):
    """Delimited or parquet files read as one table (v1 ``TabularDataset``)."""

    _kind = "tabular"

    def to_pandas_dataframe(self, on_error: str = "null", out_of_range_datetime: str = "null") -> Any:
        """All files as one pandas DataFrame (``pip install "jupyter_amlpipe[pandas]"``)."""
        return files_of.read_delimited(self._files(), self._options, self._what())

    # -- selections (recorded in the options, applied when the rows are read) --------
    def take(self, count: int) -> TabularDataset:
        """The first ``count`` rows."""
        return self._with("transforms", {"op": "take", "count": select.check_count(count, f"{self._what()}.take")})

    def skip(self, count: int) -> TabularDataset:
        """All but the first ``count`` rows."""
        return self._with("transforms", {"op": "skip", "count": select.check_count(count, f"{self._what()}.skip")})

    def take_sample(self, probability: float, seed: int | None = None) -> TabularDataset:
        """Each row with probability ``probability`` (the same rows for the same seed)."""
        what = f"{self._what()}.take_sample"
        p = select.check_fraction(probability, "probability", what)
        return self._with("transforms", {"op": "sample", "probability": p, "seed": _seed(seed)})

    def random_split(self, percentage: float, seed: int | None = None) -> tuple[TabularDataset, TabularDataset]:
        """Two datasets: ``round(percentage * n)`` of the n rows chosen at random (by ``seed``), and the rest.

        The parts are disjoint and together hold every row, each in the original order.
        """
        first, second = self._split("transforms", percentage, seed)
        return first, second

    def keep_columns(self, columns: str | list[str], validate: bool = False) -> TabularDataset:
        """Only ``columns``; with ``validate`` the data is read now to check that they exist."""
        dataset: TabularDataset = self._with("transforms", {"op": "keep_columns", "columns": _names(columns)})
        if validate:
            dataset.to_pandas_dataframe()
        return dataset

    def drop_columns(self, columns: str | list[str]) -> TabularDataset:
        """All columns but ``columns``."""
        dataset: TabularDataset = self._with("transforms", {"op": "drop_columns", "columns": _names(columns)})
        return dataset


def _seed(seed: int | None) -> int:
    return select.new_seed() if seed is None else int(seed)


def _names(columns: str | list[str]) -> list[str]:
    return [columns] if isinstance(columns, str) else [str(c) for c in columns]


class _FileFactory:
    """``Dataset.File``."""

    @staticmethod
    def from_files(path: Any, validate: bool = True, partition_format: str | None = None) -> FileDataset:
        """A FileDataset of ``path``: (datastore, "path or glob"), a DataPath, or a list of them.

        With ``validate`` (the default) the files are matched now, so a wrong path fails here.
        """
        workspace, specs = _specs(path, "Dataset.File.from_files")
        dataset = FileDataset(workspace, specs)
        if validate:
            dataset._validate()
        return dataset

    @staticmethod
    def upload_directory(
        src_dir: str | os.PathLike[str],
        target: Any,
        pattern: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> FileDataset:
        """Upload the files under ``src_dir`` (those matching the glob ``pattern``) to ``target``.

        ``target`` is a DataPath or (datastore, path). Returns a FileDataset of the
        target folder. Without ``overwrite``, a file already there with other
        content is an error (one with the same content is left as it is).
        """
        from jupyter_amlpipe.workspace import dataset_upload as up

        what = "Dataset.File.upload_directory"
        store, rel = up.target_of(target, what)
        files = up.local_files(src_dir, pattern, what)
        up.upload_checked(store, Path(src_dir), files, rel, overwrite, show_progress, what)
        return _FileFactory.from_files((store, rel))


class _TabularFactory:
    """``Dataset.Tabular``."""

    @staticmethod
    def from_delimited_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types: Any = None,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
    ) -> TabularDataset:
        """A TabularDataset of delimited files (CSV by default) at ``path`` (as for ``Dataset.File.from_files``)."""
        workspace, specs = _specs(path, "Dataset.Tabular.from_delimited_files")
        options = {
            "separator": separator,
            "header": bool(header) and str(header).upper() not in ("NO_HEADERS", "0"),
            "include_path": include_path,
            "infer_column_types": infer_column_types,
            "empty_as_string": empty_as_string,
            "encoding": encoding,
        }
        dataset = TabularDataset(workspace, specs, options)
        if validate:
            dataset._validate()
        return dataset

    @staticmethod
    def from_parquet_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: Any = None,
        partition_format: str | None = None,
    ) -> TabularDataset:
        """A TabularDataset of parquet files at ``path`` (reading them needs pyarrow: the ``pandas`` extra)."""
        workspace, specs = _specs(path, "Dataset.Tabular.from_parquet_files")
        dataset = TabularDataset(workspace, specs, {"format": "parquet", "include_path": include_path})
        if validate:
            dataset._validate()
        return dataset

    @staticmethod
    def from_json_lines_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: Any = None,
        partition_format: str | None = None,
        invalid_lines: str = "error",
        encoding: str = "utf8",
    ) -> TabularDataset:
        """A TabularDataset of JSON Lines files (one JSON object per line) at ``path``.

        ``invalid_lines="drop"`` skips lines that are not JSON objects; ``"error"`` (the default) fails on them.
        """
        what = "Dataset.Tabular.from_json_lines_files"
        if invalid_lines not in ("error", "drop"):
            raise DefinitionError(f"{what}: invalid_lines must be 'error' or 'drop', got {invalid_lines!r}.")
        workspace, specs = _specs(path, what)
        options = {"format": "json_lines", "include_path": include_path, "invalid_lines": invalid_lines}
        dataset = TabularDataset(workspace, specs, {**options, "encoding": encoding})
        if validate:
            dataset._validate()
        return dataset

    @staticmethod
    def register_pandas_dataframe(
        dataframe: Any,
        target: Any,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        show_progress: bool = True,
    ) -> TabularDataset:
        """Write ``dataframe`` to a new folder under ``target`` and register it as the TabularDataset ``name``.

        ``target`` is a DataPath or (datastore, path); the data goes to
        ``target/<guid>/part-00000.parquet`` (``.csv`` when pyarrow is not installed).
        Each call adds a version of ``name``.
        """
        from jupyter_amlpipe.workspace import dataset_upload as up

        what = "Dataset.Tabular.register_pandas_dataframe"
        store, rel = up.target_of(target, what)
        from jupyter_amlpipe.core.naming import check_identifier

        check_identifier(name, "Dataset")
        folder, kind = up.write_dataframe(dataframe, store, rel, what)
        read = _TabularFactory.from_parquet_files if kind == "parquet" else _TabularFactory.from_delimited_files
        dataset = read((store, folder), validate=False)
        registered = dataset.register(store.workspace, name, description, tags, create_new_version=True)
        assert isinstance(registered, TabularDataset)
        return registered


Dataset.File = _FileFactory
Dataset.Tabular = _TabularFactory
