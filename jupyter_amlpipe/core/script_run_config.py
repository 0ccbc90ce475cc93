"""``ScriptRunConfig``: what to run, where and in which environment (v1 ``azureml.core.ScriptRunConfig``).

Here it configures a step: ``CommandStep(runconfig=ScriptRunConfig(...))``
takes its command, source directory, environment and compute target from it.
Its settings live on ``run_config`` (a :class:`RunConfiguration`), as in v1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from jupyter_amlpipe.core.environment import Environment, RunConfiguration
from jupyter_amlpipe.errors import DefinitionError


class ScriptRunConfig:
    """A script or command with its source directory, environment and compute target (v1 ``ScriptRunConfig``)."""

    def __init__(
        self,
        source_directory: str | os.PathLike[str],
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        run_config: RunConfiguration | None = None,
        _telemetry_values: dict[str, Any] | None = None,
        compute_target: Any = None,
        environment: Environment | None = None,
        distributed_job_config: Any = None,
        resume_from: Any = None,
        max_run_duration_seconds: float | None = None,
        command: str | Sequence[Any] | None = None,
        docker_runtime_config: Any = None,
    ) -> None:
        if source_directory is None:
            raise DefinitionError(
                "ScriptRunConfig needs a source_directory (the folder the script or command runs in)."
            )
        if script and command:
            raise DefinitionError(
                f"ScriptRunConfig: give either script ({script!r}) or command, not both "
                "(a command can run the script: command=['python', script, ...])."
            )
        if command and arguments:
            raise DefinitionError(
                "ScriptRunConfig: arguments cannot be combined with command; put them in the command "
                "(command=['python train.py --epochs', 30])."
            )
        if environment is not None and not isinstance(environment, Environment):
            raise DefinitionError(f"ScriptRunConfig: environment must be an Environment, got {environment!r}.")
        self.source_directory = os.fspath(source_directory)
        self.run_config = run_config if run_config is not None else RunConfiguration()
        if environment is not None:
            self.run_config.environment = environment
        if compute_target is not None:
            self.run_config.target = compute_target
        if max_run_duration_seconds is not None:
            self.run_config.max_run_duration_seconds = max_run_duration_seconds
        if script is not None:
            self.run_config.script = script
        if arguments is not None:
            self.run_config.arguments = list(arguments)
        if command is not None:
            self.run_config.command = command
        self.distributed_job_config = distributed_job_config
        self.resume_from = resume_from
        self.docker_runtime_config = docker_runtime_config

    # v1 keeps these on the ScriptRunConfig; here they live on run_config, so setting either one works
    @property
    def script(self) -> str | None:
        return self.run_config.script

    @script.setter
    def script(self, value: str | None) -> None:
        self.run_config.script = value

    @property
    def arguments(self) -> list[Any]:
        return self.run_config.arguments

    @arguments.setter
    def arguments(self, value: Sequence[Any] | None) -> None:
        self.run_config.arguments = list(value or [])

    @property
    def command(self) -> Any:
        return self.run_config.command

    @command.setter
    def command(self, value: str | Sequence[Any] | None) -> None:
        self.run_config.command = value

    @property
    def environment(self) -> Environment:
        return self.run_config.environment

    @environment.setter
    def environment(self, value: Environment) -> None:
        self.run_config.environment = value

    @property
    def compute_target(self) -> Any:
        return self.run_config.target

    @compute_target.setter
    def compute_target(self, value: Any) -> None:
        self.run_config.target = value

    def __repr__(self) -> str:
        what = f"command={self.command!r}" if self.command else f"script={self.script!r}"
        return f"ScriptRunConfig(source_directory={self.source_directory!r}, {what})"
