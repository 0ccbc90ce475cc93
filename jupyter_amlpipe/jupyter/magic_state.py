"""The notebook's pipeline: the steps its ``%%amlstep`` cells (and the Python API) declared.

One :class:`NotebookPipeline` lives on the magics instance of a shell. Its steps
are ordinary step objects and :meth:`NotebookPipeline.pipeline` builds an
ordinary :class:`~jupyter_amlpipe.core.pipeline.Pipeline`, so the magics and the
Python API mix freely: :meth:`NotebookPipeline.add_step` adds a step made in
Python (or by the step-builder widget), and its outputs become REFs
(``step.output``) of later cells.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from jupyter_amlpipe.core.data import PipelineData, PipelineParameter, data_identity, data_name
from jupyter_amlpipe.core.pipeline import Pipeline
from jupyter_amlpipe.core.steps.base import Step
from jupyter_amlpipe.core.steps.notebook import NotebookStep
from jupyter_amlpipe.core.steps.script import PythonScriptStep
from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean
from jupyter_amlpipe.jupyter import magic_location
from jupyter_amlpipe.jupyter.cell_steps import CELL_NOTEBOOK, GENERATED, LAUNCHER, CellSpec, sync_folder
from jupyter_amlpipe.jupyter.magic_refs import resolve_ref
from jupyter_amlpipe.workspace.workspace import Workspace

__all__ = ["NotebookPipeline", "StepDeclaration"]

_STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StepDeclaration:
    """The arguments of one ``%%amlstep`` cell, as parsed from its first line."""

    def __init__(
        self,
        name: str,
        body: str,
        inputs: Iterable[tuple[str, str]] = (),
        outputs: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
        compute: str | None = None,
        source: str | None = None,
        after: Iterable[str] = (),
        allow_reuse: bool = True,
        notebook: bool = False,
    ) -> None:
        self.name = name
        self.body = body
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.params = dict(params or {})
        self.compute = compute
        self.source = source
        self.after = list(after)
        self.allow_reuse = allow_reuse
        self.notebook = notebook


class NotebookPipeline:
    """The steps and runs of one notebook, and the workspace they use.

    Python-level API: :meth:`declare` (what ``%%amlstep`` calls),
    :meth:`add_step`, :meth:`remove_step`, :meth:`clear`, :meth:`pipeline`,
    :meth:`submit`, :attr:`steps`, :attr:`runs`, :attr:`workspace`.
    """

    def __init__(self, user_ns: MutableMapping[str, Any] | None = None, notebook: Path | None = None) -> None:
        self.user_ns: MutableMapping[str, Any] = user_ns if user_ns is not None else {}
        self.notebook = notebook if notebook is not None else magic_location.find_notebook(self.user_ns)
        self._steps: dict[str, Step] = {}
        self._specs: dict[str, CellSpec] = {}
        self._params: dict[str, PipelineParameter] = {}
        #: outputs a redeclared step no longer has, by (step, output): declaring them again reconnects their readers
        self._dropped: dict[tuple[str, str], PipelineData] = {}
        self._workspace: Workspace | None = None
        self._source_root: Path | None = None
        self.runs: list[Any] = []

    # -- where things are ----------------------------------------------------------
    @property
    def source_root(self) -> Path:
        """The folder holding one source directory per cell step (fixed at first use)."""
        if self._source_root is None:
            self._source_root = magic_location.steps_root(self.notebook)
        return self._source_root

    @source_root.setter
    def source_root(self, value: str | Path) -> None:
        self._source_root = Path(value).expanduser().resolve()

    @property
    def experiment_name(self) -> str:
        """The experiment ``%%amlstep --run`` submits to (the notebook's name)."""
        return magic_location.default_experiment(self.notebook)

    @property
    def workspace(self) -> Workspace:
        """The chosen workspace, else the one ``Workspace.from_config()`` finds from the cwd or the notebook's folder."""
        if self._workspace is None:
            self._workspace = self._find_workspace()
        return self._workspace

    def _find_workspace(self) -> Workspace:
        starts = [Path.cwd()]
        if self.notebook is not None and self.notebook.parent != Path.cwd():
            starts.append(self.notebook.parent)
        for start in starts:
            try:
                return Workspace.from_config(path=start)
            except LookupFailed:
                continue
        searched = " and ".join(str(s) for s in starts)
        raise LookupFailed(
            f"No workspace found: no .azureml/config.json in {searched} or a parent folder. "
            "Choose one with `%amlpipe workspace PATH` (a workspace folder, or a folder with .azureml/config.json), "
            "or create one there with `%amlpipe workspace PATH --create`.",
            path=searched,
        )

    def use_workspace(self, path: str | Path, create: bool = False) -> Workspace:
        """Use the workspace at ``path`` (its folder, or a folder whose config names it); ``create`` makes one."""
        folder = Path(path).expanduser().resolve()
        configs = [folder / ".azureml" / "config.json", folder / "config.json"]
        if (folder / "workspace.json").is_file():
            ws = Workspace(path=folder)
        elif any(c.is_file() for c in configs):
            ws = Workspace.from_config(path=folder)
        elif create:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.name).strip("-._") or "workspace"
            ws = Workspace.create(name, path=folder, exist_ok=True)
        else:
            raise LookupFailed(
                f"No workspace at {folder}: it is not a workspace folder and holds no .azureml/config.json. "
                f"Create one there with `%amlpipe workspace {path} --create`, or with "
                f"Workspace.create('NAME', path={str(folder)!r}).",
                path=str(folder),
            )
        self._workspace = ws
        return ws

    def _datastores(self) -> Mapping[str, Any] | None:
        try:
            return self.workspace.datastores
        except LookupFailed:
            return None

    # -- steps -------------------------------------------------------------------------
    @property
    def steps(self) -> dict[str, Step]:
        """The declared steps by name, in declaration order."""
        return dict(self._steps)

    def spec(self, name: str) -> CellSpec | None:
        """What the cell of step ``name`` declared (None for a step added with :meth:`add_step`)."""
        return self._specs.get(name)

    def step_folder(self, name: str) -> Path:
        """The source directory of the cell step ``name``."""
        return self.source_root / name

    def declare(self, decl: StepDeclaration) -> Step:
        """Turn a cell into a step (what ``%%amlstep`` does); declaring a name again replaces that step."""
        name = decl.name
        if not _STEP_NAME.match(name or ""):
            raise DefinitionError(
                f"%%amlstep: step name {name!r} is not valid: use letters, digits and '_', not starting with a digit "
                "(it names a folder and is used in REFs like NAME.output)."
            )
        where = f"%%amlstep {name}"
        self._check_names(decl, where)
        after = self._after_steps(decl, where)
        compute = self._check_compute(decl.compute, where)
        source = self._check_source(decl.source, where)
        if not decl.notebook:
            _check_syntax(decl.body, where)
        old = self._steps.get(name)
        links = self._resolve_inputs(decl, where, old)
        outputs = [self._output(name, old, out) for out in decl.outputs]
        deps = {s.name for s in after} | {p.name for link in links.values() for p in _producers(link)}
        self._check_acyclic(name, deps)
        params = {k: self._parameter(k, v, name, where) for k, v in decl.params.items()}
        spec = CellSpec(
            name=name,
            body=decl.body,
            inputs={var: data_name(link) for var, link in links.items()},
            outputs=list(decl.outputs),
            params=dict(decl.params),
            notebook=decl.notebook,
            source=source,
        )
        folder = sync_folder(spec, self.step_folder(name))
        common: dict[str, Any] = {
            "name": name,
            "inputs": list(links.values()),
            "outputs": outputs,
            "params": params,
            "compute_target": compute,
            "source_directory": str(folder),
            "allow_reuse": decl.allow_reuse,
        }
        step: Step
        if decl.notebook:
            step = NotebookStep(notebook=CELL_NOTEBOOK, **common)
        else:
            step = PythonScriptStep(script_name=LAUNCHER, **common)
        for before in after:
            step.run_after(before)
        self._specs[name] = spec
        self._install(step, old)
        self._forget_unused_parameters()
        return step

    def add_step(self, step: Step) -> Step:
        """Add a step made with the Python API (or the step-builder widget); a step of the same name is replaced.

        Its outputs can then be named as ``--inputs var=STEP.OUTPUT`` by later
        ``%%amlstep`` cells, and it is part of :meth:`pipeline`.
        """
        if not isinstance(step, Step):
            raise DefinitionError(f"add_step() takes a step (PythonScriptStep, NotebookStep, ...), got {step!r}.")
        old = self._steps.get(step.name)
        deps = {p.name for link in step.inputs for p in _producers(link)} | {s.name for s in step._run_after}
        self._check_acyclic(step.name, deps)
        self._specs.pop(step.name, None)
        self._install(step, old)
        return step

    def remove_step(self, name: str) -> None:
        """Forget step ``name``; refused while another step uses its outputs or runs after it."""
        step = self._get(name)
        users = [s.name for s in self._consumers(step)]
        if users:
            raise DefinitionError(
                f"Step {name!r} cannot be removed: {', '.join(map(repr, users))} use its outputs or run after it. "
                "Remove or change those first."
            )
        for out in step.outputs:
            out._producers = [p for p in out._producers if p is not step]
        del self._steps[name]
        self._dropped = {k: v for k, v in self._dropped.items() if k[0] != name}
        self._specs.pop(name, None)
        self._forget_unused_parameters()

    def clear(self) -> None:
        """Forget every step (the generated source folders stay on disk)."""
        for step in self._steps.values():
            for out in step.outputs:
                out._producers = [p for p in out._producers if p is not step]
        self._steps.clear()
        self._specs.clear()
        self._params.clear()
        self._dropped.clear()

    def pipeline(self, names: Iterable[str] | None = None, description: str | None = None) -> Pipeline:
        """An ordinary Pipeline of the declared steps (or of ``names`` and what they need), validated."""
        chosen = [self._get(n) for n in names] if names is not None else list(self._steps.values())
        if not chosen:
            raise DefinitionError("The notebook's pipeline has no steps yet: declare one with a `%%amlstep NAME` cell.")
        self.refresh_sources()
        stem = self.notebook.name if self.notebook is not None else "notebook"
        pipe = Pipeline(self.workspace, chosen, description=description or f"Steps declared in {stem}")
        pipe.validate()
        return pipe

    def refresh_sources(self) -> None:
        """Write every cell step's folder again (a ``--source`` folder's files may have changed)."""
        for name, spec in self._specs.items():
            sync_folder(spec, self.step_folder(name))

    def submit(
        self,
        experiment: str | None = None,
        pipeline_parameters: Mapping[str, Any] | None = None,
        names: Iterable[str] | None = None,
        regenerate_outputs: bool = False,
    ) -> Any:
        """Submit the pipeline (or the steps ``names`` and their upstream steps); returns the PipelineRun at once."""
        from jupyter_amlpipe.runner.experiment import Experiment

        pipe = self.pipeline(names)
        exp = Experiment(self.workspace, experiment or self.experiment_name)
        run = exp.submit(
            pipe, pipeline_parameters=dict(pipeline_parameters or {}), regenerate_outputs=regenerate_outputs
        )
        self.runs.append(run)
        return run

    # -- helpers ---------------------------------------------------------------------------
    def _get(self, name: str) -> Step:
        if name not in self._steps:
            raise LookupFailed(
                f"No step {name!r} in the notebook's pipeline.{did_you_mean(name, self._steps)}", name=name
            )
        return self._steps[name]

    def _check_names(self, decl: StepDeclaration, where: str) -> None:
        seen: dict[str, str] = {}
        pairs = [(v, "input") for v, _ in decl.inputs] + [(o, "output") for o in decl.outputs]
        pairs += [(k, "parameter") for k in decl.params]
        for var, role in pairs:
            if not _STEP_NAME.match(var):
                raise DefinitionError(
                    f"{where}: {role} name {var!r} is not valid: use letters, digits and '_' (it becomes a variable)."
                )
            if var in seen:
                what = "output name" if role == seen[var] == "output" else "name"
                raise DefinitionError(
                    f"{where}: duplicate {what} {var!r} (a {seen[var]} and a {role}): each input, output and "
                    "parameter becomes a variable of its own, so give each a different name."
                )
            seen[var] = role

    def _after_steps(self, decl: StepDeclaration, where: str) -> list[Step]:
        out = []
        for name in decl.after:
            if name == decl.name:
                raise DefinitionError(f"{where}: --after {name}: a step cannot run after itself (a cycle).")
            if name not in self._steps:
                known = ", ".join(self._steps) or "none yet"
                raise LookupFailed(
                    f"{where}: --after names unknown step {name!r}.{did_you_mean(name, self._steps) if self._steps else ''}"
                    f" Declared steps: {known}.",
                    name=name,
                )
            out.append(self._steps[name])
        return out

    def _check_compute(self, compute: str | None, where: str) -> str | None:
        if compute is None or compute == "local":
            return compute
        known = list(self.workspace.compute_targets)
        if compute not in known:
            raise LookupFailed(
                f"{where}: unknown compute target {compute!r}.{did_you_mean(compute, known)} "
                f"Create it first, e.g. LocalCompute(workspace=ws, name={compute!r}), or leave out --compute "
                "to run on the local compute target.",
                name=compute,
            )
        return compute

    def _check_source(self, source: str | None, where: str) -> Path | None:
        if source is None:
            return None
        folder = Path(source).expanduser().resolve()
        if not folder.is_dir():
            raise DefinitionError(f"{where}: --source {source!r} is not a folder ({folder} does not exist).")
        clash = [g for g in GENERATED if (folder / g).exists()]
        if clash:
            raise DefinitionError(
                f"{where}: --source {source!r} holds {', '.join(clash)}, a name %%amlstep writes the cell into: "
                "rename that file."
            )
        if folder == self.source_root or self.source_root in folder.parents:
            raise DefinitionError(f"{where}: --source {source!r} is inside the generated step folders.")
        return folder

    def _resolve_inputs(self, decl: StepDeclaration, where: str, old: Step | None) -> dict[str, Any]:
        links: dict[str, Any] = {}
        names: dict[str, tuple[str, tuple[Any, ...]]] = {}
        reserved = set(decl.outputs) | set(decl.params)
        for var, ref in decl.inputs:
            link = resolve_ref(var, ref, self._steps, self.user_ns, self._datastores, decl.name)
            if old is not None and isinstance(link, PipelineData) and old in link._root()._producers:
                raise DefinitionError(
                    f"{where}: --inputs {var}={ref} is an output of this step itself: a step cannot read what it "
                    "writes (that is a cycle)."
                )
            dname, identity = data_name(link), data_identity(link)
            if dname in reserved:
                raise DefinitionError(
                    f"{where}: input {var}={ref} is data named {dname!r}, the name of an output or parameter of "
                    "this step: rename that output or parameter."
                )
            if dname in names and names[dname][1] != identity:
                raise DefinitionError(
                    f"{where}: inputs {names[dname][0]!r} and {var!r} are two different data links both named "
                    f"{dname!r}; a step cannot tell them apart. Rename one output, or use a DataReference with "
                    "its own data_reference_name."
                )
            names[dname] = (var, identity)
            links[var] = link
        return links

    def _output(self, step_name: str, old: Step | None, name: str) -> PipelineData:
        """The step's output ``name``: the same object as before when declared again, so consumers keep it.

        An output an earlier version of the cell dropped, while other steps still
        read it, is the same object again too: putting it back mends those readers.
        """
        if old is not None:
            for out in old.outputs:
                if out.name == name:
                    return out
        dropped = self._dropped.get((step_name, name))
        if dropped is not None and not dropped._producers:
            return dropped
        return PipelineData(name)

    def _parameter(self, key: str, value: Any, step_name: str, where: str) -> PipelineParameter:
        existing = self._params.get(key)
        if existing is not None and existing.default_value == value and type(existing.default_value) is type(value):
            return existing
        users = [s.name for s in self._steps.values() if s.name != step_name and existing in s.params.values()]
        if existing is not None and users:
            raise DefinitionError(
                f"{where}: --params {key}={value!r}: {key!r} is already a pipeline parameter with default "
                f"{existing.default_value!r} (steps {', '.join(map(repr, users))}). Give the same value, or another "
                "name."
            )
        param = PipelineParameter(key, value)
        self._params[key] = param
        return param

    def _forget_unused_parameters(self) -> None:
        used = {id(p) for s in self._steps.values() for p in s.params.values()}
        self._params = {k: p for k, p in self._params.items() if id(p) in used}

    def _check_acyclic(self, name: str, deps: set[str]) -> None:
        graph: dict[str, set[str]] = {}
        for step in self._steps.values():
            graph[step.name] = {p.name for link in step.inputs for p in _producers(link)}
            graph[step.name] |= {s.name for s in step._run_after}
        graph[name] = set(deps)
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as exc:
            cycle = list(exc.args[1])[:-1]  # each runs before the next; the first is repeated at the end
            if name in cycle:
                start = cycle.index(name)
                cycle = cycle[start:] + cycle[:start]
            shown = " → ".join([*cycle, cycle[0]])
            raise DefinitionError(
                f"%%amlstep {name}: this would make a cycle: {shown} (each step would run before the next). "
                f"Steps in the cycle: {', '.join(sorted(set(cycle)))}. Remove an --after or an input that closes it.",
                steps=sorted(set(cycle)),
            ) from None

    def _consumers(self, step: Step) -> list[Step]:
        outs = {id(o) for o in step.outputs}
        return [
            s
            for s in self._steps.values()
            if s is not step
            and (step in s._run_after or any(isinstance(i, PipelineData) and id(i._root()) in outs for i in s.inputs))
        ]

    def _install(self, step: Step, old: Step | None) -> None:
        """Put ``step`` in place of ``old`` (same name): its consumers now use ``step`` and its outputs."""
        if old is not None and old is not step:
            kept = {id(o) for o in step.outputs}
            for out in old.outputs:
                if id(out) not in kept:
                    out._producers = [p for p in out._producers if p is not old]
                    self._dropped[(step.name, out.name)] = out
            by_name = {o.name: o for o in step.outputs}
            for other in self._steps.values():
                if other is old:
                    continue
                other._run_after = [step if s is old else s for s in other._run_after]
                other._inputs = [_rewired(i, old, by_name) for i in other._inputs]
        self._steps[step.name] = step  # a replaced step keeps its place in the order


def _producers(link: Any) -> list[Step]:
    return list(link._root()._producers) if isinstance(link, PipelineData) else []


def _rewired(item: Any, old: Step, by_name: Mapping[str, PipelineData]) -> Any:
    """An input that was an output of ``old`` becomes the new step's output of the same name, when it has one."""
    if not isinstance(item, PipelineData):
        return item
    root = item._root()
    if not any(o is root for o in old.outputs) or root.name not in by_name or by_name[root.name] is root:
        return item
    new = by_name[root.name]
    return new.as_download() if item._input_mode == "download" else new


def _check_syntax(body: str, where: str) -> None:
    try:
        compile(body, f"<{where}>", "exec")
    except SyntaxError as exc:
        line = (exc.text or "").rstrip()
        raise DefinitionError(
            f"{where}: the cell is not valid Python: {exc.msg} at line {exc.lineno} of the cell: {line.strip()!r}. "
            "(IPython syntax such as !commands or %magics needs --notebook.)",
            line=exc.lineno,
        ) from None
