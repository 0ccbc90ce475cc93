"""``amlpipe submit FILE.py[:NAME]``: run the pipeline a Python file defines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from jupyter_amlpipe.cli import detach, exit_codes, loader
from jupyter_amlpipe.cli.session import Session, pass_session
from jupyter_amlpipe.errors import DefinitionError

STARTED_BY_ENV = "AMLPIPE_STARTED_BY"


@click.command("submit")
@click.argument("spec", metavar="FILE.py[:NAME]")
@click.option("--experiment", "-e", default=None, help="Experiment name. Default: the file's name without .py.")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a PipelineParameter (repeatable). VALUE is read as JSON when it parses, else as a string.",
)
@click.option(
    "--no-wait", is_flag=True, help="Print the run id and return at once; the run goes on in a background process."
)
@click.option(
    "--continue-on-step-failure",
    is_flag=True,
    help="Let independent steps finish when a step fails (the run is Failed either way).",
)
@click.option("--regenerate-outputs", is_flag=True, help="Run every step, reusing no earlier result.")
@click.option("--quiet", "-q", is_flag=True, help="Wait without printing the run's output; errors still show.")
@click.option(detach.REPORT_OPTION, "report_fd", type=int, default=None, hidden=True)
@pass_session
def submit(
    session: Session,
    spec: str,
    experiment: str | None,
    params: tuple[str, ...],
    no_wait: bool,
    continue_on_step_failure: bool,
    regenerate_outputs: bool,
    quiet: bool,
    report_fd: int | None,
) -> None:
    """Submit the Pipeline that FILE.py defines, and wait for it with its output.

    The file runs with __name__ == "__amlpipe__", so its
    `if __name__ == "__main__":` block does not run. NAME picks a Pipeline
    variable when the file defines several. The exit code is the run's:
    0 Finished, 1 Failed, 4 Canceled (2 for a bad definition).

    \b
    Example:
      amlpipe submit pipeline.py:pipeline --experiment demo --param lr=0.05
    """
    path, name = loader.split_spec(spec)
    experiment = experiment or loader.experiment_name_for(path)
    assignments = dict(loader.parse_param(p) for p in params)
    if no_wait and report_fd is None:
        _submit_in_background(session, spec, experiment, params, continue_on_step_failure, regenerate_outputs)
        return
    _, pipeline = loader.load_pipeline(path, name)
    ws = _workspace_for(session, pipeline, spec)
    from jupyter_amlpipe.runner.experiment import Experiment

    os.environ[STARTED_BY_ENV] = "cli"
    run = Experiment(ws, experiment).submit(
        pipeline,
        pipeline_parameters=assignments,
        continue_on_step_failure=continue_on_step_failure,
        regenerate_outputs=regenerate_outputs,
    )
    if report_fd is not None:
        detach.report(report_fd, run.id)
        quiet = True
    wait_and_exit(run, quiet)


def wait_and_exit(run: Any, quiet: bool) -> None:
    """Follow a run that lives in this process to its end, then exit with its status's code."""
    try:
        status = run.wait_for_completion(show_output=not quiet, raise_on_error=True)
    except KeyboardInterrupt:  # Ctrl-C: the run lives in this process, so it is canceled, not orphaned
        run.cancel()
        status = run.wait_for_completion(show_output=False, raise_on_error=False)
        click.echo(f"Run {run.id} {status}.", err=True)
    click.get_current_context().exit(exit_codes.for_status(status))


def _workspace_for(session: Session, pipeline: Any, spec: str) -> Any:
    """The pipeline's own workspace; the command line's when it has none. They must agree."""
    own = pipeline.workspace
    if own is None:
        return session.workspace()
    if session.explicit_workspace:
        chosen = session.workspace()
        if Path(chosen.path) != Path(own.path):
            raise DefinitionError(
                f"The pipeline in {spec} belongs to workspace {own.name!r} ({own.path}), but --workspace chose "
                f"{chosen.name!r} ({chosen.path}). Drop --workspace, or build the pipeline in that workspace.",
            )
    return own


def _submit_in_background(
    session: Session,
    spec: str,
    experiment: str,
    params: tuple[str, ...],
    continue_on_step_failure: bool,
    regenerate_outputs: bool,
) -> None:
    args = ["--workspace", session.workspace_path] if session.workspace_path else []
    args += ["submit", spec, "--experiment", experiment, "--quiet"]
    for p in params:
        args += ["--param", p]
    if continue_on_step_failure:
        args.append("--continue-on-step-failure")
    if regenerate_outputs:
        args.append("--regenerate-outputs")
    run_id, printed, code = detach.start_detached(args)
    if printed:
        click.echo(printed, nl=False, err=True)
    if run_id is None:
        click.get_current_context().exit(code if code else exit_codes.FAILED)
    click.echo(run_id)
    click.echo(f"The run goes on in the background. Follow it with: amlpipe logs {run_id} --follow", err=True)
