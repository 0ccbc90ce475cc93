"""``Run``: the v1 run API, and the two runs a step's own code can get.

Inside a step, ``Run.get_context()`` returns a run bound to the step run: every
``log*``/``tag``/``upload_file`` call appends one JSON line to the run-context
file named by ``AMLPIPE_CONTEXT_FILE``; the runner reads that file into the
workspace (live and when the step ends). Files go straight into the step run's
artifact folder (``AMLPIPE_RUN_DIR``). ``run.parent`` writes the same way but
targets the pipeline run.

Outside a pipeline the same code gets an offline run, which prints what it
would have logged, like v1's ``_OfflineRun``, and keeps it in memory so
``get_metrics()``, ``get_tags()`` and ``get_properties()`` read it back.

``Run.get(workspace, run_id)`` and ``Run(experiment, run_id)`` hand back a
recorded run (a ``PipelineRun`` or a ``StepRun``). This module may not import
the runner (it sits below it, and stays standard-library-only), so both ask
the workspace object they are given: ``workspace.get_run(run_id)`` is the
workspace's own lookup, which reaches the runner's run classes by name.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any

from jupyter_amlpipe.context.metrics import aggregate
from jupyter_amlpipe.errors import DefinitionError, ExecutionError, LookupFailed

ENV_CONTEXT_FILE = "AMLPIPE_CONTEXT_FILE"
ENV_RUN_DIR = "AMLPIPE_RUN_DIR"
ENV_PARENT_RUN_DIR = "AMLPIPE_PARENT_RUN_DIR"
ENV_WORKSPACE = "AMLPIPE_WORKSPACE"
ENV_RUN_ID = "AZUREML_RUN_ID"
ENV_PARENT_RUN_ID = "AZUREML_PARENT_RUN_ID"
ENV_ROOT_RUN_ID = "AZUREML_ROOT_RUN_ID"
ENV_EXPERIMENT = "AZUREML_EXPERIMENT_NAME"
ENV_STEP_NAME = "AMLPIPE_STEP_NAME"
ENV_INPUT_DATASETS = "AMLPIPE_INPUT_DATASETS"  # JSON {input name: local path}
ENV_TABULAR_DATASETS = "AMLPIPE_TABULAR_DATASETS"  # JSON {input name: read options} of TabularDataset inputs


class DatasetPath(str):
    """A dataset input's local folder, as a ``str``; a TabularDataset input also reads as v1's does.

    ``Run.get_context().input_datasets["name"].to_pandas_dataframe()`` reads
    the delimited files of a TabularDataset input with the dataset's options.
    """

    _input_name: str
    _options: dict[str, Any] | None

    def __new__(cls, path: str, input_name: str, options: Mapping[str, Any] | None = None) -> DatasetPath:
        made = super().__new__(cls, path)
        made._input_name = input_name
        made._options = None if options is None else dict(options)
        return made

    def to_pandas_dataframe(self) -> Any:
        """The TabularDataset input's files as one pandas DataFrame (needs pandas)."""
        if self._options is None:
            raise DefinitionError(
                f"Dataset input {self._input_name!r} is a FileDataset, not a TabularDataset: read the files in "
                f"its folder {str(self)!r}, or define it with Dataset.Tabular.from_delimited_files.",
            )
        import importlib

        # Loaded by name: this module stays standard-library-only inside step processes.
        read = importlib.import_module("jupyter_amlpipe.workspace.dataset_files").read_delimited_folder
        return read(str(self), self._options, f"TabularDataset input {self._input_name!r}")


def _jsonable(value: Any, what: str) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(
            f"{what} must be JSON-serializable (numbers, strings, booleans, lists, dicts); got {type(value).__name__}.",
        ) from exc
    return value


def _artifact_name(name: str) -> str:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise DefinitionError(f"Artifact name {name!r} must be a relative path without '..'.", name=name)
    return str(p)


