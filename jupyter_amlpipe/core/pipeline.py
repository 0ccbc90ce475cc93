"""``Pipeline``: the closure of its steps, their graph, and validation."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

from jupyter_amlpipe.core.data import (
    PipelineData,
    PipelineParameter,
    data_identity,
    data_name,
    is_data,
    is_dataset,
)
from jupyter_amlpipe.core.graph import CycleError, StepGraph
from jupyter_amlpipe.core.naming import check_json_value
from jupyter_amlpipe.core.steps.base import Step, flatten_steps
from jupyter_amlpipe.errors import DefinitionError, did_you_mean

__all__ = ["Pipeline", "PipelineValidationError"]


class PipelineValidationError(DefinitionError):
    """A pipeline definition has errors; ``.errors`` lists each, naming its culprit."""


class Pipeline:
    """A graph of steps linked by data and ``run_after`` (v1 ``Pipeline``).

    Every step reachable from ``steps`` through the producers of their inputs
    and through ``run_after`` is included. Building a pipeline uploads and runs
    nothing; :meth:`validate` (also called on submit) reports every error.
    """

    def __init__(
        self,
        workspace: Any,
        steps: Sequence[Any] | Any,
        description: str | None = None,
        default_datastore: Any = None,
        default_source_directory: str | None = None,
        resolve_closure: bool = True,
        **kwargs: Any,
    ) -> None:
        self._workspace = workspace
        self.description = description
        self._default_datastore = default_datastore
        self._default_source_directory = default_source_directory
        roots = list(flatten_steps(steps if isinstance(steps, (list, tuple)) else [steps]))
        if not roots:
            raise DefinitionError("A pipeline needs at least one step.")
        self._steps = _closure(roots) if resolve_closure else list(dict.fromkeys(roots))
        self._problems: list[str] = []
        self._graph = self._build_graph()

    # -- structure ---------------------------------------------------------------
    @property
    def steps(self) -> list[Step]:
        return list(self._steps)

    @property
    def workspace(self) -> Any:
        return self._workspace

    @property
    def graph(self) -> StepGraph:
        return self._graph

    def _build_graph(self) -> StepGraph:
        index = {id(s): i for i, s in enumerate(self._steps)}
        producers: dict[int, list[int]] = {}
        data_by_id: dict[int, PipelineData] = {}
        for i, step in enumerate(self._steps):
            for out in step.outputs:
                producers.setdefault(id(out), []).append(i)
                data_by_id[id(out)] = out
        deps: dict[int, set[int]] = {i: set() for i in range(len(self._steps))}
        problems = self._problems
        consumed_by: list[list[PipelineData]] = []
        for i, step in enumerate(self._steps):
            consumed = [x._root() for x in step.inputs if isinstance(x, PipelineData)]
            listed = {id(x) for x in consumed} | {id(o) for o in step.outputs}
            # as_input()/as_mount()/as_download() in arguments: always an input, wherever its producer is listed
            views = {
                id(a._root()) for a in step._all_argument_items() if isinstance(a, PipelineData) and a._root() is not a
            }
            for data in step._argument_data():
                if id(data) in listed:
                    continue
                listed.add(id(data))
                if id(data) in producers or id(data) in views:
                    if not getattr(data, "_path_template", None):  # v1 hands a dataset output on in arguments
                        warnings.warn(_listing_warning(step, data, "input"), UserWarning, stacklevel=3)
                    consumed.append(data)
                else:
                    if not getattr(
                        data, "_path_template", None
                    ):  # v1 lists an OutputFileDatasetConfig in arguments only
                        warnings.warn(_listing_warning(step, data, "output"), UserWarning, stacklevel=3)
                    step._implicit_outputs.append(data)
                    data._add_producer(step)
                    producers.setdefault(id(data), []).append(i)
                    data_by_id[id(data)] = data
            step._consumed = consumed  # type: ignore[attr-defined]
            consumed_by.append(consumed)
        _name_unnamed_outputs(self._steps)  # now that outputs handed on in arguments are known too
        # A second pass: a producer inferred from arguments may come after its consumer in the list.
        for i, step in enumerate(self._steps):
            for data in consumed_by[i]:
                makers = producers.get(id(data), [])
                if not makers:
                    problems.append(
                        f"PipelineData {data.name!r} is an input of step {step.name!r} but no step in the pipeline "
                        f"produces it: list it in the outputs of the step that writes it."
                    )
                deps[i].update(m for m in makers if m != i)
                if i in makers:
                    problems.append(f"Step {step.name!r} lists PipelineData {data.name!r} as both input and output.")
            for before in step._run_after:
                deps[i].add(index[id(before)])
        for key, makers in producers.items():
            if len(makers) > 1:
                names = ", ".join(repr(self._steps[m].name) for m in makers)
                problems.append(
                    f"PipelineData {data_by_id[key].name!r} is an output of more than one step ({names}): "
                    "each PipelineData must have exactly one producer; create one PipelineData per step."
                )
        return StepGraph(self._steps, deps)

    # -- validation ----------------------------------------------------------------
    def validate(self) -> list[str]:
        """Check the pipeline. Returns ``[]`` when it is valid; raises listing every error otherwise."""
        errors = list(self._problems)
        try:
            self._graph.check_acyclic()
        except CycleError as exc:
            errors.insert(0, exc.message)
        for step in self._steps:
            errors.extend(self._check_step(step))
        if errors:
            raise PipelineValidationError(
                "The pipeline is not valid:\n" + "\n".join(f"  - {e}" for e in errors), errors=errors
            )
        return []

    def _check_step(self, step: Step) -> list[str]:
        errors = []
        src = step._source_dir(self._default_source_directory)
        if getattr(step, "_snapshot_id", None):
            pass  # a resumed step runs the code frozen in its snapshot, whatever the folder holds now
        elif not src.is_dir():
            errors.append(f"Step {step.name!r}: source_directory {str(src)!r} does not exist.")
        else:
            main = step._main_file()
            if main is not None and not (src / main).is_file():
                errors.append(f"Step {step.name!r}: {main!r} does not exist in source_directory {str(src)!r}.")
        for p in [] if getattr(step, "_snapshot_id", None) else step.hash_paths:
            if not (src / p).exists():
                errors.append(f"Step {step.name!r}: hash_paths entry {p!r} does not exist in {str(src)!r}.")
        errors.extend(_check_data_names(step))
        target = step.compute_target
        if isinstance(target, tuple) and target:  # v1 also accepts ("name", "AmlCompute")
            target = target[0]
        if isinstance(target, str) and self._workspace is not None:
            known = [r["name"] for r in self._workspace._store.list_named("compute_targets")]
            if target not in known and target != "local":
                errors.append(
                    f"Step {step.name!r}: unknown compute target {target!r}.{did_you_mean(target, known)} "
                    f"Create it first, e.g. LocalCompute(workspace=ws, name={target!r})."
                )
        return errors

    # -- parameters ------------------------------------------------------------------
    def parameters(self) -> dict[str, PipelineParameter]:
        """Every PipelineParameter used by a step, by name."""
        found: dict[str, PipelineParameter] = {}
        for step in self._steps:
            for p in step._parameters():
                found.setdefault(p.name, p)
        return found

    def resolve_parameters(self, assignments: dict[str, Any] | None) -> dict[str, Any]:
        """The values of all parameters for one submission (defaults overridden by ``assignments``)."""
        params = self.parameters()
        values = {name: p.default_value for name, p in params.items()}
        for key, value in (assignments or {}).items():
            if key not in params:
                raise DefinitionError(
                    f"pipeline_parameters names {key!r}, which is not a parameter of this pipeline."
                    f"{did_you_mean(key, params)}",
                    parameter=key,
                )
            if params[key]._is_dataset and not is_dataset(value):
                raise DefinitionError(
                    f"Pipeline parameter {key!r} takes a dataset (its default is {params[key].default_value!r}); "
                    f"got {value!r:.80}. Pass a FileDataset or TabularDataset, e.g. Dataset.get_by_name(ws, name).",
                    parameter=key,
                )
            if not _is_datapath_like(value):
                check_json_value(value, f"Value of pipeline parameter {key!r}")
            values[key] = value
        return values

    # -- v1 conveniences that run or publish ------------------------------------------
    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        continue_on_step_failure: bool = False,
        regenerate_outputs: bool = False,
        parent_run_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Submit to ``Experiment(self.workspace, experiment_name)`` (v1 ``Pipeline.submit``)."""
        import importlib

        experiment_cls = importlib.import_module("jupyter_amlpipe.runner.experiment").Experiment
        return experiment_cls(self._workspace, experiment_name).submit(
            self,
            pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure,
            regenerate_outputs=regenerate_outputs,
        )

    def publish(
        self,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Freeze this pipeline (graph, steps, code snapshots, parameter defaults) as a PublishedPipeline."""
        import importlib

        published_cls = importlib.import_module("jupyter_amlpipe.publish.published").PublishedPipeline
        return published_cls._publish(self, name, description, version, continue_on_step_failure)

    def __repr__(self) -> str:
        return f"Pipeline(steps={[s.name for s in self._steps]!r})"


def _is_datapath_like(value: Any) -> bool:
    return type(value).__name__ in ("DataPath", "DataReference") or is_dataset(value)


def _name_unnamed_outputs(steps: list[Step]) -> None:
    """Name every unnamed ``OutputFileDatasetConfig()`` after its producer: ``<step>_output``, ``<step>_output_2``.

    v1 generates a name; here it is derived from the definition only (the producing step's name and the
    output's place among that step's unnamed outputs), so the same pipeline built again gets the same
    names, and so the same reuse keys and recorded pipelines. A name some other data already has is skipped.
    """
    unnamed = {id(o): o for s in steps for o in s.outputs if o._root()._auto_named}
    if not unnamed:
        return
    taken = {data_name(i) for s in steps for i in [*s.inputs, *s.outputs] if id(_root_of(i)) not in unnamed}
    for step in steps:
        base = re.sub(r"[^A-Za-z0-9_]", "_", step.name)
        base = base if base and not base[0].isdigit() else f"step_{base}"
        position = 0
        for out in step.outputs:
            if id(out) not in unnamed:
                continue
            position += 1
            name = f"{base}_output" if position == 1 else f"{base}_output_{position}"
            while name in taken:
                position += 1
                name = f"{base}_output_{position}"
            taken.add(name)
            out._root()._name = name  # keeps _auto_named: a pipeline built again derives the same name


def _root_of(item: Any) -> Any:
    return item._root() if isinstance(item, PipelineData) else item


def _listing_warning(step: Step, data: PipelineData, role: str) -> str:
    return (
        f"Step {step.name!r}: PipelineData {data.name!r} is in arguments but not in {role}s; it is treated as "
        f"an {role}. Azure ML v1 needs it listed: add it to {role}s=[...]."
    )


def _closure(roots: list[Step]) -> list[Step]:
    """Every step reachable from ``roots`` through data producers and run_after (iterative)."""
    seen: dict[int, Step] = {}
    stack = list(reversed(roots))
    while stack:
        step = stack.pop()
        if id(step) in seen:
            continue
        seen[id(step)] = step
        linked: list[Step] = []
        for item in [*step.inputs, *step._argument_data()]:
            if isinstance(item, PipelineData):
                linked.extend(item._root()._producers)
        linked.extend(step._run_after)
        stack.extend(s for s in reversed(linked) if id(s) not in seen)
    return list(seen.values())


def _check_data_names(step: Step) -> list[str]:
    """Two different data links may not share a name in one step: it names a variable and an env var."""
    seen: dict[str, tuple[Any, ...]] = {}
    errors = []
    items = [*step.inputs, *step.outputs, *(a for a in step._all_argument_items() if is_data(a))]
    for item in items:
        name, identity = data_name(item), data_identity(item)
        if name in seen and seen[name] != identity:
            errors.append(
                f"Step {step.name!r}: two different data links are both named {name!r}. Give each its own name "
                "(data_reference_name=... or PipelineData(name)); the name becomes a variable and an environment "
                "variable of the step."
            )
        seen.setdefault(name, identity)
    return list(dict.fromkeys(errors))
