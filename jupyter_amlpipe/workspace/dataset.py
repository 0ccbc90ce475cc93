"""Datasets (Azure ML SDK v1 ``Dataset``): named, versioned references to files on datastores.

``Dataset.File.from_files(path)`` and ``Dataset.Tabular.from_delimited_files(path, ...)``
define a dataset from ``(datastore, "path or glob")`` tuples, DataPaths or
DataReferences (or a list of them). Nothing is copied when a dataset is defined;
its files are matched when it is used (:mod:`.dataset_files`). ``register``
stores the definition in the workspace as a new version; ``Dataset.get_by_name``
and ``ws.datasets`` find it again. As a step input: ``as_named_input(name)``
with ``.as_mount()`` or ``.as_download()`` (see :mod:`jupyter_amlpipe.core.dataset`).
"""

from __future__ import annotations

import os
import uuid
from typing import Any, ClassVar

from jupyter_amlpipe.core.data import DataPath, DataReference
from jupyter_amlpipe.core.dataset import DatasetConsumptionConfig
from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean
from jupyter_amlpipe.workspace import dataset_files as files_of
from jupyter_amlpipe.workspace.datastore import Datastore

__all__ = ["Dataset", "FileDataset", "TabularDataset"]


def _specs(path: Any, what: str) -> tuple[Any, list[dict[str, str]]]:
    """(workspace, path specs) from v1's ``path`` argument."""
    items = path if isinstance(path, list) else [path]
    workspace, specs = None, []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Datastore):
            store, rel = item[0], str(item[1] or "")
        elif isinstance(item, (DataPath, DataReference)) and isinstance(item.datastore, Datastore):
            store, rel = item.datastore, item.path_on_datastore or ""
        elif isinstance(item, Datastore):
            store, rel = item, ""
        else:
            raise DefinitionError(
                f"{what}: path {item!r} is not (datastore, 'path or glob'), a DataPath or a list of them. "
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
        return files_of.match(self._workspace, self._paths, self._what())

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
        where = ", ".join(f"({p['datastore']!r}, {p['path']!r})" for p in self._paths)
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


class TabularDataset(Dataset):
    """Delimited or parquet files read as one table (v1 ``TabularDataset``)."""

    _kind = "tabular"

    def to_pandas_dataframe(self, on_error: str = "null", out_of_range_datetime: str = "null") -> Any:
        """All files as one pandas DataFrame (``pip install "jupyter_amlpipe[pandas]"``)."""
        return files_of.read_delimited(self._files(), self._options, self._what())


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
            dataset._files()
        return dataset


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
            dataset._files()
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
            dataset._files()
        return dataset


Dataset.File = _FileFactory
Dataset.Tabular = _TabularFactory
