"""``amlpipe why``, ``amlpipe resume`` and ``amlpipe gc``: reading, continuing and cleaning up reuse."""

from __future__ import annotations

import os
from typing import Any

import click

from jupyter_amlpipe.cli import detach, exit_codes
from jupyter_amlpipe.cli.session import Session, pass_session
from jupyter_amlpipe.cli.submit import STARTED_BY_ENV
from jupyter_amlpipe.errors import LookupFailed, did_you_mean
from jupyter_amlpipe.runner.runs import PipelineRun, StepRun

__all__ = ["gc", "register", "resume", "why"]

_VERBS = {"Finished": "ran", "Failed": "ran and failed", "Canceled": "ran and was canceled", "Running": "running"}


# -- why -----------------------------------------------------------------------------------------
@click.command("why")
@click.argument("run_id")
@click.argument("step", required=False)
@pass_session
def why(session: Session, run_id: str, step: str | None) -> None:
    """Say why each step of a run ran, or which earlier run it reused.

    RUN_ID is a pipeline run id or a step run id (a unique prefix is enough);
    STEP picks one step of a pipeline run by name. A step that ran lists what
    differs from the closest earlier execution of the same step.

    \b
    Example:
      amlpipe why 3f2c9a1e
      prep   reused (from 1a2b3c4d-...)
      train  ran: parameter lr: 0.1 → 0.05
    """
    run = session.get_run(run_id)
    steps: list[StepRun]
    if isinstance(run, PipelineRun):
        steps = [run.get_step_run(step)] if step else list(run.get_steps())
    else:
        if step is not None and step != run.name:
            raise LookupFailed(
                f"Step run {run.id} is step {run.name!r}, not {step!r}.{did_you_mean(step, [run.name])}", name=step
            )
        steps = [run]
    if not steps:
        click.echo(f"Pipeline run {run.id} has no steps.")
        return
    width = max(len(s.name) for s in steps)
    for step_run in steps:
        first, *rest = explain_step(step_run)
        click.echo(f"{step_run.name:<{width}}  {first}")
        for line in rest:
            click.echo(f"{'':<{width}}    {line}")


def explain_step(step_run: Any) -> list[str]:
    """Why one step run ran or was reused: a first line, then one line per reason when there are several."""
    info = step_run.get_reuse_info()
    status = step_run.get_status()
    if info["reused"]:
        return [f"reused (from {info['reused_from']})"]
    reasons = [str(r) for r in info["reasons"]]
    if not reasons:
        if status == "Failed":
            error = step_run.get_details().get("error", {}).get("error", {}).get("message") or "see its logs"
            return [f"failed before it ran: {(error.strip().splitlines() or ['see its logs'])[0]}"]
        if status in ("NotStarted", "Queued"):
            return [f"did not run ({status})"]
        return [f"{_VERBS.get(status, status)} (no reuse record)"]
    verb = _VERBS.get(status, status)
    if len(reasons) == 1:
        return [f"{verb}: {reasons[0]}"]
    return [f"{verb} because:", *reasons]


# -- resume --------------------------------------------------------------------------------------
@click.command("resume")
@click.argument("run_id")
@click.option(
    "--no-wait", is_flag=True, help="Print the new run's id and return at once; it goes on in a background process."
)
@click.option("--quiet", "-q", is_flag=True, help="Wait without printing the run's output; errors still show.")
@click.option(detach.REPORT_OPTION, "report_fd", type=int, default=None, hidden=True)
@pass_session
def resume(session: Session, run_id: str, no_wait: bool, quiet: bool, report_fd: int | None) -> None:
    """Continue a Failed or Canceled pipeline run as a new run, and wait for it with its output.

    Steps that finished in RUN_ID are reused, the others run, with the code,
    parameters and compute targets recorded when RUN_ID was submitted. A step
    run id resumes its pipeline run. The exit code is the new run's:
    0 Finished, 1 Failed, 4 Canceled (2 when RUN_ID cannot be resumed).

    \b
    Example:
      amlpipe resume 3f2c9a1e-7d4b-4c55-9a0e-6b1f2d3c4e5f
    """
    ws = session.workspace()
    found = session.get_run(run_id)
    run = found if isinstance(found, PipelineRun) else found.parent
    if no_wait and report_fd is None:
        _resume_in_background(str(ws.path), run.id, quiet)
        return
    os.environ[STARTED_BY_ENV] = "cli"
    new = run.resume()
    if report_fd is not None:
        detach.report(report_fd, new.id)
        quiet = True
    if not quiet:
        click.echo(f"Resuming run {run.id} as run {new.id}: steps that finished are reused.")
    from jupyter_amlpipe.cli.submit import wait_and_exit

    wait_and_exit(new, quiet)


