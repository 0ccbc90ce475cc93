"""``amlpipe demo [DIR]``: copy the quickstart example out, run it, and summarise the run.

The example (``jupyter_amlpipe/examples/quickstart``) is copied into DIR, a
workspace is created in ``DIR/ws`` with ``DIR/.azureml/config.json`` pointing
to it, and ``DIR/pipeline.py`` is loaded the way ``amlpipe submit`` loads it:
it uploads the shipped CSV to the default datastore and builds the pipeline,
which is then submitted and followed in this process. Running the demo again
in the same DIR keeps the workspace (and its earlier runs) and refreshes the
example files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jupyter_amlpipe.cli import exit_codes, render

if TYPE_CHECKING:
    from jupyter_amlpipe.runner.runs import PipelineRun

DEFAULT_DIR = "amlpipe-demo"
WORKSPACE_NAME = "demo"
EXPERIMENT = "quickstart"
# How many characters of a metric value the summary shows (lists and tables are abbreviated).
_VALUE_WIDTH = 70


@click.command("demo")
@click.argument("directory", default=DEFAULT_DIR, type=click.Path(file_okay=False, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Do not stream the steps' output; print only the summary.")
def demo(directory: Path, quiet: bool) -> None:
    """Run the quickstart example pipeline on shipped sample data, in DIR (default ./amlpipe-demo).

    The pipeline cleans product reviews (a script step), trains a sentiment
    model (a notebook step run by papermill), counts rows (a command step) and
    evaluates the model (a script step). Exit code 0 when the run Finished,
    1 when it Failed.

    \b
    Example:
      amlpipe demo ./my-demo --quiet
    """
    status = run_demo(directory, quiet=quiet)
    click.get_current_context().exit(exit_codes.for_status(status))


def run_demo(directory: str | os.PathLike[str], quiet: bool = False) -> str:
    """Copy, set up, submit and summarise; return the run's final status."""
    from jupyter_amlpipe.cli.loader import load_pipeline
    from jupyter_amlpipe.examples import copy_example
    from jupyter_amlpipe.runner.experiment import Experiment
    from jupyter_amlpipe.workspace.workspace import Workspace

    os.environ["AMLPIPE_STARTED_BY"] = "cli"
    folder = Path(directory).expanduser().resolve()
    copy_example(folder)
    ws_folder = folder / "ws"
    existed = (ws_folder / "workspace.json").is_file()
    ws = Workspace.create(WORKSPACE_NAME, path=ws_folder, exist_ok=True)
    config = ws.write_config(folder)
    _say(quiet, f"Copied the quickstart example into {_show_path(folder)}")
    _say(
        quiet,
        f"{'Using' if existed else 'Created'} workspace {ws.name!r} in {_show_path(ws.path)} "
        f"(config: {_show_path(config)})",
    )

    # Loaded as `amlpipe submit` loads it: the file uploads the CSV and builds the pipeline.
    _name, pipeline = load_pipeline(folder / "pipeline.py", "pipeline")
    _say(quiet, f"Uploaded data/reviews.csv to datastore {ws.get_default_datastore().name!r} as reviews/reviews.csv")
    _say(quiet, f"Submitting pipeline with steps: {', '.join(s.name for s in pipeline.steps)}\n")

    run = Experiment(ws, EXPERIMENT).submit(pipeline)
    status = str(run.wait_for_completion(show_output=not quiet, raise_on_error=False))
    click.echo(summary(run, folder))
    return status


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        click.echo(text)


def _show_path(path: str | os.PathLike[str]) -> str:
    """A path relative to the current folder when it is below it, else absolute."""
    absolute = Path(path).resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _metric_text(value: Any) -> str:
    if isinstance(value, list) and len(value) > 4 and all(isinstance(v, (int, float)) for v in value):
        return f"[{len(value)} values: {value[0]} ... {value[-1]}]"
    text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "), default=str)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def _metrics_lines(metrics: dict[str, Any]) -> list[str]:
    return [f"{name} = {_metric_text(value)}" for name, value in metrics.items()]


