"""Reuse keys: what a step's result depends on, and why a step ran again.

A step's reuse key is the sha256 of its *components*: the step's definition
(type, name, program, arguments with data shown by name, params, input and
output names and modes), the values of the PipelineParameters that reach it,
the snapshot of its source directory, the content of its ``hash_paths``, its
environment, and the content digest of every input (for PipelineData, the
digest its producer recorded). The components are kept with every step run,
so the reasons for a rerun can be told in plain words by comparing them with
the closest earlier execution of the same step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_amlpipe.core.data import (
    DataPath,
    DataReference,
    PipelineData,
    PipelineParameter,
    data_name,
    is_data,
    is_dataset,
)
from jupyter_amlpipe.core.dataset import DatasetConsumptionConfig
from jupyter_amlpipe.errors import AmlpipeError
from jupyter_amlpipe.runner.plan import Plan, StepPlan
from jupyter_amlpipe.workspace.digest import ContentDigests

_VOLATILE = ("source_directory", "allow_reuse", "timeout_seconds")


@dataclass
class ReuseDecision:
    key: str
    components: dict[str, Any]
    source: dict[str, Any] | None = None  # the step run record whose results are reused
    reasons: list[str] = field(default_factory=list)


def canonical_key(components: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(components, sort_keys=True, default=str).encode()).hexdigest()


class ReuseKeys:
    """Computes reuse keys for the steps of one plan, as their inputs become known."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.ws = plan.workspace
        self.store = plan.workspace._store
        self.digests = ContentDigests(self.store)
        self.output_digests: dict[int, str] = {}  # id(PipelineData) -> digest recorded by its producer

    # -- components -----------------------------------------------------------------
    def components(self, sp: StepPlan) -> dict[str, Any]:
        step = sp.step
        definition = {k: v for k, v in step._definition().items() if k not in _VOLATILE}
        definition["input_modes"] = {data_name(i): _mode(i) for i in step.inputs}
        definition["outputs"] = {
            o.name: {"directory": o.is_directory is not False, "datastore": sp.outputs[o.name][0].name}
            for o in step.outputs
        }
        if step.runconfig is not None and step.runconfig.environment_variables:  # the step process sees them
            definition["environment_variables"] = {k: str(v) for k, v in step.runconfig.environment_variables.items()}
        return {
            "definition": definition,
            "parameters": {p.name: _jsonable(self.plan.parameters.get(p.name)) for p in step._parameters()},
            "snapshot": sp.snapshot_id,
            "hash_paths": {p: self._hash_path(sp, p) for p in step.hash_paths},
            "environment": sp.compute.describe_environment(step.environment),
            "inputs": self._input_digests(step),
        }

    def _input_digests(self, step: Any) -> dict[str, str]:
        """The content of every piece of data the step reads: inputs, and data passed in arguments or params."""
        own_outputs = {id(o) for o in step.outputs}
        digests: dict[str, str] = {}
        for item in [*step.inputs, *step._all_argument_items(), *step.params.values()]:
            if isinstance(item, PipelineParameter):
                value = self.plan.parameters.get(item.name)
                if isinstance(value, (DataPath, DataReference)):
                    digests.setdefault(item.name, self._datastore_digest(value.datastore, value.path_on_datastore))
                elif is_dataset(value):  # a dataset parameter passed alone in arguments: its files' content
                    digests.setdefault(item.name, self._dataset_digest(value))
            elif isinstance(item, PipelineData) and id(item._root()) in own_outputs:
                continue
            elif is_data(item):
                digests.setdefault(data_name(item), self._input_digest(item))
        return digests

    def _hash_path(self, sp: StepPlan, path: str) -> str:
        target = Path(path) if Path(path).is_absolute() else sp.source_dir / path
        try:
            return self.digests.digest(target)
        except AmlpipeError:
            return "missing"

    def _input_digest(self, item: Any) -> str:
        if isinstance(item, PipelineData):
            return self.output_digests.get(id(item._root()), "unknown")
        if isinstance(item, tuple):  # (PipelineParameter, DataPathComputeBinding)
            value = self.plan.parameters.get(item[0].name)
            return self._datastore_digest(value.datastore, value.path_on_datastore) if value is not None else "none"
        if isinstance(item, (DataReference, DataPath)):
            return self._datastore_digest(item.datastore, item.path_on_datastore)
        if isinstance(item, DatasetConsumptionConfig):
            try:
                dataset = item._dataset_for(self.plan.parameters)  # a dataset parameter's value in this run
            except AmlpipeError:
                return "missing"
            return self._dataset_digest(dataset)
        return "unknown"

    def _dataset_digest(self, dataset: Any) -> str:
        """A dataset's files' content and its read options (selections, separator, ...)."""
        from jupyter_amlpipe.workspace.dataset_files import content_digest

        try:
            digest = content_digest(dataset._files(), self.digests.digest)
        except AmlpipeError:
            return "missing"
        options = json.dumps(dataset._options, sort_keys=True)
        return f"dataset:{digest}:{hashlib.sha256(options.encode()).hexdigest()}"

    def _datastore_digest(self, store: Any, path: str | None) -> str:
        from jupyter_amlpipe.workspace.datastore import Datastore

        if isinstance(store, str):
            store = Datastore.get(self.ws, store)
        local = store.local_path(path or "")
        if local is not None:
            try:
                return self.digests.digest(local)
            except AmlpipeError:
                return "missing"
        fs = store._fs
        full = store._full_path(path or "")
        if not fs.exists(full):
            return "missing"
        h = hashlib.sha256()
        for name in sorted(fs.find(full)) if fs.isdir(full) else [full]:
            h.update(name[len(full) :].encode() + b"\0")
            h.update(hashlib.sha256(fs.cat_file(name)).digest())
        return "remote:" + h.hexdigest()

    # -- decisions ---------------------------------------------------------------------
    def decide(self, sp: StepPlan) -> ReuseDecision:
        components = self.components(sp)
        decision = ReuseDecision(canonical_key(components), components)
        if self.plan.regenerate_outputs:
            decision.reasons = ["regenerate_outputs was set"]
            return decision
        if not sp.step.allow_reuse:
            decision.reasons = ["allow_reuse is False"]
            return decision
        for run_id in self.store.reuse_candidates(decision.key):
            record = self.store.find_run(run_id)
            if record is not None and record["status"] == "Finished" and self.outputs_intact(record):
                decision.source = record
                return decision
        decision.reasons = self.reasons(sp, components)
        return decision

    def outputs_intact(self, record: dict[str, Any]) -> bool:
        """Whether a step run's published outputs are all still there, with the content it recorded."""
        from jupyter_amlpipe.workspace.datastore import Datastore

        recorded = record["details"].get("output_digests", {})
        for name, out in record["details"].get("outputs", {}).items():
            try:
                store = Datastore.get(self.ws, out["datastore"])
                if not store.exists(out["path"]):
                    return False
                local = store.local_path(out["path"])
                if local is not None and name in recorded and self.digests.digest(local) != recorded[name]:
                    return False  # changed since it was published (e.g. by a consumer writing to a mount)
            except AmlpipeError:
                return False
        return True

    def reasons(self, sp: StepPlan, components: dict[str, Any]) -> list[str]:
        """Why the step runs: its differences from the closest earlier execution of the same step."""
        earlier = [
            r
            for r in self.store.earlier_step_runs(self.plan.experiment, sp.step.name, before=float("inf"))
            if r["details"].get("reuse", {}).get("components")
        ]
        if not earlier:
            return ["no earlier execution"]
        best: tuple[int, dict[str, Any]] | None = None
        for record in earlier:  # pick the closest by counting differences; file-level detail only for that one
            old = record["details"]["reuse"]["components"]
            count = len(explain(self.ws, sp.step, old, components, files=False))
            if best is None or count < best[0]:
                best = (count, old)
                if count <= 1:
                    break
        assert best is not None
        return explain(self.ws, sp.step, best[1], components) or [
            "the earlier execution's outputs are no longer available"
        ]


