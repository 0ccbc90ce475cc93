"""Data links between steps: DataReference, DataPath, PipelineData, PipelineParameter.

These are definitions only. What path a link becomes on a compute target is
decided by the runner when a step run is prepared.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from jupyter_amlpipe.core.naming import check_identifier, check_json_value
from jupyter_amlpipe.errors import DefinitionError

if TYPE_CHECKING:
    from jupyter_amlpipe.core.steps.base import Step

MOUNT = "mount"
DOWNLOAD = "download"
UPLOAD = "upload"
_MODES = (MOUNT, DOWNLOAD, UPLOAD, "direct")


def _check_mode(mode: str, owner: str) -> str:
    if mode not in _MODES:
        raise DefinitionError(f"{owner}: mode {mode!r} is not one of {', '.join(_MODES)}.", mode=mode)
    return MOUNT if mode == "direct" else mode


def _datastore_name(datastore: Any) -> str:
    return str(getattr(datastore, "name", datastore))


class PipelineParameter:
    """A value chosen when the pipeline is submitted (v1 ``PipelineParameter``)."""

    def __init__(self, name: str, default_value: Any) -> None:
        self.name = check_identifier(name, "PipelineParameter")
        if not isinstance(default_value, (DataPath, DataReference)) and not is_dataset(default_value):
            check_json_value(default_value, f"Default value of PipelineParameter {name!r}")
        self.default_value = default_value

    @property
    def _is_dataset(self) -> bool:
        """A dataset parameter (v1: ``PipelineParameter(name, default_value=dataset)``)."""
        return is_dataset(self.default_value)

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


class DataReference:
    """Existing data on a datastore, used as a step input (v1 ``DataReference``).

    ``mode="mount"`` gives the step the data's path directly; ``"download"``
    copies it into the step's working area first.
    """

    def __init__(
        self,
        datastore: Any,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = MOUNT,
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ) -> None:
        if datastore is None:
            raise DefinitionError("DataReference needs a datastore, e.g. ws.get_default_datastore().")
        self.datastore = datastore
        self.data_reference_name = check_identifier(data_reference_name or _datastore_name(datastore), "DataReference")
        self.path_on_datastore = check_relative_path(
            path_on_datastore, f"DataReference {self.data_reference_name!r}: path_on_datastore"
        )
        self.mode = _check_mode(mode, f"DataReference {self.data_reference_name!r}")
        self.path_on_compute = check_relative_path(
            path_on_compute, f"DataReference {self.data_reference_name!r}: path_on_compute"
        )
        self.overwrite = overwrite

    @property
    def name(self) -> str:
        return self.data_reference_name

    def _with(self, **changes: Any) -> DataReference:
        clone = copy.copy(self)
        for key, value in changes.items():
            setattr(clone, key, value)
        check_relative_path(clone.path_on_compute, f"DataReference {self.data_reference_name!r}: path_on_compute")
        return clone

    def as_mount(self) -> DataReference:
        return self._with(mode=MOUNT)

    def as_download(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        return self._with(mode=DOWNLOAD, path_on_compute=path_on_compute, overwrite=overwrite)

    def as_upload(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        return self._with(mode=UPLOAD, path_on_compute=path_on_compute, overwrite=overwrite)

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        base = (self.path_on_datastore or "").rstrip("/")
        joined = f"{base}/{path}" if base and path else (path or base or None)
        return DataReference(
            self.datastore,
            data_reference_name or self.data_reference_name,
            joined,
            self.mode,
            self.path_on_compute,
            self.overwrite,
        )

    def __repr__(self) -> str:
        return (
            f"DataReference(datastore={_datastore_name(self.datastore)!r}, data_reference_name="
            f"{self.data_reference_name!r}, path_on_datastore={self.path_on_datastore!r}, mode={self.mode!r})"
        )


class DataPathComputeBinding:
    """How a DataPath reaches the compute: mounted or downloaded (v1)."""

    def __init__(self, mode: str = MOUNT, path_on_compute: str | None = None, overwrite: bool = False) -> None:
        self.mode = _check_mode(mode, "DataPathComputeBinding")
        self.path_on_compute = check_relative_path(path_on_compute, "DataPathComputeBinding path_on_compute")
        self.overwrite = overwrite


class DataPath:
    """A path on a datastore (v1 ``DataPath``); usable as a PipelineParameter default."""

    def __init__(self, datastore: Any = None, path_on_datastore: str | None = None, name: str | None = None) -> None:
        if datastore is None:
            raise DefinitionError("DataPath needs a datastore, e.g. ws.get_default_datastore().")
        self.datastore = datastore
        self.path_on_datastore = check_relative_path(path_on_datastore, "DataPath path_on_datastore")
        self.name = check_identifier(name, "DataPath") if name else None

    @property
    def datastore_name(self) -> str:
        return _datastore_name(self.datastore)

    def create_data_reference(
        self, data_reference_name: str | None = None, datapath_compute_binding: DataPathComputeBinding | None = None
    ) -> DataReference:
        binding = datapath_compute_binding or DataPathComputeBinding()
        return DataReference(
            self.datastore,
            data_reference_name or self.name,
            self.path_on_datastore,
            binding.mode,
            binding.path_on_compute,
            binding.overwrite,
        )

    def __repr__(self) -> str:
        return f"DataPath(datastore={self.datastore_name!r}, path_on_datastore={self.path_on_datastore!r})"


class PipelineData:
    """Intermediate data: produced by the step that lists it in ``outputs``.

    Stored on its datastore under ``azureml/<producer step run id>/<name>``; a
    directory the producer writes files into (unless ``is_directory=False``).
    """

    def __init__(
        self,
        name: str,
        datastore: Any = None,
        output_name: str | None = None,
        output_mode: str = MOUNT,
        output_path_on_compute: str | None = None,
        output_overwrite: bool | None = None,
        data_type: str | None = None,
        is_directory: bool | None = None,
        pipeline_output_name: str | None = None,
        training_output: Any = None,
    ) -> None:
        self._origin: PipelineData = self
        self._name = check_identifier(name, "PipelineData")
        self._auto_named = False  # an unnamed OutputFileDatasetConfig: Pipeline names it after its producer
        self.datastore = datastore
        self._output_name = check_identifier(output_name, "PipelineData output") if output_name else None
        self.output_mode = _check_mode(output_mode, f"PipelineData {name!r}")
        self.output_path_on_compute = output_path_on_compute
        self.output_overwrite = output_overwrite
        self.data_type = data_type or "AnyFile"
        self.is_directory = is_directory
        self.pipeline_output_name = pipeline_output_name
        self._producers: list[Step] = []
        self._input_mode: str = MOUNT
        self._input_name: str | None = None  # the consumer's dataset input name, when given
        self._dataset_view = False  # consumed as a dataset (input_datasets[name] in the step)

    @property
    def name(self) -> str:
        """The data's name (views made by ``as_download()``, ``as_dataset()``... share their origin's)."""
        return self._origin._name

    @name.setter
    def name(self, value: str) -> None:
        self._origin._name = check_identifier(value, "PipelineData")
        self._origin._auto_named = False

    @property
    def output_name(self) -> str:
        return self._origin._output_name or self.name

    @output_name.setter
    def output_name(self, value: str | None) -> None:
        self._origin._output_name = check_identifier(value, "PipelineData output") if value else None

    def _dataset_input_name(self) -> str | None:
        """The consumer's name for this data in ``Run.get_context().input_datasets``, when it is a dataset input."""
        if self._input_name:
            return self._input_name
        return self.name if self._dataset_view else None

    # -- producer bookkeeping (a step records itself when it lists us in outputs) ----
    def _add_producer(self, step: Step) -> None:
        # A step re-defined under the same name (a re-run notebook cell) replaces the old one.
        self._producers = [p for p in self._producers if p is not step and p.name != step.name]
        self._producers.append(step)

    @property
    def _producer(self) -> Step | None:
        return self._producers[-1] if self._producers else None

    def as_download(
        self, input_name: str | None = None, path_on_compute: str | None = None, overwrite: bool | None = None
    ) -> PipelineData:
        clone = copy.copy(self)
        clone._input_mode = DOWNLOAD
        clone._origin = self._origin
        return clone

    def as_mount(self, input_name: str | None = None) -> PipelineData:
        clone = copy.copy(self)
        clone._input_mode = MOUNT
        clone._origin = self._origin
        return clone

    def as_input(self, input_name: str | None = None) -> PipelineData:
        return self.as_mount(input_name)

    def _root(self) -> PipelineData:
        """The original object (``as_download()`` returns a view of it)."""
        return self._origin

    # -- as a dataset (v1 PipelineData.as_dataset / parse_delimited_files / parse_parquet_files) ----
    def as_dataset(self) -> Any:
        """This data as a FileDataset for the steps that consume it (v1: a ``PipelineOutputFileDataset``).

        The consumer finds it in ``Run.get_context().input_datasets[name]`` (the name is the
        PipelineData's, or the one given to ``.as_named_input(name)``); it still orders the steps.
        """
        from jupyter_amlpipe.core.dataset import PipelineOutputFileDataset

        return PipelineOutputFileDataset._view_of(self)

    def parse_delimited_files(
        self,
        include_path: bool = False,
        separator: str = ",",
        header: Any = True,
        partition_format: str | None = None,
        file_extension: str = "",
        set_column_types: Any = None,
        quoted_line_breaks: bool = False,
    ) -> Any:
        """This data's delimited files as a TabularDataset for its consumers (v1 ``PipelineOutputTabularDataset``)."""
        return self.as_dataset().parse_delimited_files(
            include_path, separator, header, partition_format, file_extension, set_column_types, quoted_line_breaks
        )

    def parse_parquet_files(
        self,
        include_path: bool = False,
        partition_format: str | None = None,
        file_extension: str = ".parquet",
        set_column_types: Any = None,
    ) -> Any:
        """This data's parquet files as a TabularDataset for its consumers (v1; reading needs pyarrow)."""
        return self.as_dataset().parse_parquet_files(include_path, partition_format, file_extension, set_column_types)

    def _location(self, step_run_id: str) -> str:
        """Where the producer's output is stored on the datastore."""
        return f"azureml/{step_run_id}/{self.name}"

    def __repr__(self) -> str:
        return f"PipelineData(name={self.name!r}, datastore={_datastore_name(self.datastore) if self.datastore else None!r})"