def summary(run: PipelineRun, folder: Path) -> str:
    """The run summary: steps, statuses, durations, metrics, where outputs are, what to try next."""
    ws = run.workspace
    run_id = run.id
    record = ws._store.get_run(run_id)
    params = record["details"].get("parameters") or {}
    lines = [
        "",
        "Demo run summary",
        "================",
        render.fields(
            [
                ("Pipeline run", run_id),
                ("Experiment", record["experiment"]),
                ("Status", record["status"]),
                ("Duration", render.run_duration(record)),
                ("Parameters", ", ".join(f"{k}={render.value(v)}" for k, v in sorted(params.items())) or None),
                ("Pipeline metrics", ", ".join(_metrics_lines(run.get_metrics())) or None),
            ]
        ),
        "",
    ]
    steps = list(run.get_steps())
    rows = []
    for step in steps:
        rec = ws._store.get_run(step.id)
        rows.append((step.name, rec["status"], render.run_duration(rec), render.first_line(rec["error"], 60)))
    lines += [render.table(["STEP", "STATUS", "DURATION", "ERROR"], rows), ""]

    lines.append("Reuse")
    width = max((len(step.name) for step in steps), default=0)
    lines += [f"  {step.name:<{width}}  {_reuse_text(step)}" for step in steps]
    lines.append("")

    lines.append("Metrics")
    for step in steps:
        metrics = step.get_metrics()
        if metrics:
            lines.append(f"  {step.name}:")
            lines += [f"    {line}" for line in _metrics_lines(metrics)]
    lines.append("")

    outputs = _outputs(ws, steps)
    if outputs:
        lines.append("Outputs")
        width = max(len(label) for label, _ in outputs)
        lines += [f"  {label:<{width}}  {where}" for label, where in outputs]
        lines.append("")

    if record["status"] == "Failed":
        lines += [f"The run failed: {render.first_line(record['error'], 200) or 'see the step logs'}", ""]
    cd = _show_path(folder)
    lines += [
        "Next, try:",
        *([f"  cd {cd}"] if cd != "." else []),
        "  amlpipe runs",
        f"  amlpipe show {run_id}",
        f"  amlpipe logs {run_id} train",
        f"  amlpipe why {run_id}",
        "  amlpipe submit pipeline.py:pipeline --experiment quickstart --param lr=0.05",
        "  jupyter lab    (the Pipelines panel in the left sidebar shows this run)",
    ]
    return "\n".join(lines)


def _reuse_text(step: Any) -> str:
    """``reused (from STEP_RUN_ID)``, or why the step ran (the differences from its closest earlier execution)."""
    info = step.get_reuse_info()
    if info["reused"]:
        return f"reused (from {info['reused_from']})"
    if not info["reasons"]:
        return "did not run"
    return render.first_line("ran: " + "; ".join(info["reasons"]), _VALUE_WIDTH + 30) or "ran"


def _outputs(ws: Any, steps: list[Any]) -> list[tuple[str, str]]:
    """(label, location) of each step's data outputs and of the files kept with its run."""
    found: list[tuple[str, str]] = []
    for step in steps:
        if step.get_status() != "Finished":
            continue
        for name, port in step.get_outputs().items():
            local = port.datastore.local_path(port.path_on_datastore)
            where = _show_path(local) if local is not None else f"{port.datastore_name}:{port.path_on_datastore}"
            found.append((f"{step.name} -> {name}", where))
        for file_name in step.get_file_names():
            if file_name.startswith(("outputs/", "notebooks/")):
                found.append((f"{step.name} {file_name}", _show_path(ws.run_dir(step.id) / file_name)))
    return found


def register(group: click.Group) -> None:
    """Add ``demo`` to the ``amlpipe`` command group."""
    group.add_command(demo)


__all__ = ["demo", "register", "run_demo", "summary"]