def _mode(item: Any) -> str:
    if isinstance(item, PipelineData):
        return item._input_mode
    if isinstance(item, tuple):
        return str(item[1].mode)
    return str(getattr(item, "mode", "mount"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (DataPath, DataReference)):
        return "data: its content is among the inputs"
    if isinstance(value, PipelineParameter):
        return value.name
    return value


def _show(value: Any) -> str:
    return json.dumps(value, default=str) if not isinstance(value, str) else value


def explain(ws: Any, step: Any, old: dict[str, Any], new: dict[str, Any], files: bool = True) -> list[str]:
    """The differences between two sets of reuse components, in plain words (``files``: name each file)."""
    reasons: list[str] = []
    if old.get("snapshot") != new.get("snapshot"):
        if files:
            reasons.extend(_snapshot_reasons(ws, step, old.get("snapshot"), new.get("snapshot")))
        else:
            reasons.append("source directory changed")
    for name in sorted(set(old.get("parameters", {})) | set(new.get("parameters", {}))):
        a, b = old.get("parameters", {}).get(name), new.get("parameters", {}).get(name)
        if a != b:
            reasons.append(f"parameter {name}: {_show(a)} → {_show(b)}")
    old_def, new_def = old.get("definition", {}), new.get("definition", {})
    for key in sorted(set(old_def) | set(new_def)):
        a, b = old_def.get(key), new_def.get(key)
        if a == b:
            continue
        if key == "params" and isinstance(a, dict) and isinstance(b, dict):
            for name in sorted(set(a) | set(b)):
                if a.get(name) != b.get(name):
                    reasons.append(f"params {name}: {_show(a.get(name))} → {_show(b.get(name))}")
        else:
            reasons.append(f"{key.replace('_', ' ')} changed: {_show(a)} → {_show(b)}")
    for name in sorted(set(old.get("inputs", {})) | set(new.get("inputs", {}))):
        a, b = old.get("inputs", {}).get(name), new.get("inputs", {}).get(name)
        if a != b:
            reasons.append(f"input {name}: content changed" if a and b else f"input {name}: added or removed")
    for path in sorted(set(old.get("hash_paths", {})) | set(new.get("hash_paths", {}))):
        if old.get("hash_paths", {}).get(path) != new.get("hash_paths", {}).get(path):
            reasons.append(f"hash_paths {path} changed")
    if old.get("environment") != new.get("environment"):
        reasons.append(f"environment changed: {_show(old.get('environment'))} → {_show(new.get('environment'))}")
    return reasons


def _snapshot_reasons(ws: Any, step: Any, old_id: str | None, new_id: str | None) -> list[str]:
    try:
        old = ws.snapshots.load(old_id).files
        new = ws.snapshots.load(new_id).files
    except AmlpipeError:
        return ["source directory changed"]
    main = step._main_file()
    kind = {"notebook": "notebook"}.get(step.step_type, "script")
    out = []
    for rel in sorted(set(old) | set(new)):
        if rel not in old:
            out.append(f"file {rel} added")
        elif rel not in new:
            out.append(f"file {rel} removed")
        elif old[rel] != new[rel]:
            out.append(f"{kind} {rel} changed" if rel == main else f"file {rel} changed")
    return out or ["source directory changed"]
