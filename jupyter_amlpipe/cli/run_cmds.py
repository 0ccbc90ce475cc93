"""``amlpipe runs``, ``amlpipe show RUN_ID`` and ``amlpipe cancel RUN_ID``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import click

from jupyter_amlpipe.cli import render
from jupyter_amlpipe.cli.session import Session, pass_session
from jupyter_amlpipe.errors import ExecutionError
from jupyter_amlpipe.runner.runs import STATUSES, TERMINAL, reconcile


def _current(ws: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The record with its status reconciled (a run whose process died is marked Failed)."""
    if record["status"] in TERMINAL:
        return record
    return reconcile(ws, record)


@click.command("runs")
@click.option("--experiment", "-e", default=None, help="Only runs of this experiment.")
@click.option(
    "--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True, help="Show at most this many runs."
)
@click.option(
    "--status",
    "-s",
    type=click.Choice(STATUSES, case_sensitive=False),
    default=None,
    help="Only runs with this status.",
)
@pass_session
def runs(session: Session, experiment: str | None, limit: int, status: str | None) -> None:
    """List pipeline runs, newest first.

    OK, FAILED and STEPS count the run's finished steps, failed steps and all
    its steps. STARTED BY says what submitted the run (cli, notebook, script, ...).

    \b
    Example:
      amlpipe runs --experiment demo --status Failed --limit 5
    """
    ws = session.workspace()
    store = ws._store
    wanted = next((s for s in STATUSES if status and s.lower() == status.lower()), None)
    rows = []
    for record in store.list_runs(experiment, "pipeline", None if wanted else limit):
        record = _current(ws, record)
        if wanted and record["status"] != wanted:
            continue
        children = store.child_runs(record["id"])
        finished = sum(c["status"] == "Finished" for c in children)
        failed = sum(c["status"] == "Failed" for c in children)
        rows.append(
            (
                record["id"],
                record["experiment"],
                record["status"],
                render.timestamp(record["started"]),
                render.run_duration(record),
                finished,
                failed,
                len(children),
                record["properties"].get("amlpipe.started_by"),
            )
        )
        if len(rows) >= limit:
            break
    if not rows:
        where = f" in experiment {experiment!r}" if experiment else ""
        click.echo(f"No {wanted + ' ' if wanted else ''}pipeline runs{where}.", err=True)
        return
    click.echo(
        render.table(
            ["RUN ID", "EXPERIMENT", "STATUS", "STARTED", "DURATION", "OK", "FAILED", "STEPS", "STARTED BY"], rows
        )
    )


@click.command("show")
@click.argument("run_id")
@pass_session
def show(session: Session, run_id: str) -> None:
    """Show a run: status, parameters, properties and its steps (or one step run's details).

    RUN_ID is a pipeline run id or a step run id (a unique prefix is enough).

    \b
    Example:
      amlpipe show 3f2c9a1e-7d4b-4c55-9a0e-6b1f2d3c4e5f
    """
    run = session.get_run(run_id)
    ws = session.workspace()
    record = _current(ws, ws._store.get_run(run.id))
    if record["kind"] == "pipeline":
        _show_pipeline(ws, record, run.get_metrics())
    else:
        _show_step(ws, record, run.get_metrics())