class Run:
    """A run: a pipeline run, a step run, or the current step's own context.

    The tracking methods (``log``, ``log_list``, ``log_row``, ``log_table``,
    ``log_image``, ``tag``, ``set_tags``, ``add_properties``, ``upload_file``)
    are the v1 names. Subclasses decide where records go via :meth:`_emit` and
    :meth:`_store_file`.
    """

    id: str = ""
    name: str = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Run:
        """v1 ``Run(experiment, run_id, outputs=None, **kwargs)``: the recorded run with this id.

        It is a ``PipelineRun`` for a pipeline run's id and a ``StepRun`` for a
        step run's id. Subclasses are built by their own constructors.
        """
        if cls is not Run:
            return super().__new__(cls)
        experiment = args[0] if args else kwargs.get("experiment")
        run_id = args[1] if len(args) > 1 else kwargs.get("run_id")
        workspace = getattr(experiment, "workspace", None)
        if workspace is None or not hasattr(workspace, "get_run") or not isinstance(run_id, str) or not run_id:
            raise DefinitionError(
                f"Run(experiment, run_id) needs an Experiment and a run id, got Run({experiment!r}, {run_id!r}). "
                "Use Run.get(workspace, run_id) for any run by id, or Run.get_context() inside a step.",
            )
        run: Run = Run.get(workspace, run_id)
        recorded = getattr(getattr(run, "experiment", None), "name", None)
        if recorded is not None and recorded != getattr(experiment, "name", None):
            raise LookupFailed(
                f"Run {run_id!r} belongs to experiment {recorded!r}, not {getattr(experiment, 'name', None)!r}. "
                f"Use Experiment(ws, {recorded!r}), or Run.get(ws, {run_id!r}) which finds it in any experiment.",
                run_id=run_id,
            )
        return run  # Python then runs type(run).__init__(experiment, run_id, ...) on it

    @classmethod
    def get(cls, workspace: Any, run_id: str, **kwargs: Any) -> Any:
        """v1 ``Run.get(workspace, run_id)``: the run with this id, as its own class.

        ``Run.get`` gives a ``PipelineRun`` for a pipeline run's id and a
        ``StepRun`` for a step run's id; ``PipelineRun.get`` (or
        ``StepRun.get``) also checks the run is of that kind.
        """
        get_run = getattr(workspace, "get_run", None)
        if get_run is None:
            raise DefinitionError(f"{cls.__name__}.get(workspace, run_id) needs a Workspace, got {workspace!r}.")
        run = get_run(run_id)
        if not isinstance(run, cls):
            raise LookupFailed(
                f"Run {run_id!r} is a {type(run).__name__}, not a {cls.__name__}. "
                f"Use Run.get(ws, {run_id!r}) or {type(run).__name__}.get(ws, {run_id!r}).",
                run_id=run_id,
            )
        return run

    @property
    def display_name(self) -> str:
        """The run's name as shown (a step's name; the pipeline's description or experiment)."""
        return self.name or self.id

    # -- the v1 entry point ------------------------------------------------------
    @classmethod
    def get_context(cls, allow_offline: bool = True, used_for_context_manager: bool = False, **kwargs: Any) -> Run:
        """The run this code is part of: the step run inside a pipeline, else an offline run."""
        path = os.environ.get(ENV_CONTEXT_FILE)
        if path:
            return _StepContextRun.from_environment()
        if not allow_offline:
            raise ExecutionError(
                "Run.get_context(allow_offline=False) was called outside a pipeline step. "
                "Submit the script as a step, or pass allow_offline=True."
            )
        return _OfflineRun()

    # -- records -------------------------------------------------------------
    def _emit(self, record: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _store_file(self, name: str, source: str | os.PathLike[str] | IO[bytes]) -> str:  # pragma: no cover
        raise NotImplementedError

    def _metric(self, kind: str, name: str, value: Any, description: str = "") -> None:
        if not isinstance(name, str) or not name:
            raise DefinitionError(f"A metric name must be a non-empty string, got {name!r}.")
        self._emit(
            {
                "type": "metric",
                "kind": kind,
                "name": name,
                "value": _jsonable(value, f"Metric {name!r}"),
                "description": description,
                "ts": time.time(),
            }
        )

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a value; logged again under the same name it becomes a list."""
        self._metric("scalar", name, value, description)

    def log_list(self, name: str, value: Sequence[Any], description: str = "") -> None:
        self._metric("list", name, list(value), description)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._metric("row", name, dict(kwargs), description or "")

    def log_table(self, name: str, value: Mapping[str, Sequence[Any]], description: str = "") -> None:
        self._metric("table", name, {k: list(v) for k, v in value.items()}, description)

    def log_image(
        self, name: str, path: str | os.PathLike[str] | None = None, plot: Any = None, description: str = ""
    ) -> None:
        """Log an image file (``path``) or a matplotlib figure/pyplot (``plot``)."""
        if (path is None) == (plot is None):
            raise DefinitionError(f"log_image({name!r}) needs exactly one of path= or plot=.")
        artifact = f"images/{_artifact_name(name)}.png"
        if path is not None:
            if not Path(path).is_file():
                raise DefinitionError(f"log_image({name!r}): no file at {path}.", path=str(path))
            suffix = Path(path).suffix or ".png"
            artifact = f"images/{_artifact_name(name)}{suffix}"
            stored = self._store_file(artifact, path)
        else:
            import io

            buf = io.BytesIO()
            fig = plot.gcf() if hasattr(plot, "gcf") else plot
            fig.savefig(buf, format="png")
            buf.seek(0)
            stored = self._store_file(artifact, buf)
        self._metric("image", name, {"path": stored}, description)

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        self._metric("confusion_matrix", name, value, description)

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        self._metric("predictions", name, value, description)

    def tag(self, key: str, value: Any = None) -> None:
        self._emit({"type": "tags", "values": {key: "" if value is None else str(value)}})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._emit({"type": "tags", "values": {k: "" if v is None else str(v) for k, v in tags.items()}})

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        self._emit({"type": "properties", "values": {k: str(v) for k, v in properties.items()}})

    def upload_file(
        self, name: str, path_or_stream: str | os.PathLike[str] | IO[bytes], datastore_name: Any = None
    ) -> str:
        """Store a file with the run under ``name`` (a relative path, e.g. ``outputs/model.pkl``)."""
        if isinstance(path_or_stream, (str, os.PathLike)) and not Path(path_or_stream).is_file():
            raise DefinitionError(f"upload_file({name!r}): no file at {path_or_stream}.", path=str(path_or_stream))
        return self._store_file(_artifact_name(name), path_or_stream)

    def upload_files(self, names: Sequence[str], paths: Sequence[str | os.PathLike[str]], **kwargs: Any) -> None:
        for name, path in zip(names, paths, strict=False):
            self.upload_file(name, path)

    def upload_folder(self, name: str, path: str | os.PathLike[str], **kwargs: Any) -> None:
        root = Path(path)
        if not root.is_dir():
            raise DefinitionError(f"upload_folder({name!r}): no folder at {path}.", path=str(path))
        for f in sorted(root.rglob("*")):
            if f.is_file():
                self.upload_file(f"{name.rstrip('/')}/{f.relative_to(root).as_posix()}", f)

    @property
    def input_datasets(self) -> dict[str, str]:
        """The step's dataset inputs by name (``as_named_input(name)``): the local folder of each (v1).

        A TabularDataset input is also its folder of delimited files here.
        """
        return {}

    def flush(self) -> None:
        """Records are written as they are made; kept for v1 compatibility."""

    def complete(self, _set_status: bool = True) -> None:
        """Inside a step the runner completes the run; kept for v1 compatibility."""


def _copy_into(dest: Path, source: str | os.PathLike[str] | IO[bytes]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
    if isinstance(source, (str, os.PathLike)):
        shutil.copyfile(source, tmp)
    else:
        with open(tmp, "wb") as out:
            shutil.copyfileobj(source, out)
    os.replace(tmp, dest)


class _StepContextRun(Run):
    """The step run seen from inside the step process: appends to the context file."""

    _lock = threading.Lock()

    def __init__(
        self,
        run_id: str,
        context_file: str,
        run_dir: str,
        target: str = "self",
        parent_id: str | None = None,
        parent_dir: str | None = None,
        experiment_name: str = "",
        workspace_path: str | None = None,
        name: str = "",
    ) -> None:
        self.id = run_id
        self.name = name
        self._context_file = context_file
        self._run_dir = Path(run_dir)
        self._target = target
        self._parent_id = parent_id
        self._parent_dir = parent_dir
        self._experiment_name = experiment_name
        self._workspace_path = workspace_path

    @classmethod
    def from_environment(cls) -> _StepContextRun:
        env = os.environ
        return cls(
            run_id=env.get(ENV_RUN_ID, ""),
            context_file=env[ENV_CONTEXT_FILE],
            run_dir=env.get(ENV_RUN_DIR, "."),
            parent_id=env.get(ENV_PARENT_RUN_ID),
            parent_dir=env.get(ENV_PARENT_RUN_DIR),
            experiment_name=env.get(ENV_EXPERIMENT, ""),
            workspace_path=env.get(ENV_WORKSPACE),
            name=env.get(ENV_STEP_NAME, ""),
        )

    def _emit(self, record: dict[str, Any]) -> None:
        record["target"] = self._target
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            fd = os.open(self._context_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data)  # one write with O_APPEND: lines never interleave
            finally:
                os.close(fd)

    def _store_file(self, name: str, source: str | os.PathLike[str] | IO[bytes]) -> str:
        _copy_into(self._run_dir / name, source)
        self._emit({"type": "file", "name": name})
        return name

    @property
    def parent(self) -> Run | None:
        if self._target != "self" or not self._parent_id:
            return None
        return _StepContextRun(
            run_id=self._parent_id,
            context_file=self._context_file,
            run_dir=self._parent_dir or str(self._run_dir),
            target="parent",
            experiment_name=self._experiment_name,
            workspace_path=self._workspace_path,
        )

    @property
    def experiment(self) -> Any:
        """The run's Experiment (its ``.workspace`` is the workspace)."""
        if not self._workspace_path:
            raise ExecutionError("This step run does not know its workspace (AMLPIPE_WORKSPACE is not set).")
        import importlib

        # Loaded by name: this module stays standard-library-only inside step processes.
        workspace_cls = importlib.import_module("jupyter_amlpipe.workspace.workspace").Workspace
        experiment_cls = importlib.import_module("jupyter_amlpipe.runner.experiment").Experiment
        return experiment_cls(workspace_cls(path=self._workspace_path), self._experiment_name)

    @property
    def input_datasets(self) -> dict[str, str]:
        raw = os.environ.get(ENV_INPUT_DATASETS) if self._target == "self" else None
        if not raw:
            return {}
        tabular = json.loads(os.environ.get(ENV_TABULAR_DATASETS) or "{}")
        return {str(k): DatasetPath(str(v), str(k), tabular.get(k)) for k, v in json.loads(raw).items()}

    def get_status(self) -> str:
        return "Running"

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, experiment={self._experiment_name!r}, target={self._target!r})"


