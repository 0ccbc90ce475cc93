"""Datasets as step data (v1's ``DatasetConsumptionConfig`` and ``OutputFileDatasetConfig``).

Definitions only, like :mod:`.data`. The datasets themselves (which files,
registration, ``to_pandas_dataframe``) live in the workspace layer
(:mod:`jupyter_amlpipe.workspace.dataset`); what a step needs to know is here:

* :class:`DatasetConsumptionConfig` (``dataset.as_named_input(name).as_mount()``)
  is a step input. The runner gives the step a folder with the dataset's files:
  the data's own folder for a mount of one folder on a local datastore,
  otherwise a copy made before the step starts (a mount of cloud data or of a
  glob is a download). Inside the step ``Run.get_context().input_datasets[name]``
  is that folder.
* :class:`OutputFileDatasetConfig` is a step output: a :class:`~.data.PipelineData`
  whose place on the datastore is ``destination`` (``{run-id}`` and
  ``{output-name}`` are filled in), written locally by the step and published
  (uploaded) when the step succeeds, optionally registered as a dataset then.
* :class:`OutputTabularDatasetConfig` (``output.read_delimited_files()`` or
  ``.read_parquet_files()``) is that output read as a table by the steps that
  consume it: ``Run.get_context().input_datasets[name].to_pandas_dataframe()``;
  registered on complete, it becomes a TabularDataset.
"""

from __future__ import annotations

import copy
from typing import Any

from jupyter_amlpipe.core.data import (
    DOWNLOAD,
    MOUNT,
    UPLOAD,
    PipelineData,
    PipelineParameter,
    check_relative_path,
    is_dataset,
)
from jupyter_amlpipe.core.naming import check_identifier
from jupyter_amlpipe.errors import DefinitionError

__all__ = [
    "DEFAULT_OUTPUT_PATH",
    "DatasetConsumptionConfig",
    "OutputFileDatasetConfig",
    "OutputTabularDatasetConfig",
    "PipelineOutputFileDataset",
    "PipelineOutputTabularDataset",
]

DEFAULT_OUTPUT_PATH = "dataset/{run-id}/{output-name}"


class DatasetConsumptionConfig:
    """A dataset as a named step input (v1 ``DatasetConsumptionConfig``).

    ``dataset`` is a FileDataset or TabularDataset, or a PipelineParameter whose default is one
    (v1: the dataset is then chosen at submit, ``pipeline_parameters={name: other_dataset}``);
    ``mode`` is ``"direct"`` (the default: for a step, the same as mount), ``"mount"`` or ``"download"``.
    """

    _dataset_input = True  # recognized by core.data.is_data without importing this module

    def __init__(self, name: str, dataset: Any, mode: str = "direct", path_on_compute: str | None = None) -> None:
        self.name = check_identifier(name, "Dataset input")
        if isinstance(dataset, PipelineParameter) and not dataset._is_dataset:
            raise DefinitionError(
                f"Dataset input {name!r}: PipelineParameter {dataset.name!r} has the default "
                f"{dataset.default_value!r}, not a dataset. Give it a FileDataset or TabularDataset default.",
                parameter=dataset.name,
            )
        if not isinstance(dataset, PipelineParameter) and not is_dataset(dataset):
            raise DefinitionError(
                f"Dataset input {name!r}: {dataset!r} is not a dataset; pass a FileDataset or TabularDataset "
                "(Dataset.File.from_files(...), Dataset.get_by_name(ws, name)) or a PipelineParameter with one.",
            )
        self.dataset = dataset
        if mode not in ("direct", MOUNT, DOWNLOAD):
            raise DefinitionError(
                f"Dataset input {name!r}: mode {mode!r} is not one of direct, mount, download.", mode=mode
            )
        self.mode = mode
        self.path_on_compute = check_relative_path(path_on_compute, f"Dataset input {name!r}: path_on_compute")

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, MOUNT, path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self.name, self.dataset, DOWNLOAD, path_on_compute)

    def _identity(self) -> str:
        """What makes two inputs the same data: the dataset's definition (or the parameter that chooses it)."""
        if isinstance(self.dataset, PipelineParameter):
            return f"parameter:{self.dataset.name}"
        return str(self.dataset._identity())

    def _dataset_for(self, parameters: dict[str, Any]) -> Any:
        """The dataset this input reads in a run whose parameter values are ``parameters``."""
        if not isinstance(self.dataset, PipelineParameter):
            return self.dataset
        value = parameters.get(self.dataset.name, self.dataset.default_value)
        if not is_dataset(value):
            raise DefinitionError(
                f"Dataset input {self.name!r}: pipeline parameter {self.dataset.name!r} is {value!r}, not a dataset. "
                "Pass a FileDataset or TabularDataset (e.g. Dataset.get_by_name(ws, name)).",
                parameter=self.dataset.name,
            )
        return value

    def __repr__(self) -> str:
        return f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r}, dataset={self.dataset!r})"


