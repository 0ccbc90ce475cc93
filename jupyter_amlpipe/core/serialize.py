"""Pipelines as JSON: what a run records so it can be resumed (and later published) from any process.

Each step is stored as its type and the arguments it was built with; data
links, parameters, environments and compute targets are tagged values
(``{"$pd": ...}``, ``{"$param": ...}``, ...). PipelineData objects shared by
several steps are stored once, so the rebuilt steps share them again.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from jupyter_amlpipe.core.compute_target import ComputeTarget
from jupyter_amlpipe.core.data import (
    DataPath,
    DataPathComputeBinding,
    DataReference,
    PipelineData,
    PipelineParameter,
    is_dataset,
)
from jupyter_amlpipe.core.dataset import (
    DatasetConsumptionConfig,
    OutputFileDatasetConfig,
    OutputTabularDatasetConfig,
    PipelineOutputFileDataset,
    PipelineOutputTabularDataset,
    table_view,
)
from jupyter_amlpipe.core.environment import CondaDependencies, Environment, RunConfiguration
from jupyter_amlpipe.core.pipeline import Pipeline
from jupyter_amlpipe.core.steps import STEP_TYPES
from jupyter_amlpipe.core.steps.base import Step
from jupyter_amlpipe.errors import DefinitionError

FORMAT = 1


def _store_name(store: Any) -> str | None:
    return None if store is None else str(getattr(store, "name", store))


class _Encoder:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self._keys: dict[int, str] = {}
        self.parameters: dict[str, Any] = {}

    def pipeline_data(self, pd: PipelineData) -> str:
        root = pd._root()
        key = self._keys.get(id(root))
        if key is None:
            key = self._keys[id(root)] = f"pd{len(self._keys)}"
            self.data[key] = {
                "name": root.name,
                "datastore": _store_name(root.datastore),
                "output_name": root.output_name,
                "is_directory": root.is_directory,
                "made_by_step": True,  # the output's path is made by the step (records before this: a folder made first)
            }
            if isinstance(root, OutputFileDatasetConfig):
                self.data[key]["output_dataset"] = {
                    "path": root._path_template,
                    "mode": root._output_mode,
                    "register": root._register,
                }
        return key

    def value(self, v: Any, where: str) -> Any:
        if v is None or isinstance(v, (str, int, float, bool)):
            return v
        if isinstance(v, PurePath):
            return str(v)
        if isinstance(v, PipelineParameter):
            self.parameters[v.name] = self.value(v.default_value, f"{where}: parameter {v.name}")
            return {"$param": v.name}
        if isinstance(v, PipelineData):
            encoded = {
                "$pd": self.pipeline_data(v),
                "mode": v._input_mode,
                "input_name": v._dataset_input_name(),  # the final name (unnamed outputs are named by Pipeline)
            }
            table = getattr(v, "_tabular", None)  # OutputTabularDatasetConfig, PipelineOutputTabularDataset
            if table is not None:
                encoded["tabular"] = table
            if isinstance(v, PipelineOutputFileDataset):
                encoded["dataset"] = "file"
            return encoded
        if isinstance(v, DatasetConsumptionConfig):
            if isinstance(v.dataset, PipelineParameter):  # chosen at submit: recorded as the parameter
                return {"$dataset": [v.name, v.mode, v.path_on_compute, self.value(v.dataset, where)]}
            return {"$dataset": [v.name, v.mode, v.path_on_compute, _dataset_doc(v.dataset)]}
        if is_dataset(v):  # a dataset parameter's default or assigned value
            return {"$datasetdef": _dataset_doc(v)}
        if isinstance(v, DataReference):
            return {
                "$ref": [
                    _store_name(v.datastore),
                    v.data_reference_name,
                    v.path_on_datastore,
                    v.mode,
                    v.path_on_compute,
                    v.overwrite,
                ]
            }
        if isinstance(v, DataPath):
            return {"$datapath": [v.datastore_name, v.path_on_datastore, v.name]}
        if isinstance(v, DataPathComputeBinding):
            return {"$binding": [v.mode, v.path_on_compute, v.overwrite]}
        if isinstance(v, ComputeTarget):
            return {"$compute": v.name}
        if isinstance(v, Environment):
            return {"$env": _env_spec(v)}
        if isinstance(v, RunConfiguration):
            return {
                "$runconfig": {
                    "environment": _env_spec(v.environment),
                    "max_run_duration_seconds": v.max_run_duration_seconds,
                    "environment_variables": dict(v.environment_variables),
                }
            }
        if isinstance(v, tuple):
            return {"$tuple": [self.value(x, where) for x in v]}
        if isinstance(v, list):
            return [self.value(x, where) for x in v]
        if isinstance(v, dict):
            return {"$dict": {str(k): self.value(x, where) for k, x in v.items()}}
        raise DefinitionError(f"{where}: {type(v).__name__} values cannot be recorded with a pipeline.")


def _dataset_doc(dataset: Any) -> dict[str, Any]:
    """A dataset by its definition, and its registration (name, version, id) when it has one."""
    return {"spec": dataset._spec(), "name": dataset.name, "version": dataset.version, "id": dataset.id}


def _dataset_from(workspace: Any, doc: dict[str, Any]) -> Any:
    from importlib import import_module

    dataset_cls = import_module("jupyter_amlpipe.workspace.dataset").Dataset
    loaded = dataset_cls._from_spec(workspace, doc["spec"])
    loaded.name, loaded.version, loaded.id = doc.get("name"), doc.get("version"), doc.get("id")
    return loaded


def _env_spec(env: Environment) -> dict[str, Any]:
    spec = env._spec()
    spec["version"] = env.version
    return spec


def _env_from(spec: dict[str, Any]) -> Environment:
    env = Environment(spec["name"])
    deps = CondaDependencies.create(
        pip_packages=spec["python"]["pip"],
        conda_packages=spec["python"]["conda"],
        python_version=spec["python"]["python"],
    )
    deps.channels = list(spec["python"].get("channels", []))
    env.python.conda_dependencies = deps
    env.python.user_managed_dependencies = bool(spec.get("user_managed"))
    env.docker.enabled = bool(spec["docker"]["enabled"])
    env.docker.base_image = spec["docker"]["base_image"]
    env.docker.base_dockerfile = spec["docker"]["dockerfile"]
    env.environment_variables = dict(spec.get("env", {}))
    env.version = spec.get("version")
    return env


def pipeline_to_dict(
    pipeline: Pipeline, snapshots: dict[int, str] | None = None, assigned: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON description of ``pipeline`` (step ``i`` is ``pipeline.steps[i]``)."""
    enc = _Encoder()
    index = {id(s): i for i, s in enumerate(pipeline.steps)}
    steps = []
    for i, step in enumerate(pipeline.steps):
        spec = getattr(step, "_spec", None)
        if spec is None:
            raise DefinitionError(f"Step {step.name!r} ({type(step).__name__}) does not record how it was built.")
        steps.append(
            {
                "type": step.step_type,
                "kwargs": {k: enc.value(v, f"step {step.name!r}: {k}") for k, v in spec.items()},
                "run_after": [index[id(s)] for s in step._run_after if id(s) in index],
                "snapshot_id": (snapshots or {}).get(i),
            }
        )
    return {
        "format": FORMAT,
        "description": pipeline.description,
        "default_datastore": _store_name(pipeline._default_datastore),
        "steps": steps,
        "data": enc.data,
        "parameters": enc.parameters,
        "assigned": {k: enc.value(v, f"pipeline parameter {k}") for k, v in (assigned or {}).items()},
    }


