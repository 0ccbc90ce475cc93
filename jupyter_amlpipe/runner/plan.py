"""A submission's plan: run ids, compute targets, snapshots and output locations for every step."""

from __future__ import annotations

import getpass
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from jupyter_amlpipe.core.compute_target import ComputeTarget
from jupyter_amlpipe.core.data import PipelineData, is_dataset
from jupyter_amlpipe.core.graph import StepGraph
from jupyter_amlpipe.core.pipeline import Pipeline
from jupyter_amlpipe.core.steps.base import Step
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.runner.git import git_properties
from jupyter_amlpipe.runner.runs import new_run_id


@dataclass
class StepPlan:
    index: int
    step: Step
    run_id: str
    compute: ComputeTarget
    source_dir: Path
    snapshot_id: str
    outputs: dict[str, tuple[Any, str]] = field(default_factory=dict)  # name -> (datastore, path_on_datastore)
    order: int = 0  # position in a topological order (how step runs are listed)


@dataclass
class Plan:
    workspace: Any
    experiment: str
    root_id: str
    pipeline: Pipeline
    graph: StepGraph
    steps: list[StepPlan]
    parameters: dict[str, Any]
    continue_on_step_failure: bool
    regenerate_outputs: bool
    properties: dict[str, str]
    started_by: str
    output_of: dict[int, tuple[Any, str]] = field(default_factory=dict)  # id(PipelineData) -> location
    resume_from: dict[int, dict[str, Any]] = field(default_factory=dict)  # step index -> finished step run


def detect_origin() -> str:
    """What started a run: the CLI and servers say so; otherwise a notebook or a script."""
    origin = os.environ.get("AMLPIPE_STARTED_BY")
    if origin:
        return origin
    from jupyter_amlpipe.runner.follow import in_notebook  # here: follow imports the run objects, which import this

    # A kernel's shell, not merely an imported ipykernel (test runners and tools import it too).
    return "notebook" if in_notebook() else "script"


