"""The step base class and ``StepSequence``: definitions only, nothing runs here."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from jupyter_amlpipe.core.data import (
    DataPath,
    DataPathComputeBinding,
    DataReference,
    PipelineData,
    PipelineParameter,
    data_name,
    is_data,
)
from jupyter_amlpipe.core.environment import Environment, RunConfiguration
from jupyter_amlpipe.core.naming import check_json_value
from jupyter_amlpipe.errors import DefinitionError

Resolver = Callable[[Any], str]
"""Turns a data link into its path on the compute, or a PipelineParameter into its value's string."""

ValueResolver = Callable[[Any], Any]
"""Turns a PipelineParameter into its (JSON) value; leaves other values alone."""


def show(item: Any) -> Any:
    """An argument as the step's definition shows it: data and parameters by name, values as they are."""
    if isinstance(item, PipelineParameter):
        return {"parameter": item.name}
    if is_data(item):
        return {"data": data_name(item)}
    if isinstance(item, os.PathLike):  # as the step process sees it, and as a recorded (resumed) pipeline holds it
        return os.fspath(item)
    return item if isinstance(item, (str, int, float, bool)) or item is None else repr(item)


def capture(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments a step class was built with (from its ``locals()``), to record and rebuild it."""
    out = {k: v for k, v in arguments.items() if k not in ("self", "__class__", "kwargs")}
    out.update(arguments.get("kwargs") or {})
    return out


def _as_list(value: Any, what: str, step_name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DefinitionError(f"Step {step_name!r}: {what} must be a list, got {type(value).__name__}.")
    return list(value)


class Step:
    """A unit of work in a pipeline. Subclasses say what program the step runs."""

    step_type: ClassVar[str] = ""

    def __init__(
        self,
        name: str,
        *,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        arguments: Sequence[Any] | None = None,
        compute_target: Any = None,
        source_directory: str | os.PathLike[str] | None = None,
        params: Mapping[str, Any] | None = None,
        allow_reuse: bool = True,
        hash_paths: Sequence[str] | None = None,
        runconfig: RunConfiguration | None = None,
        environment: Environment | None = None,
        timeout_seconds: float | None = None,
        version: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError(f"A step needs a non-empty name, got {name!r}.")
        self.name = name
        self._inputs = [self._check_input(i) for i in _as_list(inputs, "inputs", name)]
        outs = _as_list(outputs, "outputs", name)
        for out in outs:
            if not isinstance(out, PipelineData):
                raise DefinitionError(
                    f"Step {name!r}: outputs must be PipelineData objects, got {out!r}. "
                    "Existing data is an input (DataReference); new data is PipelineData(name)."
                )
        self._outputs: list[PipelineData] = [o._root() for o in outs]
        self.arguments = _as_list(arguments, "arguments", name)
        self.compute_target = compute_target
        self.source_directory = str(source_directory) if source_directory is not None else None
        self.params: dict[str, Any] = dict(params or {})
        for key, value in self.params.items():
            if not isinstance(value, PipelineParameter):
                check_json_value(value, f"Step {name!r}: params[{key!r}]")
        self.allow_reuse = bool(allow_reuse)
        self.hash_paths = list(hash_paths or [])
        self.runconfig = runconfig
        self.environment = environment or (runconfig.environment if runconfig is not None else None)
        if timeout_seconds is None and runconfig is not None:
            timeout_seconds = runconfig.max_run_duration_seconds
        if timeout_seconds is not None and timeout_seconds <= 0:
            raise DefinitionError(f"Step {name!r}: timeout_seconds must be positive, got {timeout_seconds}.")
        self.timeout_seconds = timeout_seconds
        self.version = version
        self._run_after: list[Step] = []
        self._implicit_outputs: list[PipelineData] = []
        for out in self._outputs:
            out._add_producer(self)

    @staticmethod
    def _check_input(item: Any) -> Any:
        if isinstance(item, PipelineData):
            return item
        if is_data(item):
            return item
        raise DefinitionError(
            f"{item!r} is not a valid step input: use a DataReference, DataPath, PipelineData, "
            "or (PipelineParameter, DataPathComputeBinding)."
        )

    # -- v1 API -------------------------------------------------------------------
    def run_after(self, step: Step) -> None:
        """Run this step only after ``step`` finished, even without data between them."""
        if not isinstance(step, Step):
            raise DefinitionError(f"Step {self.name!r}.run_after() takes a step, got {step!r}.")
        if step is self:
            raise DefinitionError(f"Step {self.name!r} cannot run after itself: that is a cycle.")
        if step not in self._run_after:
            self._run_after.append(step)

    @property
    def inputs(self) -> list[Any]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[PipelineData]:
        return list(self._outputs) + list(self._implicit_outputs)

    # -- used by Pipeline and the runner ---------------------------------------------
    def _argument_data(self) -> list[PipelineData]:
        return [a._root() for a in self._all_argument_items() if isinstance(a, PipelineData)]

    def _all_argument_items(self) -> list[Any]:
        return list(self.arguments)

    def _parameters(self) -> list[PipelineParameter]:
        """Every PipelineParameter this step uses (arguments, params, data bindings)."""
        found: list[PipelineParameter] = []
        for item in [*self._all_argument_items(), *self.params.values(), *self._inputs]:
            if isinstance(item, PipelineParameter):
                found.append(item)
            elif isinstance(item, tuple) and item and isinstance(item[0], PipelineParameter):
                found.append(item[0])
            elif isinstance(getattr(item, "dataset", None), PipelineParameter):  # a dataset parameter's input
                found.append(item.dataset)
        return found

    def _source_dir(self, default: str | None = None) -> Path:
        return Path(self.source_directory or default or ".").expanduser().resolve()

    def _main_file(self) -> str | None:
        """The file (relative to the source directory) that must exist, if any."""
        return None

    def _program(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        raise NotImplementedError

    def _resolve_arguments(self, items: Sequence[Any], resolve: Resolver) -> list[str]:
        out: list[str] = []
        for item in items:
            if isinstance(item, (PipelineParameter, DataReference, DataPath, PipelineData)) or is_data(item):
                out.append(resolve(item))
            elif isinstance(item, (str, int, float, bool)):
                out.append(str(item))
            elif isinstance(item, os.PathLike):
                out.append(os.fspath(item))
            else:
                raise DefinitionError(
                    f"Step {self.name!r}: argument {item!r} ({type(item).__name__}) cannot be passed on a command "
                    "line; use a string, number, PipelineParameter or data link."
                )
        return out

    def _data_names(self) -> list[str]:
        return [data_name(i) for i in self._inputs] + [o.name for o in self.outputs]

    def _definition(self) -> dict[str, Any]:
        """A JSON description of the step (recorded with each step run)."""
        return {
            "type": self.step_type,
            "name": self.name,
            "arguments": [show(a) for a in self.arguments],
            "params": {k: show(v) for k, v in self.params.items()},
            "inputs": [data_name(i) for i in self._inputs],
            "outputs": [o.name for o in self.outputs],
            "source_directory": self.source_directory,
            "allow_reuse": self.allow_reuse,
            "timeout_seconds": self.timeout_seconds,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class StepSequence:
    """Steps that run one after another, in list order (v1 ``StepSequence``)."""

    def __init__(self, steps: Sequence[Any] | None = None) -> None:
        self.steps = list(steps or [])
        if not self.steps:
            raise DefinitionError("StepSequence needs at least one step.")
        previous: list[Step] = []
        for item in self.steps:
            current = list(_flatten([item]))
            for step in current:
                for before in previous:
                    step.run_after(before)
            previous = current


def _flatten(items: Iterable[Any]) -> Iterable[Step]:
    for item in items:
        if isinstance(item, Step):
            yield item
        elif isinstance(item, StepSequence):
            yield from _flatten(item.steps)
        elif isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            raise DefinitionError(
                f"{item!r} is not a step: a pipeline's steps must be steps, lists of steps or a StepSequence."
            )


flatten_steps = _flatten


__all__ = ["DataPathComputeBinding", "Step", "StepSequence", "flatten_steps"]