def _show_pipeline(ws: Any, record: dict[str, Any], metrics: dict[str, Any]) -> None:
    props = dict(record["properties"])
    params = props.pop("amlpipe.parameters", None) or record["details"].get("parameters") or {}
    started_by = props.get("amlpipe.started_by")
    user = props.get("amlpipe.submitted_by")
    who = f"{started_by} (user {user})" if started_by and user else started_by or user
    click.echo(
        render.fields(
            [
                ("Pipeline run", record["id"]),
                ("Experiment", record["experiment"]),
                ("Name", record["name"]),
                ("Status", record["status"]),
                ("Started", render.timestamp(record["started"])),
                ("Ended", render.timestamp(record["ended"])),
                ("Duration", render.run_duration(record)),
                ("Started by", who),
                ("Parameters", render.mapping(params)),
                ("Properties", render.mapping(props)),
                *([("Tags", render.mapping(record["tags"]))] if record["tags"] else []),
                *([("Metrics", render.mapping(metrics))] if metrics else []),
                *([("Error", record["error"])] if record["error"] else []),
            ]
        )
    )
    children = [_current(ws, c) for c in ws._store.child_runs(record["id"])]
    click.echo("")
    click.echo(render.table(["STEP", "STATUS", "DURATION", "STEP RUN ID", "ERROR"], [_step_row(c) for c in children]))
    click.echo(f"\nLogs: amlpipe logs {record['id']} [STEP]")


def _step_row(child: dict[str, Any]) -> Sequence[Any]:
    status = child["status"]
    if child["details"].get("reused_from"):
        status += " (reused)"
    return (child["name"], status, render.run_duration(child), child["id"], render.first_line(child["error"]))


def _show_step(ws: Any, record: dict[str, Any], metrics: dict[str, Any]) -> None:
    details = record["details"]
    outputs = {name: f"{o['datastore']}/{o['path']}" for name, o in details.get("outputs", {}).items()}
    click.echo(
        render.fields(
            [
                ("Step run", record["id"]),
                ("Step", record["name"]),
                ("Pipeline run", record["parent_id"]),
                ("Experiment", record["experiment"]),
                ("Status", record["status"]),
                ("Compute", details.get("compute")),
                ("Started", render.timestamp(record["started"])),
                ("Ended", render.timestamp(record["ended"])),
                ("Duration", render.run_duration(record)),
                *([("Reused from", details["reused_from"])] if details.get("reused_from") else []),
                ("Outputs", render.mapping(outputs)),
                *([("Metrics", render.mapping(metrics))] if metrics else []),
                *([("Error", record["error"])] if record["error"] else []),
            ]
        )
    )
    click.echo("")
    click.echo(render.table(["STEP", "STATUS", "DURATION", "STEP RUN ID", "ERROR"], [_step_row(record)]))
    click.echo(f"\nLogs: amlpipe logs {record['id']}")


@click.command("cancel")
@click.argument("run_id")
@click.option(
    "--no-wait", is_flag=True, help="Return once the cancel is requested, without waiting for the run to end."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the run to end.",
)
@pass_session
def cancel(session: Session, run_id: str, no_wait: bool, timeout: float) -> None:
    """Cancel a run, wherever it was started; its running steps are stopped within seconds.

    A step run id cancels the pipeline run it belongs to.

    \b
    Example:
      amlpipe cancel 3f2c9a1e-7d4b-4c55-9a0e-6b1f2d3c4e5f
    """
    run = session.get_run(run_id)
    ws = session.workspace()
    root_id = ws._store.get_run(run.id).get("parent_id") or run.id
    before = _current(ws, ws._store.get_run(root_id))["status"]
    if before in TERMINAL:
        click.echo(f"Run {root_id} already ended: {before}. Nothing to cancel.")
        return
    run.cancel()
    if no_wait:
        click.echo(f"Cancel requested for run {root_id}.")
        return
    deadline = time.monotonic() + timeout
    while True:
        record = _current(ws, ws._store.get_run(root_id))
        if record["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise ExecutionError(
                f"Cancel requested, but run {root_id} is still {record['status']} after {timeout:g} s: the process "
                f"running it (pid {record.get('runner_pid')} on {record.get('runner_host')}) has not stopped it yet. "
                f"Check again with: amlpipe show {root_id}",
                run_id=root_id,
            )
        time.sleep(0.2)
    if record["status"] == "Canceled":
        click.echo(f"Run {root_id} Canceled.")
    else:
        click.echo(f"Run {root_id} ended {record['status']} before the cancel took effect.")
