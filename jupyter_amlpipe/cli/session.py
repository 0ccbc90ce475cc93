"""What every command shares: the workspace chosen on the command line, opened on first use.

``--workspace/-w PATH`` (or ``AMLPIPE_WORKSPACE_PATH``) names a workspace
folder, a config file, or a folder to search from like
``Workspace.from_config(PATH)``; without it the search starts in the current
folder. Runs are found by id, or by a unique prefix of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jupyter_amlpipe.errors import DefinitionError, LookupFailed

if TYPE_CHECKING:
    from jupyter_amlpipe.runner.runs import PipelineRun, StepRun
    from jupyter_amlpipe.workspace.workspace import Workspace

WORKSPACE_ENV = "AMLPIPE_WORKSPACE_PATH"
# A prefix shorter than this is not looked up (it would match too much to be meant).
MIN_PREFIX = 4


def open_workspace(path: str | Path | None) -> Workspace:
    """The workspace at ``path`` (its folder, a config file, or a folder to search from)."""
    from jupyter_amlpipe.workspace.config import WORKSPACE_FILE
    from jupyter_amlpipe.workspace.workspace import Workspace

    if path is None:
        return Workspace.from_config()
    folder = Path(path).expanduser()
    if (folder / WORKSPACE_FILE).is_file():
        return Workspace(path=folder)
    if not folder.exists():
        raise LookupFailed(
            f"No workspace at {str(folder)!r}: the path does not exist. Pass a workspace folder or a folder "
            f"with .azureml/config.json, or create one with: amlpipe workspace create NAME --path {folder}",
            path=str(folder),
        )
    return Workspace.from_config(folder)


@dataclass
class Session:
    """Options of the ``amlpipe`` group, passed to every command through click's context."""

    workspace_path: str | None = None
    _workspaces: dict[str | None, Workspace] = field(default_factory=dict)

    @property
    def explicit_workspace(self) -> bool:
        """Whether ``--workspace`` (or its environment variable) chose the workspace."""
        return self.workspace_path is not None

    def workspace(self, path: str | Path | None = None) -> Workspace:
        """The workspace at ``path`` if given, else the one the group's options chose."""
        key = str(path) if path is not None else self.workspace_path
        if key not in self._workspaces:
            self._workspaces[key] = open_workspace(key)
        return self._workspaces[key]

    def get_run(self, run_id: str) -> PipelineRun | StepRun:
        """The pipeline run or step run with this id (or a unique prefix of one)."""
        ws = self.workspace()
        try:
            run: PipelineRun | StepRun = ws.get_run(run_id)
            return run
        except LookupFailed:
            full = _by_prefix(ws, run_id)
            if full is None:
                raise
            found: PipelineRun | StepRun = ws.get_run(full)
            return found


def _by_prefix(ws: Any, prefix: str) -> str | None:
    if len(prefix) < MIN_PREFIX:
        return None
    store = ws._store
    ids = sorted(
        {r["id"] for kind in ("pipeline", "step") for r in store.list_runs(None, kind) if r["id"].startswith(prefix)}
    )
    if len(ids) > 1:
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        raise DefinitionError(
            f"Run id prefix {prefix!r} is ambiguous: it matches {len(ids)} runs ({shown}).", prefix=prefix
        )
    return ids[0] if ids else None


pass_session = click.make_pass_decorator(Session, ensure=True)
