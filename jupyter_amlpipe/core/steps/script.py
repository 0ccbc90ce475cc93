"""``PythonScriptStep`` and ``CommandStep``."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_amlpipe.core.environment import Environment, RunConfiguration
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
    """Run a command (v1 ``CommandStep``).

    ``command`` is a string run by ``bash -c`` in the step's working folder, or
    a list whose items (strings, numbers, PipelineParameters, data links) become
    the argv of the program, with no shell involved.
    """

    step_type = "command"

    def __init__(
        self,
        command: str | Sequence[Any] | None = None,
        name: str | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | None = None,
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
        if command is None and runconfig is not None:
            command = runconfig.command
        if not command:
            raise DefinitionError(f"CommandStep {name or ''!r} needs a command (a string or a list).")
        self.command = command
        label = name or (command if isinstance(command, str) else " ".join(str(c) for c in command))[:60]
        super().__init__(
            label,
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

    def _program(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        args = self._resolve_arguments(self.arguments, resolve)
        if isinstance(self.command, str):
            command = self.command + "".join(" " + shlex.quote(a) for a in args)
            return {"type": "shell", "command": command}
        return {"type": "exec", "argv": self._resolve_arguments(list(self.command), resolve) + args}

    def _definition(self) -> dict[str, Any]:
        shown = self.command if isinstance(self.command, str) else [show(c) for c in self.command]
        return {**super()._definition(), "command": shown}