class OutputFileDatasetConfig(PipelineData):
    """A step's output folder, published to ``destination`` (v1 ``OutputFileDatasetConfig``).

    ``destination`` is ``(datastore, path)``; the path may hold ``{run-id}``
    (the producing step run's id) and ``{output-name}``. Without it the output
    goes to the pipeline's default datastore under ``dataset/{run-id}/{output-name}``.
    """

    def __init__(
        self,
        name: str | None = None,
        destination: tuple[Any, str] | None = None,
        source: str | None = None,
        partition_format: str | None = None,
    ) -> None:
        store, path = None, DEFAULT_OUTPUT_PATH
        if destination is not None and hasattr(destination, "datastore_type"):  # a bare datastore (v1 accepts it)
            destination = (destination, DEFAULT_OUTPUT_PATH)
        if destination is not None:
            if not (isinstance(destination, tuple) and len(destination) == 2 and isinstance(destination[1], str)):
                raise DefinitionError(
                    f"OutputFileDatasetConfig {name!r}: destination must be (datastore, path), got {destination!r}."
                )
            store, path = destination
        super().__init__(name or "output", datastore=store)
        self._auto_named = name is None  # named "<step>_output" by the Pipeline that holds its producer
        self.destination = destination
        self._path_template = _check_template(path, self.name)
        self.source = source
        self.partition_format = partition_format
        self._output_mode = UPLOAD
        self._overwrite = False
        self._register: dict[str, Any] | None = None

    # -- v1 API -------------------------------------------------------------
    def as_upload(self, overwrite: bool = False, source_globs: Any = None) -> OutputFileDatasetConfig:
        """Upload the step's output when it succeeds (what every output does here)."""
        self._output_mode, self._overwrite = UPLOAD, bool(overwrite)
        return self

    def as_mount(self, input_name: str | None = None, disable_metadata_cache: bool = False) -> Any:
        """On the producer's side (before any input use): a mounted output, published when the step succeeds.

        Outputs are always written to a local folder and published when the step
        succeeds, so a half-written output is never seen; mount and upload
        differ only in name here.
        """
        self._output_mode = MOUNT
        return self

    def as_input(self, name: str | None = None) -> PipelineData:
        """This output as another step's input (orders the steps, like PipelineData)."""
        view = PipelineData.as_mount(self)
        view._input_name = check_identifier(name, "Dataset input") if name else None
        view._dataset_view = True
        return view

    def register_on_complete(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> OutputFileDatasetConfig:
        """Register the output as a FileDataset called ``name`` (a new version) when the step succeeds."""
        self._register = {
            "name": check_identifier(name, "Dataset"),
            "description": description,
            "tags": dict(tags or {}),
        }
        return self

    def read_delimited_files(
        self,
        include_path: bool = False,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        path_glob: str | None = None,
        set_column_types: Any = None,
    ) -> OutputTabularDatasetConfig:
        """This output's delimited files (CSV by default) as a table for the steps that consume it (v1).

        ``header`` is True/False or v1's ``PromoteHeadersBehavior`` (``NO_HEADERS`` reads no header row);
        ``path_glob`` keeps only the files whose path inside the output matches it (``"*.csv"``).
        """
        options = {"format": "delimited", "separator": separator, "header": _has_header(header)}
        return self._as_table(options, include_path, path_glob)

    def read_parquet_files(
        self,
        include_path: bool = False,
        partition_format: str | None = None,
        path_glob: str | None = None,
        set_column_types: Any = None,
    ) -> OutputTabularDatasetConfig:
        """This output's parquet files as a table for the steps that consume it (v1; reading needs pyarrow)."""
        return self._as_table({"format": "parquet"}, include_path, path_glob)

    def _as_table(
        self, options: dict[str, Any], include_path: bool, path_glob: str | None
    ) -> OutputTabularDatasetConfig:
        return table_view(self, OutputTabularDatasetConfig, options, include_path, path_glob)  # type: ignore[no-any-return]

    # -- used by the runner ---------------------------------------------------
    def _location(self, step_run_id: str) -> str:
        return self._path_template.replace("{run-id}", step_run_id).replace("{output-name}", self.name)

    def __repr__(self) -> str:
        store = getattr(self.datastore, "name", self.datastore)
        return f"OutputFileDatasetConfig(name={self.name!r}, destination=({store!r}, {self._path_template!r}))"


class OutputTabularDatasetConfig(OutputFileDatasetConfig):
    """An output's files read as one table by the steps that consume it (v1 ``OutputTabularDatasetConfig``).

    Made by :meth:`OutputFileDatasetConfig.read_delimited_files` or ``.read_parquet_files``; it stands
    for the same output (the producer lists the OutputFileDatasetConfig; listing this one in a step's
    ``inputs`` or ``arguments`` makes that step a consumer). Inside the consumer,
    ``Run.get_context().input_datasets[name]`` is the output's folder, and its ``to_pandas_dataframe()``
    reads the files with these options.
    """

    _tabular: dict[str, Any]

    def as_input(self, name: str | None = None) -> OutputTabularDatasetConfig:
        """This table as another step's input called ``name`` (default: the output's name)."""
        view = copy.copy(self)
        view._input_name = check_identifier(name, "Dataset input") if name else None
        return view

    def keep_columns(self, columns: str | list[str]) -> OutputTabularDatasetConfig:
        """Read only these columns (v1)."""
        return _with_column_op(self, "keep_columns", columns)  # type: ignore[no-any-return]

    def drop_columns(self, columns: str | list[str]) -> OutputTabularDatasetConfig:
        """Read every column but these (v1)."""
        return _with_column_op(self, "drop_columns", columns)  # type: ignore[no-any-return]

    def random_split(self, percentage: float, seed: int | None = None) -> Any:
        raise DefinitionError(
            f"OutputTabularDatasetConfig {self.name!r}.random_split() is not provided: split the DataFrame in the "
            "consuming step (e.g. df.sample(frac=percentage, random_state=seed)), or write two outputs."
        )

    def register_on_complete(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> OutputTabularDatasetConfig:
        """Register the output as a TabularDataset called ``name`` (a new version) when its step succeeds."""
        root = self._root()
        assert isinstance(root, OutputFileDatasetConfig)
        OutputFileDatasetConfig.register_on_complete(root, name, description, tags)
        assert root._register is not None
        root._register["tabular"] = dict(self._tabular)
        return self

    def __repr__(self) -> str:
        return f"OutputTabularDatasetConfig(name={self.name!r}, format={self._tabular.get('format')!r})"


class PipelineOutputFileDataset(PipelineData):
    """PipelineData consumed as a FileDataset (v1 ``PipelineData.as_dataset()``).

    It stands for the same data (listing it in a producer's ``outputs`` or a consumer's ``inputs`` or
    ``arguments`` links the steps as the PipelineData does); inside a consumer,
    ``Run.get_context().input_datasets[name]`` is the data's folder, ``name`` being the PipelineData's
    name or the one given to :meth:`as_named_input`.
    """

    @classmethod
    def _view_of(cls, data: PipelineData) -> PipelineOutputFileDataset:
        view: Any = copy.copy(data)
        view.__class__ = cls
        view._origin = data._origin
        view._dataset_view = True
        return view  # type: ignore[no-any-return]

    def as_named_input(self, name: str) -> PipelineOutputFileDataset:
        """This dataset as an input called ``name`` (``input_datasets[name]`` in the consuming step)."""
        view = copy.copy(self)
        view._input_name = check_identifier(name, "Dataset input")
        return view

    def parse_delimited_files(
        self,
        include_path: bool = False,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        file_extension: str = "",
        set_column_types: Any = None,
        quoted_line_breaks: bool = False,
    ) -> PipelineOutputTabularDataset:
        """The delimited files (CSV by default) as a TabularDataset for the consumers (v1).

        ``header`` is True/False or v1's ``PromoteHeadersBehavior`` (``NO_HEADERS`` reads no header row);
        ``file_extension`` (``".csv"``) keeps only the files that end with it.
        """
        options = {"format": "delimited", "separator": separator, "header": _has_header(header)}
        return table_view(self, PipelineOutputTabularDataset, options, include_path, _extension_glob(file_extension))  # type: ignore[no-any-return]

    def parse_parquet_files(
        self,
        include_path: bool = False,
        partition_format: str | None = None,
        file_extension: str = ".parquet",
        set_column_types: Any = None,
    ) -> PipelineOutputTabularDataset:
        """The parquet files as a TabularDataset for the consumers (v1; reading needs pyarrow)."""
        options = {"format": "parquet"}
        return table_view(self, PipelineOutputTabularDataset, options, include_path, _extension_glob(file_extension))  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class PipelineOutputTabularDataset(PipelineOutputFileDataset):
    """PipelineData read as one table by its consumers (v1 ``PipelineOutputTabularDataset``).

    Made by ``PipelineData.parse_delimited_files()`` or ``.parse_parquet_files()``; inside the consumer
    ``Run.get_context().input_datasets[name].to_pandas_dataframe()`` reads it, as for
    :class:`OutputTabularDatasetConfig`.
    """

    _tabular: dict[str, Any]

    def keep_columns(self, columns: str | list[str]) -> PipelineOutputTabularDataset:
        """Read only these columns (v1)."""
        return _with_column_op(self, "keep_columns", columns)  # type: ignore[no-any-return]

    def drop_columns(self, columns: str | list[str]) -> PipelineOutputTabularDataset:
        """Read every column but these (v1)."""
        return _with_column_op(self, "drop_columns", columns)  # type: ignore[no-any-return]


def _has_header(header: Any) -> bool:
    """True/False, or v1's ``PromoteHeadersBehavior`` (only ``NO_HEADERS`` means no header row)."""
    return bool(header) and str(getattr(header, "name", header)).upper() not in ("NO_HEADERS", "0")


def _extension_glob(file_extension: str) -> str | None:
    ext = (file_extension or "").strip()
    if not ext:
        return None
    return f"*{ext}" if ext.startswith(".") else f"*.{ext}"


def table_view(
    data: PipelineData, cls: type, options: dict[str, Any], include_path: bool, path_glob: str | None
) -> Any:
    """A view of ``data`` that its consumers read as a table with ``options`` (one mechanism for both kinds)."""
    if path_glob is not None:
        check_relative_path(path_glob.replace("*", "x").replace("?", "x"), f"{data!r}: path_glob")
    view: Any = copy.copy(data)
    view.__class__ = cls
    view._origin = data._origin
    view._input_mode = MOUNT
    view._dataset_view = True
    view._tabular = {**options, "include_path": bool(include_path), "path_glob": path_glob}
    return view


def _with_column_op(view: Any, op: str, columns: str | list[str]) -> Any:
    """A copy of a table view with one more column selection, in the TabularDataset's own ``transforms`` form
    (applied by :func:`jupyter_amlpipe.workspace.dataset_select.apply_to_table`, in call order)."""
    chosen = [columns] if isinstance(columns, str) else list(columns)
    made = copy.copy(view)
    made._tabular = {
        **view._tabular,
        "transforms": [*view._tabular.get("transforms", []), {"op": op, "columns": chosen}],
    }
    return made


def _check_template(path: str, name: str) -> str:
    filled = path.replace("{run-id}", "r").replace("{output-name}", "o")
    check_relative_path(filled, f"OutputFileDatasetConfig {name!r}: destination path")
    if not filled.strip("/"):
        raise DefinitionError(f"OutputFileDatasetConfig {name!r}: the destination path is empty.")
    return path.strip("/")


def is_output_dataset(item: Any) -> bool:
    return isinstance(item, OutputFileDatasetConfig)