class _Decoder:
    def __init__(self, workspace: Any, doc: dict[str, Any]) -> None:
        self.ws = workspace
        self.doc = doc
        self.data: dict[str, PipelineData] = {}
        self.params: dict[str, PipelineParameter] = {}

    def store(self, name: str | None) -> Any:
        if name is None:
            return None
        from importlib import import_module

        datastore = import_module("jupyter_amlpipe.workspace.datastore").Datastore
        return datastore.get(self.ws, name)

    def pipeline_data(self, key: str) -> PipelineData:
        if key not in self.data:
            d = self.doc["data"][key]
            if "output_dataset" in d:
                out = d["output_dataset"]
                data = OutputFileDatasetConfig(d["name"], destination=(self.store(d["datastore"]), out["path"]))
                data._output_mode = out["mode"]
                data._register = out["register"]
                self.data[key] = data
            else:
                self.data[key] = PipelineData(
                    d["name"],
                    datastore=self.store(d["datastore"]),
                    output_name=d["output_name"],
                    is_directory=d["is_directory"],
                )
            if not d.get("made_by_step"):  # recorded by an older version, whose steps found the folder made
                self.data[key]._folder_made_first = d.get("is_directory") is not False  # type: ignore[attr-defined]
        return self.data[key]

    def value(self, v: Any) -> Any:
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "$param" in v:
            name = v["$param"]
            if name not in self.params:
                self.params[name] = PipelineParameter(name, self.value(self.doc["parameters"][name]))
            return self.params[name]
        if "$pd" in v:
            pd = self.pipeline_data(v["$pd"])
            view = pd.as_download() if v.get("mode") == "download" else pd
            if v.get("tabular") is not None:  # read_*_files() of an output, parse_*_files() of a PipelineData
                kind = (
                    OutputTabularDatasetConfig
                    if isinstance(pd, OutputFileDatasetConfig)
                    else PipelineOutputTabularDataset
                )
                view = table_view(pd, kind, {}, False, None)
                view._tabular = dict(v["tabular"])
                view._input_name = v.get("input_name") or None
            elif v.get("dataset") == "file":  # PipelineData.as_dataset()
                view = PipelineOutputFileDataset._view_of(view)
                view._input_name = v.get("input_name") or None
            elif v.get("input_name"):
                view = PipelineData.as_mount(pd) if view is pd else view
                view._input_name = v["input_name"]
            return view
        if "$dataset" in v:
            name, mode, on_compute, dataset = v["$dataset"]
            loaded = self.value(dataset) if "$param" in dataset else _dataset_from(self.ws, dataset)
            return DatasetConsumptionConfig(name, loaded, mode, on_compute)
        if "$datasetdef" in v:
            return _dataset_from(self.ws, v["$datasetdef"])
        if "$ref" in v:
            store, name, path, mode, on_compute, overwrite = v["$ref"]
            return DataReference(self.store(store), name, path, mode, on_compute, overwrite)
        if "$datapath" in v:
            store, path, name = v["$datapath"]
            return DataPath(self.store(store), path, name)
        if "$binding" in v:
            return DataPathComputeBinding(*v["$binding"])
        if "$compute" in v:
            return v["$compute"]
        if "$env" in v:
            return _env_from(v["$env"])
        if "$runconfig" in v:
            rc = RunConfiguration(environment=_env_from(v["$runconfig"]["environment"]))
            rc.max_run_duration_seconds = v["$runconfig"]["max_run_duration_seconds"]
            rc.environment_variables = dict(v["$runconfig"]["environment_variables"])
            return rc
        if "$tuple" in v:
            return tuple(self.value(x) for x in v["$tuple"])
        if "$dict" in v:
            return {k: self.value(x) for k, x in v["$dict"].items()}
        raise DefinitionError(f"Unknown recorded value {v!r}.")


def pipeline_from_dict(doc: dict[str, Any], workspace: Any) -> tuple[Pipeline, list[Step], dict[str, Any]]:
    """Rebuild a pipeline; returns it, the steps in recorded order, and the assigned parameter values."""
    if doc.get("format") != FORMAT:
        raise DefinitionError(f"Recorded pipeline format {doc.get('format')!r} is not supported.")
    dec = _Decoder(workspace, doc)
    steps: list[Step] = []
    for entry in doc["steps"]:
        cls = STEP_TYPES.get(entry["type"])
        step = cls(**{k: dec.value(v) for k, v in entry["kwargs"].items()})
        if entry.get("snapshot_id"):
            step._snapshot_id = entry["snapshot_id"]  # type: ignore[attr-defined]
        steps.append(step)
    for step, entry in zip(steps, doc["steps"], strict=True):
        for j in entry["run_after"]:
            step.run_after(steps[j])
    pipeline = Pipeline(
        workspace, steps, description=doc.get("description"), default_datastore=dec.store(doc.get("default_datastore"))
    )
    assigned = {k: dec.value(v) for k, v in doc.get("assigned", {}).items()}
    return pipeline, steps, assigned