def _user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning name the first caller outside this package (the user's line)."""
    level = 1  # the function that calls warnings.warn
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("jupyter_amlpipe."):
        frame, level = frame.f_back, level + 1
    return level


def resolve_compute(workspace: Any, target: Any, cache: dict[str, ComputeTarget]) -> ComputeTarget:
    if isinstance(target, tuple) and target:  # v1 also accepts ("name", "AmlCompute")
        target = target[0]
    if target is None or target == "local":
        if "local" not in cache:
            record = workspace._store.get_named("compute_targets", "local")
            cache["local"] = (
                ComputeTarget._from_record(workspace, record)
                if record
                else ComputeTarget._from_record(workspace, {"name": "local", "kind": "local", "config": {}})
            )
        return cache["local"]
    if isinstance(target, str):
        if target not in cache:
            cache[target] = ComputeTarget(workspace, target)
        return cache[target]
    if isinstance(target, ComputeTarget):
        return target
    raise DefinitionError(
        f"compute_target {target!r} is not a compute target: pass LocalCompute(...), another target, or its name."
    )


def make_plan(
    workspace: Any,
    experiment: str,
    pipeline: Pipeline,
    parameters: dict[str, Any],
    continue_on_step_failure: bool,
    regenerate_outputs: bool,
) -> Plan:
    from jupyter_amlpipe.workspace.datastore import Datastore

    default_store = pipeline._default_datastore or Datastore.get_default(workspace)
    snapshots = workspace.snapshots
    taken: dict[Path, str] = {}
    targets: dict[str, ComputeTarget] = {}
    properties: dict[str, str] = {}
    plans: list[StepPlan] = []
    root_id = new_run_id()
    output_of: dict[int, tuple[Any, str]] = {}
    position = {index: pos for pos, index in enumerate(pipeline.graph.order())}
    for i, step in enumerate(pipeline.steps):
        src = step._source_dir(pipeline._default_source_directory)
        frozen = getattr(step, "_snapshot_id", None)  # a resumed run keeps the code it was submitted with
        if frozen is None and src not in taken:
            snapshot = snapshots.take(src)
            taken[src] = snapshot.id
            if snapshot.warning:  # over the size limits: still works, but say what to leave out
                warnings.warn(snapshot.warning, UserWarning, stacklevel=_user_stacklevel())
            if not properties:
                properties.update(git_properties(src))
        run_id = new_run_id()
        outputs: dict[str, tuple[Any, str]] = {}
        for out in step.outputs:
            store = _datastore_of(workspace, out, default_store)
            location = (store, out._location(run_id))
            outputs[out.name] = location
            output_of[id(out)] = location
        compute = resolve_compute(workspace, step.compute_target, targets)
        for message in compute.check_step(step):
            warnings.warn(message, UserWarning, stacklevel=_user_stacklevel())
        plans.append(
            StepPlan(
                i,
                step,
                run_id,
                compute,
                src,
                frozen or taken[src],
                outputs,
                position[i],
            )
        )
    return Plan(
        workspace,
        experiment,
        root_id,
        pipeline,
        pipeline.graph,
        plans,
        parameters,
        continue_on_step_failure,
        regenerate_outputs,
        properties,
        detect_origin(),
        output_of,
    )


def _datastore_of(workspace: Any, data: PipelineData, default: Any) -> Any:
    from jupyter_amlpipe.workspace.datastore import Datastore

    store = data.datastore
    if store is None:
        return default
    if isinstance(store, str):
        return Datastore.get(workspace, store)
    return store


def records(plan: Plan) -> list[dict[str, Any]]:
    """The pipeline run record and one record per step run."""
    user = _user()
    params = {k: (v if _plain(v) else _describe_data(v)) for k, v in plan.parameters.items()}
    root: dict[str, Any] = {
        "id": plan.root_id,
        "experiment": plan.experiment,
        "kind": "pipeline",
        "name": plan.pipeline.description or plan.experiment,
        "status": "NotStarted",
        "properties": {
            **plan.properties,
            "azureml.runsource": "azureml.PipelineRun",
            "amlpipe.started_by": plan.started_by,
            "amlpipe.submitted_by": user,
            "amlpipe.parameters": params,
            "amlpipe.continue_on_step_failure": str(plan.continue_on_step_failure),
            "amlpipe.regenerate_outputs": str(plan.regenerate_outputs),
        },
        "details": {
            "started_by": plan.started_by,
            "submitted_by": user,
            "parameters": params,
            "steps": len(plan.steps),
            "description": plan.pipeline.description,
        },
    }
    out = [root]
    for sp in plan.steps:
        step = sp.step
        out.append(
            {
                "id": sp.run_id,
                "experiment": plan.experiment,
                "parent_id": plan.root_id,
                "kind": "step",
                "name": step.name,
                "seq": sp.order,
                "properties": {"azureml.runsource": "azureml.StepRun", "StepType": step.step_type},
                "details": {
                    "definition": step._definition(),
                    "compute": sp.compute.name,
                    "snapshot_id": sp.snapshot_id,
                    "source_directory": str(sp.source_dir),
                    "depends_on": sorted(plan.graph.deps.get(sp.index, ())),
                    "outputs": {n: {"datastore": s.name, "path": p} for n, (s, p) in sp.outputs.items()},
                    "output_names": _output_aliases(step),
                    "submitted_by": user,
                    "index": sp.index,
                },
            }
        )
    return out


RECORDED_PIPELINE = ".pipeline.json"  # in the pipeline run's folder; kept out of the run record, read rarely


def record_pipeline(plan: Plan) -> None:
    """Write the pipeline as JSON next to the run, so it can be resumed from any process (or why it cannot be)."""
    from jupyter_amlpipe.core.serialize import pipeline_to_dict

    try:
        snapshots = {sp.index: sp.snapshot_id for sp in plan.steps}
        doc: dict[str, Any] = pipeline_to_dict(plan.pipeline, snapshots, plan.parameters)
    except DefinitionError as exc:
        doc = {"unrecordable": exc.message}
    folder = Path(plan.workspace.run_dir(plan.root_id))
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{RECORDED_PIPELINE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, folder / RECORDED_PIPELINE)


def recorded_pipeline(workspace: Any, run_id: str) -> dict[str, Any] | None:
    """The pipeline a run recorded at submit, or None when it has none."""
    path = Path(workspace.run_dir(run_id)) / RECORDED_PIPELINE
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc


def _output_aliases(step: Step) -> dict[str, str]:
    """Other names ``get_output_data`` accepts: output_name, and "output" for a step's one unnamed output."""
    aliases = {o.output_name: o.name for o in step.outputs if o.output_name != o.name}
    unnamed = [o for o in step.outputs if o._auto_named]
    if len(unnamed) == 1 and all(o.name != "output" for o in step.outputs):
        aliases.setdefault("output", unnamed[0].name)
    return aliases


def _describe_data(value: Any) -> dict[str, Any]:
    """A data-valued parameter (DataPath, DataReference, a dataset) as it is recorded with the run."""
    if is_dataset(value):
        spec = value._spec()
        return {"dataset": value.name, "version": value.version, "id": value.id, "definition": spec}
    store = getattr(value, "datastore", None)
    return {"datastore": getattr(store, "name", str(store)), "path_on_datastore": value.path_on_datastore}


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())