class _OfflineRun(Run):
    """A run outside any pipeline: prints what it would log, never fails.

    Like v1's ``_OfflineRun`` its id is ``OfflineRun_<uuid>`` and its status
    ``Running``. What it logs is kept in this process, so ``get_metrics()``,
    ``get_tags()``, ``get_properties()`` and ``get_details()`` read it back
    (nothing is written anywhere).
    """

    def __init__(self) -> None:
        self.id = f"OfflineRun_{uuid.uuid4()}"
        self.name = self.id
        self._started = time.time()
        self._metrics: list[dict[str, Any]] = []
        self._tags: dict[str, str] = {}
        self._properties: dict[str, str] = {}

    def _emit(self, record: dict[str, Any]) -> None:
        kind = record.get("type")
        if kind == "metric":
            self._metrics.append(record)
            print(f"Attempted to log {record['kind']} metric {record['name']}:\n{record['value']}")
            return
        if kind == "tags":
            self._tags.update(record["values"])
        elif kind == "properties":
            self._properties.update(record["values"])
        print(f"Attempted to record {kind}: {record.get('values', record.get('name'))}")

    def _store_file(self, name: str, source: str | os.PathLike[str] | IO[bytes]) -> str:
        print(f"Attempted to upload file {name} (offline run: not stored)")
        return name

    @property
    def parent(self) -> Run | None:
        return None

    @property
    def experiment(self) -> Any:
        raise ExecutionError(
            "An offline run (Run.get_context() outside a pipeline) has no experiment or workspace. "
            "Use Workspace.from_config() to open a workspace, or run this script as a pipeline step."
        )

    @property
    def run_id(self) -> str:
        return self.id

    def get_status(self) -> str:
        return "Running"

    @property
    def status(self) -> str:
        return self.get_status()

    def get_metrics(
        self, name: str | None = None, recursive: bool = False, run_type: str | None = None, populate: bool = False
    ) -> dict[str, Any]:
        """What this process logged on the offline run, in the shapes a recorded run's ``get_metrics()`` has."""
        metrics = aggregate(self._metrics)
        if name is not None:
            metrics = {k: v for k, v in metrics.items() if k == name}
        return {self.id: metrics} if recursive else metrics

    def get_tags(self) -> dict[str, str]:
        return dict(self._tags)

    @property
    def tags(self) -> dict[str, str]:
        return self.get_tags()

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    @property
    def properties(self) -> dict[str, str]:
        return self.get_properties()

    def get_details(self) -> dict[str, Any]:
        """v1's details of a run in progress (no ``endTimeUtc``); an offline run has no log files."""
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self._started))
        return {
            "runId": self.id,
            "target": "local",
            "status": self.get_status(),
            "startTimeUtc": f"{started}.{int(self._started % 1 * 1e6):06d}Z",
            "properties": self.get_properties(),
            "tags": self.get_tags(),
            "inputDatasets": [],
            "outputDatasets": [],
            "logFiles": {},
        }

    def get_details_with_logs(self) -> dict[str, Any]:
        return self.get_details()

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, offline)"
