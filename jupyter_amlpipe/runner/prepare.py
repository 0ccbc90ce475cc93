"""Preparing one step run: its working folder, data paths, environment and program."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from jupyter_amlpipe.context import run as ctx
from jupyter_amlpipe.core.data import (
    DOWNLOAD,
    DataPath,
    DataPathComputeBinding,
    DataReference,
    PipelineData,
    PipelineParameter,
    check_relative_path,
    data_identity,
    data_name,
    is_dataset,
)
from jupyter_amlpipe.core.dataset import DatasetConsumptionConfig, OutputFileDatasetConfig
from jupyter_amlpipe.errors import DefinitionError, ExecutionError
from jupyter_amlpipe.runner.job import StepJob
from jupyter_amlpipe.runner.plan import Plan, StepPlan

# Variables a step process relies on: a dataset named like one keeps only AZUREML_DATAREFERENCE_<name>.
_RESERVED = frozenset(
    [
        "PATH",
        "HOME",
        "USER",
        "USERNAME",
        "LOGNAME",
        "SHELL",
        "PWD",
        "OLDPWD",
        "TMP",
        "TEMP",
        "TMPDIR",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TZ",
        "HOSTNAME",
        "DISPLAY",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONUNBUFFERED",
        "PYTHONSTARTUP",
        "PYTHONIOENCODING",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "LD_LIBRARY_PATH",
        "LD_PRELOAD",
        "SYSTEMROOT",
        "COMSPEC",
        "PATHEXT",
        "APPDATA",
        "USERPROFILE",
    ]
)


def _clobbers(name: str, env: dict[str, str]) -> bool:
    """Whether a variable called ``name`` would replace one the step already gets (PATH, HOME, AZUREML_*...)."""
    upper = name.upper()
    return (
        upper in _RESERVED
        or upper.startswith(("AZUREML_", "AMLPIPE_", "AML_", "LC_"))
        or any(upper == key.upper() for key in (*env, *os.environ))
    )


def _param_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


class StepPreparer:
    """Builds the :class:`StepJob` of one step run (called when the step is about to start)."""

    def __init__(self, plan: Plan, sp: StepPlan) -> None:
        self.plan = plan
        self.sp = sp
        self.ws = plan.workspace
        self.run_dir = Path(self.ws.run_dir(sp.run_id))
        self.workdir = self.run_dir / "wd"
        self.paths: dict[str, str] = {}  # data name -> path (the environment variables)
        self._resolved: dict[tuple[Any, ...], str] = {}
        self.staged: list[tuple[str, Path, Any, str]] = []  # (name, staging path, datastore, path on it)
        self.input_datasets: dict[str, str] = {}  # dataset input name -> path (Run.get_context().input_datasets)
        self.file_outputs: set[str] = set()  # outputs the step wrote as one file, not a folder
        self.tabular_datasets: dict[str, dict[str, Any]] = {}  # TabularDataset input name -> its read options
        self.registrations: list[tuple[OutputFileDatasetConfig, Any, str]] = []  # register_on_complete outputs

    # -- data -------------------------------------------------------------------------
    def _datastore(self, store: Any) -> Any:
        if isinstance(store, str):
            from jupyter_amlpipe.workspace.datastore import Datastore

            return Datastore.get(self.ws, store)
        return store

    def _existing(
        self, name: str, store: Any, path_on_datastore: str | None, mode: str, path_on_compute: str | None
    ) -> str:
        store = self._datastore(store)
        rel = path_on_datastore or ""
        if not store.exists(rel):
            raise ExecutionError(
                f"Step {self.sp.step.name!r}: input {name!r} refers to {rel or '/'!r} on datastore {store.name!r}, "
                "which does not exist. Upload it first (datastore.upload_files / upload) or fix path_on_datastore.",
                step=self.sp.step.name,
            )
        local = store.local_path(rel)
        if mode != DOWNLOAD and local is not None:
            return str(local)
        base = self.workdir / (path_on_compute or f"inputs/{name}")
        target = base / (Path(rel).name or name)
        store.get_to_local(rel, target)
        return str(target)

    def _output(self, data: PipelineData) -> str:
        """Where the step writes an output: a staging place, published only if the step succeeds."""
        store, rel = self.plan.output_of[id(data._root())]
        staging = self.run_dir / "staging" / data.name
        self.staged.append((data.name, staging, store, rel))
        if isinstance(data, OutputFileDatasetConfig) and data._register is not None:
            self.registrations.append((data, store, rel))
        if data.is_directory is True or getattr(data._root(), "_folder_made_first", False):
            staging.mkdir(parents=True, exist_ok=True)
        else:
            staging.parent.mkdir(parents=True, exist_ok=True)
        return str(staging)

    def _consumed(self, data: PipelineData) -> str:
        store, rel = self.plan.output_of[id(data._root())]
        local = store.local_path(rel)
        if local is not None and data._input_mode != DOWNLOAD:
            return str(local)
        target = self.workdir / "inputs" / data.name
        store.get_to_local(rel, target)
        return str(target)

    def _dataset(self, item: DatasetConsumptionConfig) -> str:
        """A dataset input's folder: the data's own folder when it can be used as is, else a copy."""
        from jupyter_amlpipe.workspace import dataset_files

        dataset = item._dataset_for(self.plan.parameters)
        if item.mode != DOWNLOAD:
            folder = dataset_files.direct_folder(dataset._workspace, dataset._paths, dataset._options)
            if folder is not None:
                return str(folder)
        target = self.workdir / (item.path_on_compute or f"inputs/{item.name}")
        dataset_files.materialize(dataset._files(), target)
        return str(target)

    def resolve(self, item: Any) -> str:
        """A data link's path on the compute, or a parameter value as a string."""
        if isinstance(item, PipelineParameter):
            value = self.plan.parameters[item.name]
            if isinstance(value, (DataPath, DataReference)):  # a data parameter used directly in arguments
                return self.resolve((item, DataPathComputeBinding()))
            if is_dataset(value):  # a dataset parameter used directly: an input named after the parameter
                return self.resolve(DatasetConsumptionConfig(item.name, item))
            return _param_str(value)
        key = data_name(item)
        identity = (*data_identity(item), getattr(item, "mode", None), getattr(item, "path_on_compute", None))
        if isinstance(item, DatasetConsumptionConfig):  # one dataset under two input names: each name is set
            identity = (*identity, item.name)
        if identity in self._resolved:
            return self._resolved[identity]
        if isinstance(item, PipelineData):
            root = item._root()
            path = self._output(root) if root in self.sp.step.outputs else self._consumed(item)
            input_name = item._dataset_input_name()  # as_input(name), as_dataset(), parse_delimited_files(), ...
            if input_name and root not in self.sp.step.outputs:
                self.input_datasets[input_name] = path
                table = getattr(item, "_tabular", None)  # read_/parse_delimited_files(), read_/parse_parquet_files()
                if table is not None:
                    self.tabular_datasets[input_name] = dict(table)
        elif isinstance(item, DatasetConsumptionConfig):
            path = self.input_datasets[item.name] = self._dataset(item)
            dataset = item._dataset_for(self.plan.parameters)
            if getattr(dataset, "_kind", None) == "tabular":
                self.tabular_datasets[item.name] = dict(dataset._options)
        elif isinstance(item, DataReference):
            path = self._existing(key, item.datastore, item.path_on_datastore, item.mode, item.path_on_compute)
        elif isinstance(item, DataPath):
            path = self._existing(key, item.datastore, item.path_on_datastore, "mount", None)
        else:  # (PipelineParameter, DataPathComputeBinding)
            param, binding = item
            value = self.plan.parameters[param.name]
            if isinstance(value, DataReference):
                value = DataPath(value.datastore, value.path_on_datastore)
            if not isinstance(value, DataPath):
                raise DefinitionError(
                    f"Pipeline parameter {param.name!r} is bound as data but its value {value!r} is not a DataPath."
                )
            path = self._existing(key, value.datastore, value.path_on_datastore, binding.mode, binding.path_on_compute)
        self._resolved[identity] = path
        self.paths.setdefault(key, path)
        return path

    def value_of(self, item: Any) -> Any:
        if isinstance(item, PipelineParameter):
            value = self.plan.parameters[item.name]
            if isinstance(value, (DataPath, DataReference)):
                return self.resolve((item, DataPathComputeBinding()))
            if is_dataset(value):
                return self.resolve(item)
            return value
        return item

    # -- the job ----------------------------------------------------------------------
    def build(self) -> StepJob:
        step = self.sp.step
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.ws.snapshots.materialize(self.sp.snapshot_id, self.workdir)
        for item in step.inputs:
            self.resolve(item)
        for out in step.outputs:
            self.resolve(out)
        program = step._program(self.resolve, self.value_of)
        if program["type"] == "notebook":
            program["output"] = str(self.run_dir / "notebooks" / Path(program["notebook"]).name)
            if program.get("output_notebook"):  # v1 NotebookRunConfig(output_notebook=...): also a run output
                name = check_relative_path(program["output_notebook"], f"Step {step.name!r}: output_notebook")
                program["copy_to"].append(str(self.run_dir / "outputs" / str(name)))
        env = self._env()
        return StepJob(
            step_run_id=self.sp.run_id,
            step_name=step.name,
            root_run_id=self.plan.root_id,
            program=program,
            workdir=self.workdir,
            run_dir=self.run_dir,
            env=env,
            stdout_path=self.run_dir / "logs" / "stdout.txt",
            stderr_path=self.run_dir / "logs" / "stderr.txt",
            context_file=self.run_dir / "context.jsonl",
            timeout_seconds=step.timeout_seconds,
            environment=step.environment,
        )

    def _env(self) -> dict[str, str]:
        step = self.sp.step
        env = {
            ctx.ENV_RUN_ID: self.sp.run_id,
            ctx.ENV_PARENT_RUN_ID: self.plan.root_id,
            ctx.ENV_ROOT_RUN_ID: self.plan.root_id,
            ctx.ENV_EXPERIMENT: self.plan.experiment,
            ctx.ENV_STEP_NAME: step.name,
            ctx.ENV_CONTEXT_FILE: str(self.run_dir / "context.jsonl"),
            ctx.ENV_RUN_DIR: str(self.run_dir),
            ctx.ENV_PARENT_RUN_DIR: str(self.ws.run_dir(self.plan.root_id)),
            ctx.ENV_WORKSPACE: str(self.ws.path),
            "PYTHONUNBUFFERED": "1",
        }
        for key, value in step.params.items():
            env[f"AML_PARAMETER_{key}"] = _param_str(self.value_of(value))
        for name, path in self.paths.items():
            env[f"AZUREML_DATAREFERENCE_{name}"] = path
        # v1: an OutputFileDatasetConfig's name, and a dataset input's, is also a variable holding its path
        named = {
            o.name: self.paths[o.name]
            for o in step.outputs
            if isinstance(o, OutputFileDatasetConfig) and o.name in self.paths
        }
        for name, path in {**named, **self.input_datasets}.items():
            if not _clobbers(name, env):
                env[name] = path
        if self.input_datasets:
            env[ctx.ENV_INPUT_DATASETS] = json.dumps(self.input_datasets)
        if self.tabular_datasets:
            env[ctx.ENV_TABULAR_DATASETS] = json.dumps(self.tabular_datasets)
        if step.runconfig is not None:
            env.update({k: str(v) for k, v in step.runconfig.environment_variables.items()})
        if step.environment is not None:
            env.update({k: str(v) for k, v in step.environment.environment_variables.items()})
        return env

    def publish_outputs(self, digests: Any) -> dict[str, str]:
        """Move a successful step's outputs from staging to their datastore paths; return their digests.

        A failed or killed step never gets here, so nothing half-written is ever
        found at an output's datastore path.
        """
        out: dict[str, str] = {}
        for name, staging, store, rel in self.staged:
            if not staging.exists():  # the step wrote nothing: its consumers get an empty folder
                staging.mkdir(parents=True)
            if staging.is_file():
                self.file_outputs.add(name)
            out[name] = digests.digest(staging)
            final = store.local_path(rel)
            if final is None:
                store.put_from_local(staging, rel, overwrite=True)
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                shutil.rmtree(final) if final.is_dir() else final.unlink()
            try:
                os.replace(staging, final)
            except OSError:  # another filesystem: copy, then drop the staging copy
                if staging.is_dir():
                    shutil.copytree(staging, final)
                    shutil.rmtree(staging)
                else:
                    shutil.copy2(staging, final)
                    staging.unlink()
        self._register_datasets()
        return out

    def _register_datasets(self) -> None:
        """Register the outputs marked ``register_on_complete`` as new FileDataset (or TabularDataset) versions."""
        from jupyter_amlpipe.workspace.dataset import Dataset, TabularDataset

        for data, store, rel in self.registrations:
            assert data._register is not None
            table = data._register.get("tabular")
            if table is None:
                dataset: Dataset = Dataset.File.from_files((store, rel), validate=False)
            else:
                # path_glob matches from the right (as inside the consuming step): in any folder of the output
                glob = table.get("path_glob") if data.name not in self.file_outputs else None
                where = f"{rel}/**/{glob}" if glob else rel
                options = {k: v for k, v in table.items() if k != "path_glob"}
                dataset = TabularDataset(self.ws, [{"datastore": store.name, "path": where}], options)
            dataset.register(
                self.ws,
                data._register["name"],
                description=data._register["description"],
                tags=data._register["tags"],
                create_new_version=True,
            )

    def keep_outputs_folder(self) -> None:
        """v1 keeps what a step writes to ./outputs as run artifacts."""
        source = self.workdir / "outputs"
        if not source.is_dir():
            return
        target = self.run_dir / "outputs"
        for path in sorted(source.rglob("*")):
            if path.is_file():
                dest = target / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, dest)
