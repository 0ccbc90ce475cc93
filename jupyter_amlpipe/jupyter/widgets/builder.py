"""``StepBuilder``: a form that declares a step from a script or notebook file in a source directory.

Pick the file, name the step, choose inputs among the outputs of the steps
already declared, name its outputs and choose a compute target; "Add step"
builds the same step objects as the ``%%amlstep`` magics (a ``PythonScriptStep``
or a ``NotebookStep`` with ``PipelineData`` outputs) and hands them to a
target: a list, or any object with ``add_step(step)``.

A script step receives each input and output as ``--NAME PATH`` arguments (and,
as every step does, in ``AZUREML_DATAREFERENCE_NAME``); a notebook step gets a
variable of each name holding its path (papermill parameters).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets

from jupyter_amlpipe.core.data import PipelineData
from jupyter_amlpipe.core.steps import NotebookStep, PythonScriptStep
from jupyter_amlpipe.core.steps.base import Step
from jupyter_amlpipe.errors import DefinitionError, did_you_mean

STEP_FILES = (".py", ".ipynb")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git", ".azureml", "node_modules"}


def step_files(source_directory: str | os.PathLike[str]) -> list[str]:
    """Scripts and notebooks under a source directory, as paths relative to it (hidden folders left out)."""
    root = Path(source_directory)
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(STEP_FILES) and not name.startswith("."):
                found.append((Path(folder) / name).relative_to(root).as_posix())
    return found


def existing_steps(target: Any) -> list[Step]:
    """The steps a target already holds: a list of steps, or an object with ``steps`` (list, dict or method)."""
    steps = getattr(target, "steps", None)
    if callable(steps):
        steps = steps()
    if steps is None and isinstance(target, Iterable) and not isinstance(target, (str, bytes)):
        steps = target
    if isinstance(steps, dict):
        steps = steps.values()
    out: list[Step] = []
    for item in steps or []:
        if isinstance(item, Step):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            out.extend(existing_steps(list(item)))
    return out


def available_outputs(steps: Sequence[Step]) -> dict[str, PipelineData]:
    """``"step.output"`` → the PipelineData, for every output of the given steps."""
    return {f"{step.name}.{out.name}": out for step in steps for out in step.outputs}


def _names(raw: str | Sequence[str], what: str) -> list[str]:
    items = [n.strip() for n in raw.replace(",", " ").split()] if isinstance(raw, str) else [n.strip() for n in raw]
    items = [n for n in items if n]
    for name in items:
        if not _NAME.match(name):
            raise DefinitionError(
                f"{what} name {name!r} is not a valid name: use letters, digits and underscores (it becomes a "
                "variable and an environment variable in the step)."
            )
    if len(set(items)) != len(items):
        raise DefinitionError(f"{what} names {items} repeat a name: give each {what.lower()} its own name.")
    return items


def build_step(
    file: str,
    name: str,
    source_directory: str | os.PathLike[str],
    inputs: Sequence[PipelineData] = (),
    outputs: Sequence[str] = (),
    compute: str | None = None,
    allow_reuse: bool = True,
) -> Step:
    """A PythonScriptStep (``.py``) or NotebookStep (``.ipynb``) with PipelineData outputs."""
    if not file:
        raise DefinitionError(f"Pick a script or notebook in {source_directory} for the step.")
    if not name or not name.strip():
        raise DefinitionError(f"Name the step that runs {file!r}.")
    if not (Path(source_directory) / file).is_file():
        choices = step_files(source_directory)
        raise DefinitionError(
            f"Step {name!r}: {file!r} is not a file in {source_directory}.{did_you_mean(file, choices)}"
        )
    out_names = _names(list(outputs), "Output")
    clash = sorted({d.name for d in inputs} & set(out_names))
    if clash:
        raise DefinitionError(f"Step {name!r}: {clash} name both an input and an output; rename the output.")
    produced = [PipelineData(n) for n in out_names]
    target = None if compute in (None, "", "local") else compute
    if file.endswith(".ipynb"):
        return NotebookStep(
            name=name.strip(),
            notebook=file,
            source_directory=str(source_directory),
            inputs=list(inputs),
            outputs=produced,
            compute_target=target,
            allow_reuse=allow_reuse,
        )
    arguments: list[Any] = []
    for data in [*inputs, *produced]:
        arguments.extend([f"--{data.name}", data])
    return PythonScriptStep(
        file,
        name=name.strip(),
        arguments=arguments,
        inputs=list(inputs),
        outputs=produced,
        source_directory=str(source_directory),
        compute_target=target,
        allow_reuse=allow_reuse,
    )


def add_to(target: Any, step: Step) -> None:
    """Give a step to a target: its ``add_step(step)``, or a list (a step of the same name is replaced)."""
    adder = getattr(target, "add_step", None)
    if callable(adder):
        adder(step)
        return
    if isinstance(target, list):
        for i, item in enumerate(target):
            if isinstance(item, Step) and item.name == step.name:
                target[i] = step
                return
        target.append(step)
        return
    raise DefinitionError(
        f"StepBuilder cannot add steps to a {type(target).__name__}: give it a list or an object with add_step(step)."
    )


class StepBuilder(ipywidgets.VBox):  # type: ignore[misc]
    """A form that declares steps from files in ``source_directory`` and adds them to ``target``.

    ``target`` is a list of steps (the default: ``builder.steps``) or any object
    with ``add_step(step)``. ``computes`` lists the compute target names to offer
    (default: "local" and the workspace's targets when ``workspace`` is given).
    """

    def __init__(
        self,
        source_directory: str | os.PathLike[str] = ".",
        target: Any = None,
        workspace: Any = None,
        computes: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.source_directory = Path(source_directory)
        self.target: Any = [] if target is None else target
        names = list(computes) if computes is not None else ["local"]
        if computes is None and workspace is not None:
            names += [n for n in workspace.compute_targets if n != "local"]
        self.file = ipywidgets.Dropdown(description="File", options=[])
        self.step_name = ipywidgets.Text(description="Step name", placeholder="e.g. prep")
        self.inputs = ipywidgets.SelectMultiple(description="Inputs", options=[], rows=4)
        self.outputs = ipywidgets.Text(description="Outputs", placeholder="names, comma-separated")
        self.compute = ipywidgets.Dropdown(description="Compute", options=names, value=names[0])
        self.allow_reuse = ipywidgets.Checkbox(description="allow reuse", value=True)
        self.add_button = ipywidgets.Button(description="Add step", button_style="primary", icon="plus")
        self.refresh_button = ipywidgets.Button(description="Refresh", icon="refresh")
        self.message = ipywidgets.HTML(value="")
        self.last_step: Step | None = None
        self.file.observe(self._file_changed, names="value")
        self.add_button.on_click(lambda _: self._add_clicked())
        self.refresh_button.on_click(lambda _: self.refresh())
        super().__init__(
            children=[
                self.file,
                self.step_name,
                self.inputs,
                self.outputs,
                self.compute,
                self.allow_reuse,
                ipywidgets.HBox([self.add_button, self.refresh_button]),
                self.message,
            ],
            **kwargs,
        )
        self.add_class("amlpipe-step-builder")
        self.refresh()

    @property
    def steps(self) -> list[Step]:
        """The steps the target holds now."""
        return existing_steps(self.target)

    def refresh(self) -> None:
        """Read the source directory's files and the existing steps' outputs again."""
        files = step_files(self.source_directory)
        current = self.file.value
        self.file.options = files
        if current in files:
            self.file.value = current
        chosen = tuple(self.inputs.value)
        outputs = list(available_outputs(self.steps))
        self.inputs.options = outputs
        self.inputs.value = tuple(c for c in chosen if c in outputs)

    def _file_changed(self, change: dict[str, Any]) -> None:
        if change["new"] and not self.step_name.value:
            self.step_name.value = re.sub(r"\W", "_", Path(change["new"]).stem)

    def add(self) -> Step:
        """Build the step the form describes and add it to the target (what "Add step" does)."""
        outputs = available_outputs(self.steps)
        chosen = [outputs[label] for label in self.inputs.value]
        step = build_step(
            self.file.value or "",
            self.step_name.value,
            self.source_directory,
            inputs=chosen,
            outputs=_names(self.outputs.value, "Output"),
            compute=self.compute.value,
            allow_reuse=self.allow_reuse.value,
        )
        add_to(self.target, step)
        self.last_step = step
        return step

    def _add_clicked(self) -> None:
        from html import escape

        try:
            step = self.add()
        except DefinitionError as exc:
            self.message.value = f"<span style='color:#cf222e'>{escape(str(exc))}</span>"
            return
        kind = type(step).__name__
        self.message.value = f"Added {kind} {escape(step.name)!s} ({len(self.steps)} steps)."
        self.step_name.value = ""
        self.outputs.value = ""
        self.refresh()