def is_dataset(value: Any) -> bool:
    """A FileDataset or TabularDataset (see :mod:`jupyter_amlpipe.workspace.dataset`), without importing it."""
    return callable(getattr(value, "_spec", None)) and getattr(type(value), "_kind", "") in ("file", "tabular")


def _is_dataset_input(item: Any) -> bool:
    """A dataset used as a step input (``dataset.as_named_input(name)``, see :mod:`.dataset`)."""
    return getattr(type(item), "_dataset_input", False) is True


def is_data(item: Any) -> bool:
    return (
        isinstance(item, (DataReference, DataPath, PipelineData)) or _is_param_binding(item) or _is_dataset_input(item)
    )


def _is_param_binding(item: Any) -> bool:
    return (
        isinstance(item, tuple)
        and len(item) == 2
        and isinstance(item[0], PipelineParameter)
        and isinstance(item[1], DataPathComputeBinding)
    )


def data_name(item: Any) -> str:
    """The name a data link is known by inside a step (variable, env var)."""
    if isinstance(item, PipelineData):
        return item.name
    if isinstance(item, DataReference):
        return item.data_reference_name
    if isinstance(item, DataPath):
        return item.name or "datapath"
    if _is_param_binding(item):
        return str(item[0].name)
    if _is_dataset_input(item):
        return str(item.name)
    raise DefinitionError(f"{item!r} is not a data link (DataReference, DataPath or PipelineData).")


def data_identity(item: Any) -> tuple[Any, ...]:
    """What makes two data links the same data (a name may be shared only by the same data)."""
    if isinstance(item, PipelineData):
        return ("pipelinedata", id(item._root()))
    if isinstance(item, DataReference):
        return ("datastore", _datastore_name(item.datastore), item.path_on_datastore or "")
    if isinstance(item, DataPath):
        return ("datastore", item.datastore_name, item.path_on_datastore or "")
    if _is_param_binding(item):
        return ("parameter", item[0].name)
    if _is_dataset_input(item):
        return ("dataset", item._identity())
    raise DefinitionError(f"{item!r} is not a data link (DataReference, DataPath or PipelineData).")


def check_relative_path(path: str | None, what: str) -> str | None:
    """Refuse absolute paths and '..' where a path must stay inside a datastore or a working folder."""
    if path is None:
        return None
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")) or ".." in parts or (len(path) > 1 and path[1] == ":"):
        raise DefinitionError(
            f"{what} {path!r} must be a relative path without '..' (it may not leave its root).", path=path
        )
    return path