def _resume_in_background(workspace_path: str, run_id: str, quiet: bool) -> None:
    run_id_new, printed, code = detach.start_detached(["--workspace", workspace_path, "resume", run_id, "--quiet"])
    if printed:
        click.echo(printed, nl=False, err=True)
    if run_id_new is None:
        click.get_current_context().exit(code if code else exit_codes.FAILED)
    click.echo(run_id_new)
    if not quiet:
        click.echo(
            f"Run {run_id} resumes as run {run_id_new} in the background. "
            f"Follow it with: amlpipe logs {run_id_new} --follow",
            err=True,
        )


# -- gc ------------------------------------------------------------------------------------------
@click.command("gc")
@click.option(
    "--keep-last",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Keep only the N most recent ended pipeline runs of each experiment (and the results they reuse). "
    "Default: keep every run.",
)
@click.option("--dry-run", is_flag=True, help="Delete nothing: say what would be deleted and how much space it frees.")
@pass_session
def gc(session: Session, keep_last: int | None, dry_run: bool) -> None:
    """Delete runs, outputs and snapshots that no kept run, reuse entry or published pipeline needs.

    Runs that have not ended are always kept, and so are the earlier results
    that kept runs reused (later submissions still reuse them). Without
    --keep-last only leftovers go: working folders of ended steps (a failed
    step keeps its own), folders of deleted runs and unused snapshot files.

    \b
    Example:
      amlpipe gc --keep-last 5 --dry-run
    """
    from jupyter_amlpipe.runner.gc import collect_garbage

    report = collect_garbage(session.workspace(), keep_last=keep_last, dry_run=dry_run)
    for line in report_lines(report):
        click.echo(line)
    for problem in report.problems:
        click.echo(f"Warning: {problem}", err=True)
    if report.problems:
        click.get_current_context().exit(exit_codes.FAILED)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def report_lines(report: Any) -> list[str]:
    """What a gc report says, one line per kind of thing deleted, then the total."""
    from jupyter_amlpipe.runner.gc import format_size

    freed = report.freed
    delete = "Would delete" if report.dry_run else "Deleted"
    remove = "Would remove" if report.dry_run else "Removed"
    lines = []
    if report.pipeline_runs or report.step_runs:
        parts = [
            f"outputs {format_size(freed.get('outputs', 0))}",
            f"run folders {format_size(freed.get('run folders', 0))}",
        ]
        lines.append(
            f"{delete} {_plural(len(report.pipeline_runs), 'pipeline run')} and "
            f"{_plural(len(report.step_runs), 'step run')}: {', '.join(parts)}."
        )
    if report.cleaned_step_runs:
        lines.append(
            f"{remove} leftover staging/working folders of {_plural(report.cleaned_step_runs, 'step run')}: "
            f"{format_size(freed.get('leftovers', 0))}."
        )
    if report.orphan_folders:
        lines.append(
            f"{remove} {_plural(report.orphan_folders, 'run folder')} that no run record knows: "
            f"{format_size(freed.get('orphaned folders', 0))}."
        )
    if report.manifests or report.objects:
        lines.append(
            f"{delete} {_plural(report.manifests, 'snapshot')} and {_plural(report.objects, 'stored snapshot file')}: "
            f"{format_size(freed.get('snapshots', 0))}."
        )
    if report.reuse_entries:
        entries = "reuse entry" if report.reuse_entries == 1 else "reuse entries"
        lines.append(f"{delete} {report.reuse_entries:,} {entries}.")
    if not lines:
        lines.append("Nothing to delete.")
    total = report.freed_bytes
    verb = "Would free" if report.dry_run else "Freed"
    kept = f"kept {_plural(len(report.kept_runs), 'pipeline run')}"
    if report.held_runs:
        kept += f", and the steps they reuse from {_plural(len(report.held_runs), 'other run')}"
    lines.append(f"{verb} {format_size(total)} ({total:,} bytes); {kept}.")
    return lines


def register(group: click.Group) -> None:
    """Add ``why``, ``resume`` and ``gc`` to the ``amlpipe`` group."""
    for command in (why, resume, gc):
        group.add_command(command)
