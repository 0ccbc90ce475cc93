"""``amlpipe workspace create|show``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from jupyter_amlpipe.cli import render
from jupyter_amlpipe.cli.session import Session, pass_session


@click.group("workspace")
def workspace_group() -> None:
    """Create a workspace or show what one holds.

    \b
    Example:
      amlpipe workspace create demo --path ./ws
    """


@workspace_group.command("create")
@click.argument("name")
@click.option(
    "--path",
    "path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the workspace (created with its parents). Default: $AMLPIPE_HOME/workspaces/NAME.",
)
@click.option("--exist-ok", is_flag=True, help="Use the workspace if it already exists instead of failing.")
@click.option(
    "--write-config/--no-write-config",
    default=True,
    show_default=True,
    help="Write .azureml/config.json in the current folder, so commands and "
    "Workspace.from_config() find the workspace from here.",
)
def create(name: str, path: Path | None, exist_ok: bool, write_config: bool) -> None:
    """Create the workspace NAME (like Workspace.create(NAME, path=..., exist_ok=...)).

    \b
    Example:
      amlpipe workspace create demo --path ./ws --exist-ok
    """
    from jupyter_amlpipe.workspace.config import WORKSPACE_FILE, default_root
    from jupyter_amlpipe.workspace.workspace import Workspace

    folder = path.expanduser().resolve() if path is not None else default_root() / name
    existed = (folder / WORKSPACE_FILE).is_file()
    ws = Workspace.create(name, path=folder, exist_ok=exist_ok)
    verb = "Using existing" if existed else "Created"
    click.echo(f"{verb} workspace {ws.name!r} in {ws.path}")
    if write_config:
        click.echo(f"Wrote {ws.write_config()}")


@workspace_group.command("show")
@click.option(
    "--path",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="A workspace folder or a folder to search from (overrides --workspace).",
)
@pass_session
def show(session: Session, path: Path | None) -> None:
    """Show a workspace: its folder, datastores, compute targets and experiments with run counts.

    \b
    Example:
      amlpipe workspace show --path ./ws
    """
    ws = session.workspace(path)
    store = ws._store
    click.echo(render.fields([("Workspace", ws.name), ("Folder", ws.path), ("Schema version", store.schema_version())]))
    click.echo("\nDatastores")
    click.echo(
        render.table(
            ["NAME", "TYPE", "DEFAULT", "LOCATION"],
            [
                (r["name"], r["kind"], "yes" if r["config"].get("is_default") else "", _location(r["config"]))
                for r in store.list_named("datastores")
            ],
        )
    )
    click.echo("\nCompute targets")
    targets = store.list_named("compute_targets")
    if targets:
        click.echo(
            render.table(
                ["NAME", "TYPE", "SETTINGS"], [(r["name"], r["kind"], _settings(r["config"])) for r in targets]
            )
        )
    else:
        click.echo("(none recorded; steps without a compute target run on 'local')")
    click.echo("\nExperiments")
    rows = [_experiment_row(ws, name) for name in store.list_experiments()]
    if rows:
        click.echo(render.table(["NAME", "RUNS", "ACTIVE", "FINISHED", "FAILED", "CANCELED", "LAST RUN"], rows))
    else:
        click.echo("(none yet; submit a pipeline with: amlpipe submit FILE.py)")


def _location(config: dict[str, Any]) -> str:
    for key in ("url", "root", "container_name"):
        if config.get(key):
            return str(config[key])
    return ""


def _settings(config: dict[str, Any]) -> str:
    return ", ".join(f"{k}={render.value(v)}" for k, v in sorted(config.items()) if v is not None)


def _experiment_row(ws: Any, name: str) -> tuple[Any, ...]:
    from jupyter_amlpipe.runner.runs import TERMINAL, reconcile

    records = [r if r["status"] in TERMINAL else reconcile(ws, r) for r in ws._store.list_runs(name, "pipeline")]
    counts = Counter(r["status"] for r in records)
    active = sum(n for status, n in counts.items() if status not in TERMINAL)
    last = max((r["created"] for r in records), default=None)
    return (
        name,
        len(records),
        active,
        counts["Finished"],
        counts["Failed"],
        counts["Canceled"],
        render.timestamp(last),
    )
