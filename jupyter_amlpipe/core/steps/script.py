"""``PythonScriptStep`` and ``CommandStep``."""

from __future__ import annotations

import os
import shlex
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_amlpipe.core.data import PipelineParameter, is_data
from jupyter_amlpipe.core.environment import Environment, RunConfiguration
from jupyter_amlpipe.core.script_run_config import ScriptRunConfig
from jupyter_amlpipe.core.steps.base import Resolver, Step, ValueResolver, capture, show
from jupyter_amlpipe.errors import DefinitionError


class PythonScriptStep(Step):
    """Run a Python script from ``source_directory`` (v1 ``PythonScriptStep``)."""

    step_type = "python_script"

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: Sequence[Any] | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | None = None,
        runconfig_pipeline_params: Mapping[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: Sequence[str] | None = None,
        *,
        environment: Environment | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self._spec = capture(locals())
        if not isinstance(script_name, str) or not script_name:
            raise DefinitionError(f"PythonScriptStep needs a script_name, got {script_name!r}.")
        self.script_name = script_name
        super().__init__(
            name or script_name,
            inputs=inputs,
            outputs=outputs,
            arguments=arguments,
            compute_target=compute_target,
            source_directory=source_directory,
            params=params,
            allow_reuse=allow_reuse,
            hash_paths=hash_paths,
            runconfig=runconfig,
            environment=environment,
            timeout_seconds=timeout_seconds,
            version=version,
        )

    def _main_file(self) -> str | None:
        return self.script_name

    def _program(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        return {"type": "python", "script": self.script_name, "args": self._resolve_arguments(self.arguments, resolve)}

    def _definition(self) -> dict[str, Any]:
        return {**super()._definition(), "script_name": self.script_name}


class CommandStep(Step):
    """Run a shell command (v1 ``CommandStep``).

    ``command`` is a string or a list, run by ``bash -c`` in the step's working
    folder. A list's items are joined with single spaces into one command line,
    as in v1: strings are shell fragments pasted as they are
    (``'python train.py --epochs 30'``); data links (DataReference,
    PipelineData, OutputFileDatasetConfig, ``dataset.as_mount()``) become their
    path on the compute and PipelineParameters their value, each shell-quoted;
    numbers are written as they are.

    ``runconfig`` may be a :class:`ScriptRunConfig` (or a RunConfiguration):
    the step takes its command, source directory, environment and compute
    target when they are not given here. Without ``name``, the step is named
    after the first word of the command (``"python"``), as in v1.
    """

    step_type = "command"

    def __init__(
        self,
        command: str | Sequence[Any] | None = None,
        name: str | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | ScriptRunConfig | None = None,
        runconfig_pipeline_params: Mapping[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        *,
        arguments: Sequence[Any] | None = None,
        hash_paths: Sequence[str] | None = None,
        environment: Environment | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self._spec = capture(locals())
        if isinstance(runconfig, ScriptRunConfig):
            _warn_unsupported(runconfig, name)
            if source_directory is None:
                source_directory = runconfig.source_directory
            runconfig = runconfig.run_config
        if runconfig is not None and not isinstance(runconfig, RunConfiguration):
            raise DefinitionError(
                f"CommandStep {name or ''!r}: runconfig must be a ScriptRunConfig or a RunConfiguration, "
                f"got {type(runconfig).__name__}."
            )
        if command is None and runconfig is not None:
            command = runconfig.command
        if compute_target is None and runconfig is not None:
            compute_target = runconfig.target
        if command is None and runconfig is not None and runconfig.script:
            raise DefinitionError(
                f"CommandStep {name or ''!r}: its runconfig names script={runconfig.script!r} but no command; "
                "a CommandStep runs a command (command=['python', script, ...]), a PythonScriptStep runs a script."
            )
        self.command = _check_command(command, name)
        # Recorded as resolved: a rebuilt step (resume, publish) needs no ScriptRunConfig.
        self._spec.update(
            command=self.command,
            runconfig=runconfig,
            compute_target=compute_target,
            source_directory=source_directory,
        )
        super().__init__(
            name or _first_word(self.command),
            inputs=inputs,
            outputs=outputs,
            arguments=arguments,
            compute_target=compute_target,
            source_directory=source_directory,
            params=params,
            allow_reuse=allow_reuse,
            hash_paths=hash_paths,
            runconfig=runconfig,
            environment=environment,
            timeout_seconds=timeout_seconds,
            version=version,
        )

    def _all_argument_items(self) -> list[Any]:
        items = [] if isinstance(self.command, str) else list(self.command)
        return items + list(self.arguments)

    def _command_line(self, resolve: Resolver) -> str:
        """The list form joined into one shell command line (v1): fragments as they are, values quoted."""
        assert not isinstance(self.command, str)
        parts: list[str] = []
        for item in self.command:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, (int, float)):  # bool included: True / False, as in arguments
                parts.append(str(item))
            else:
                parts.extend(shlex.quote(a) for a in self._resolve_arguments([item], resolve))
        return " ".join(parts)

    def _program(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        command = self.command if isinstance(self.command, str) else self._command_line(resolve)
        args = self._resolve_arguments(self.arguments, resolve)
        return {"type": "shell", "command": command + "".join(" " + shlex.quote(a) for a in args)}

    def _definition(self) -> dict[str, Any]:
        if isinstance(self.command, str):
            return {**super()._definition(), "command": self.command}
        # "command_mode": a list is joined into one shell line (it was an argv before): not reused across that change
        return {**super()._definition(), "command": [show(c) for c in self.command], "command_mode": "shell"}


def _check_command(command: Any, name: str | None) -> str | list[Any]:
    """The command as a string or a list, each list item one v1 accepts."""
    label = f"CommandStep {name!r}" if name else "CommandStep"
    if isinstance(command, str):
        if not command.strip():
            raise DefinitionError(f"{label} needs a command (a string or a list), got an empty string.")
        return command
    if command is None or isinstance(command, (bytes, Mapping)) or not isinstance(command, Sequence):
        raise DefinitionError(
            f"{label} needs a command: a string ('python train.py --epochs 30') or a list "
            f"(['python train.py --data', data]); got {command!r}."
        )
    items = list(command)
    if not any(not isinstance(i, str) or i.strip() for i in items):
        raise DefinitionError(f"{label} needs a command (a string or a list), got an empty list.")
    for item in items:
        if isinstance(item, (str, int, float, PipelineParameter, os.PathLike)) or is_data(item):
            continue
        raise DefinitionError(
            f"{label}: command item {item!r} ({type(item).__name__}) cannot be put on a command line; use strings "
            "(shell fragments), numbers, PipelineParameters and data (DataReference, PipelineData, "
            "OutputFileDatasetConfig, dataset.as_mount()).",
        )
    return items


def _first_word(command: str | list[Any]) -> str:
    """v1 names an unnamed CommandStep after the first word of its command ("python")."""
    for item in [command] if isinstance(command, str) else command:
        if not isinstance(item, str):
            break
        if item.split():
            return item.split()[0]
    return "command"


def _warn_unsupported(config: ScriptRunConfig, name: str | None) -> None:
    for setting in ("distributed_job_config", "resume_from", "docker_runtime_config"):
        if getattr(config, setting) is not None:
            warnings.warn(
                f"CommandStep {name or ''!r}: ScriptRunConfig({setting}=...) has no effect here; the step runs "
                "as one process.",
                UserWarning,
                stacklevel=3,
            )
