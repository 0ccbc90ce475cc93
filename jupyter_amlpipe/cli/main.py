"""The ``amlpipe`` command group, its global options and exit codes.

Exit codes (see :mod:`jupyter_amlpipe.cli.exit_codes`): 0 Finished or
success, 1 Failed, 2 bad definition or usage, 3 not found, 4 Canceled. An
error the package raises on purpose (``AmlpipeError``) prints
``Error: <message>`` to stderr without a traceback; anything else is a bug and
keeps its traceback.

More commands plug in from the modules named in ``_COMMAND_MODULES``, loaded
when importable: such a module registers its commands on import
(``from jupyter_amlpipe.cli.main import cli`` then ``@cli.command()``) or
defines ``register(group)``, which is called with :data:`cli`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import click

from jupyter_amlpipe.cli import exit_codes
from jupyter_amlpipe.cli.logs import logs
from jupyter_amlpipe.cli.run_cmds import cancel, runs, show
from jupyter_amlpipe.cli.session import WORKSPACE_ENV, Session
from jupyter_amlpipe.cli.submit import submit
from jupyter_amlpipe.cli.workspace_cmds import workspace_group
from jupyter_amlpipe.errors import AmlpipeError

__all__ = ["cli", "main"]

# Optional command modules, loaded if they exist.
_COMMAND_MODULES = [
    "jupyter_amlpipe.cli.demo",
    "jupyter_amlpipe.cli.reuse_cmds",
    "jupyter_amlpipe.cli.env_cmds",
    "jupyter_amlpipe.cli.serve_cmd",
    "jupyter_amlpipe.cli.publish_cmds",
    "jupyter_amlpipe.cli.schedule_cmds",
]


class CommandError(click.ClickException):
    """An ``AmlpipeError`` shown as ``Error: <message>`` with the exit code of its family."""

    def __init__(self, error: AmlpipeError) -> None:
        super().__init__(error.message)
        self.exit_code = exit_codes.for_error(error)


class AmlpipeGroup(click.Group):
    """A group that turns the package's errors into clean messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AmlpipeError as error:
            raise CommandError(error) from error


def _version() -> str:
    from jupyter_amlpipe import __version__

    return __version__


@click.group(cls=AmlpipeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    "workspace_path",
    envvar=WORKSPACE_ENV,
    metavar="PATH",
    default=None,
    help=f"Workspace folder, its config file, or a folder to search from (env {WORKSPACE_ENV}). "
    "Default: .azureml/config.json found from the current folder upwards.",
)
@click.version_option(_version(), prog_name="amlpipe")
@click.pass_context
def cli(ctx: click.Context, workspace_path: str | None) -> None:
    """amlpipe: build, run and inspect Azure ML v1 style pipelines on your own machine.

    \b
    Example:
      amlpipe workspace create demo --path ./ws
      amlpipe submit pipeline.py --param lr=0.05
      amlpipe runs
    """
    ctx.obj = Session(workspace_path=workspace_path)


cli.add_command(workspace_group)
cli.add_command(runs)
cli.add_command(show)
cli.add_command(logs)
cli.add_command(cancel)
cli.add_command(submit)


def _load_command_modules(names: Sequence[str], group: click.Group | None = None) -> list[str]:
    """Import the command modules that exist and let them register on ``group``; return those loaded."""
    group = group if group is not None else cli
    loaded = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
                continue  # the module (or its package) does not exist: nothing to add
            raise
        register = getattr(module, "register", None)
        if callable(register):
            register(group)
        loaded.append(name)
    return loaded


_load_command_modules(_COMMAND_MODULES)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``amlpipe`` console script (and ``python -m jupyter_amlpipe``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="amlpipe")
