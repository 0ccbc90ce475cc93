"""``amlpipe logs RUN_ID [STEP] [--follow]``: a step's output, or every step's with ``[step]`` prefixes.

Without ``--follow`` the log files of the step runs are read. With it, the
run's event stream in the workspace is read from its start and followed until
the run ends, so it works for a run started by any process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import click

from jupyter_amlpipe.cli import exit_codes
from jupyter_amlpipe.cli.session import Session, pass_session
from jupyter_amlpipe.runner.runs import TERMINAL, reconcile

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class _Target:
    root_id: str
    run_id: str  # the step run, or the pipeline run when every step is shown
    steps: dict[str, str]  # step run id -> step name, in topological order
    prefixed: bool


@click.command("logs")
@click.argument("run_id")
@click.argument("step", required=False)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing as the run writes, until it ends; then exit with the run's code "
    "(0 Finished, 1 Failed, 4 Canceled).",
)
@click.option("--stdout", "stream", flag_value="stdout", help="Only the steps' stdout.")
@click.option("--stderr", "stream", flag_value="stderr", help="Only the steps' stderr, printed to stdout.")
@click.option(
    "--all",
    "stream",
    flag_value="all",
    default=True,
    help="Both (the default): the steps' stdout to stdout and their stderr to stderr.",
)
@pass_session
def logs(session: Session, run_id: str, step: str | None, follow: bool, stream: str) -> None:
    """Print what a step wrote (STEP of a pipeline run, or a step run id).

    With a pipeline run id and no STEP, every step's output is printed in the
    pipeline's order, each line prefixed with [step name].

    \b
    Examples:
      amlpipe logs 3f2c9a1e-7d4b-4c55-9a0e-6b1f2d3c4e5f train
      amlpipe logs 3f2c9a1e-7d4b-4c55-9a0e-6b1f2d3c4e5f --follow --all
    """
    run = session.get_run(run_id)
    ws = session.workspace()
    target = _target(ws, run, step)
    streams = ("stdout", "stderr") if stream == "all" else (stream,)
    if follow:
        status = _follow(ws, target, streams)
        click.get_current_context().exit(exit_codes.for_status(status))
    for run_key, name in target.steps.items():
        step_run = ws.get_run(run_key)
        for which in streams:
            text = step_run.get_stdout_log() if which == "stdout" else step_run.get_stderr_log()
            _write(text, name if target.prefixed else None, err=which == "stderr" and stream == "all")


def _target(ws: Any, run: Any, step: str | None) -> _Target:
    record = ws._store.get_run(run.id)
    if record["kind"] == "step":
        if step is not None and step != record["name"]:
            raise click.UsageError(f"{run.id} is the step run of step {record['name']!r}; do not name a STEP with it.")
        return _Target(record["parent_id"], run.id, {run.id: record["name"]}, prefixed=False)
    if step is not None:
        step_run = run.get_step_run(step)  # LookupFailed with "did you mean" for an unknown name
        return _Target(run.id, step_run.id, {step_run.id: step_run.name}, prefixed=False)
    children = ws._store.child_runs(run.id)  # ordered by the pipeline's topological order
    return _Target(run.id, run.id, {c["id"]: c["name"] for c in children}, prefixed=True)


def _write(text: str, prefix: str | None, err: bool) -> None:
    if not text:
        return
    if prefix is not None:
        text = "".join(f"[{prefix}] {line}\n" for line in text.splitlines())
    elif not text.endswith("\n"):
        text += "\n"
    click.echo(text, nl=False, err=err)


def _follow(ws: Any, target: _Target, streams: tuple[str, ...]) -> str:
    """Print log events of the target until it (or its pipeline run) ends; return the final status."""
    store = ws._store
    after = 0
    split = len(streams) > 1

    def drain() -> None:
        nonlocal after
        while True:
            events = store.events(target.root_id, after)
            if not events:
                return
            for event in events:
                after = event["seq"]
                data = event["data"]
                if event["kind"] != "log" or event["run_id"] not in target.steps or data.get("stream") not in streams:
                    continue
                name = target.steps[event["run_id"]]
                _write(
                    str(data.get("text", "")),
                    name if target.prefixed else None,
                    err=split and data.get("stream") == "stderr",
                )

    while True:
        drain()
        root = store.get_run(target.root_id)
        if root["status"] not in TERMINAL:
            root = reconcile(ws, root)
        mine = root if target.run_id == target.root_id else store.get_run(target.run_id)
        if mine["status"] in TERMINAL or root["status"] in TERMINAL:
            drain()  # the last lines are recorded with the final status
            status = mine["status"] if mine["status"] in TERMINAL else root["status"]
            return str(status)
        time.sleep(POLL_SECONDS)
