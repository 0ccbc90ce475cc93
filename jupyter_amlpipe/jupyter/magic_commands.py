"""The subcommands of the ``%amlpipe`` line magic: a registry of name -> (help, parser, handler).

``%amlpipe help`` lists them; ``%amlpipe SUBCOMMAND --help`` explains one; an
unknown subcommand is answered with the list.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, did_you_mean
from jupyter_amlpipe.jupyter.magic_args import ArgumentError, MagicParser, parse_assignments, parse_value
from jupyter_amlpipe.jupyter.magic_state import NotebookPipeline

__all__ = ["COMMANDS", "Command", "dispatch", "overview"]

Handler = Callable[[NotebookPipeline, argparse.Namespace], None]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    configure: Callable[[MagicParser], None]
    handler: Handler

    def parser(self) -> MagicParser:
        p = MagicParser(prog=f"%amlpipe {self.name}", description=self.summary)
        self.configure(p)
        return p


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)  # type: ignore[no-untyped-call]


def _show_widget(kind: str, target: Any) -> None:
    """Show the DAG widget or the run widget; plain text when the widgets cannot be loaded."""
    try:
        from jupyter_amlpipe.jupyter import widgets

        widget_class = widgets.DagWidget if kind == "dag" else widgets.RunDetails
    except ImportError as exc:  # the [jupyter] extra is missing
        print(f"(widgets unavailable: {exc}; pip install 'jupyter_amlpipe[jupyter]')", file=sys.stderr)
        print(repr(target))
        return
    try:
        if kind == "dag":
            _display(widget_class(target))
        else:
            widget_class(target).show()
    except Exception as exc:  # a widget that cannot draw must not hide the run it was asked to show
        print(f"(the widget could not be shown: {type(exc).__name__}: {exc})", file=sys.stderr)
        print(repr(target))


# -- handlers --------------------------------------------------------------------------------
def _cmd_help(state: NotebookPipeline, args: argparse.Namespace) -> None:
    if args.subcommand:
        if args.subcommand not in COMMANDS:
            raise ArgumentError(_unknown(args.subcommand))
        print(COMMANDS[args.subcommand].parser().format_help())
        return
    print(overview())


def _cmd_show(state: NotebookPipeline, args: argparse.Namespace) -> None:
    if args.run:
        if not state.runs:
            raise DefinitionError("No run from this notebook yet: `%amlpipe submit EXPERIMENT` starts one.")
        _show_widget("dag", state.runs[-1])
    else:
        _show_widget("dag", state.pipeline())


def _cmd_submit(state: NotebookPipeline, args: argparse.Namespace) -> None:
    params = {k: parse_value(v) for k, v in parse_assignments(args.param, "--param", "%amlpipe submit")}
    run = state.submit(args.experiment, pipeline_parameters=params, regenerate_outputs=args.regenerate_outputs)
    if args.o:
        state.user_ns[args.o] = run
    print(f"Submitted run {run.id} of experiment {args.experiment!r}" + (f" (in {args.o})." if args.o else "."))
    _show_widget("run", run)


def _duration(rec: dict[str, Any]) -> str:
    started, ended = rec.get("started"), rec.get("ended")
    if not started:
        return ""
    return f"{(ended or time.time()) - started:.1f}s"


def _cmd_status(state: NotebookPipeline, args: argparse.Namespace) -> None:
    if not state.runs:
        print("No run from this notebook yet: `%amlpipe submit EXPERIMENT`, or `%%amlstep NAME --run` in a cell.")
        return
    run = state.runs[-1]
    print(f"Run {run.id} ({run.experiment.name}): {run.get_status()}")
    for step_run in run.get_steps():
        rec = step_run._record()
        reused = step_run.get_reuse_info()
        note = f"reused from {reused.get('reused_from')}" if reused.get("reused") else _duration(rec)
        print(f"  {step_run.name:<20} {step_run.get_status():<10} {note}")


def _cmd_steps(state: NotebookPipeline, args: argparse.Namespace) -> None:
    steps = state.steps
    if not steps:
        print("No steps yet: declare one with a `%%amlstep NAME` cell.")
        return
    for name, step in steps.items():
        spec = state.spec(name)
        kind = "notebook cell" if spec and spec.notebook else ("cell" if spec else type(step).__name__)
        ins = [_input_label(state, i) for i in step.inputs]
        parts = [f"{name} ({kind})"]
        if ins:
            parts.append("inputs: " + ", ".join(ins))
        if step.outputs:
            parts.append("outputs: " + ", ".join(o.name for o in step.outputs))
        if step.params:
            parts.append(
                "params: " + ", ".join(f"{k}={getattr(v, 'default_value', v)!r}" for k, v in step.params.items())
            )
        if step._run_after:
            parts.append("after: " + ", ".join(s.name for s in step._run_after))
        if step.compute_target is not None:
            parts.append(f"compute: {getattr(step.compute_target, 'name', step.compute_target)}")
        if not step.allow_reuse:
            parts.append("no reuse")
        print("  ".join(parts))
        print(f"    source: {step.source_directory}")


def _input_label(state: NotebookPipeline, item: Any) -> str:
    from jupyter_amlpipe.core.data import DataReference, PipelineData, data_name

    if isinstance(item, PipelineData):
        producers = item._root()._producers
        return f"{producers[-1].name}.{item.name}" if producers else item.name
    if isinstance(item, DataReference):
        return f"{data_name(item)}={getattr(item.datastore, 'name', item.datastore)}:{item.path_on_datastore or ''}"
    return data_name(item)


def _cmd_clear(state: NotebookPipeline, args: argparse.Namespace) -> None:
    if args.steps:
        for name in args.steps:
            state.remove_step(name)
        print(f"Removed {', '.join(args.steps)}; {len(state.steps)} step(s) left.")
    else:
        count = len(state.steps)
        state.clear()
        print(f"Cleared the notebook's pipeline ({count} step(s) forgotten).")


def _cmd_runs(state: NotebookPipeline, args: argparse.Namespace) -> None:
    rows = state.workspace._store.list_runs(experiment=args.experiment, limit=args.n)
    if not rows:
        print("No runs in this workspace yet.")
        return
    mine = {r.id for r in state.runs}
    for rec in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec["created"]))
        mark = "*" if rec["id"] in mine else " "
        print(f"{mark} {rec['id']}  {rec['experiment']:<20} {rec['status']:<10} {when}  {_duration(rec)}")
    if mine & {r["id"] for r in rows}:
        print("(* submitted from this notebook)")


def _cmd_pipeline(state: NotebookPipeline, args: argparse.Namespace) -> None:
    pipe = state.pipeline()
    if args.o:
        state.user_ns[args.o] = pipe
        print(f"{args.o} = Pipeline of {len(pipe.steps)} step(s): {', '.join(s.name for s in pipe.steps)}")
    else:
        print(f"Pipeline of {len(pipe.steps)} step(s): {', '.join(s.name for s in pipe.steps)}.")
        print("Put it in a variable with `%amlpipe pipeline -o VAR`.")


def _cmd_publish(state: NotebookPipeline, args: argparse.Namespace) -> None:
    published = state.pipeline().publish(args.name, args.description, args.version)
    if args.o:
        state.user_ns[args.o] = published
    print(f"Published {published.name!r} as {published.id}" + (f" (in {args.o})." if args.o else "."))
    print(f"Endpoint: {published.endpoint}")


def _cmd_workspace(state: NotebookPipeline, args: argparse.Namespace) -> None:
    ws = state.use_workspace(args.path, create=args.create) if args.path else state.workspace
    print(f"Workspace {ws.name!r} at {ws.path}")


def _no_args(p: MagicParser) -> None:
    pass


def _help_args(p: MagicParser) -> None:
    p.add_argument("subcommand", nargs="?", help="the subcommand to explain")


def _show_args(p: MagicParser) -> None:
    p.add_argument("--run", action="store_true", help="show the last run of this notebook instead of its pipeline")


def _submit_args(p: MagicParser) -> None:
    p.add_argument("experiment", metavar="EXPERIMENT", help="the experiment the run belongs to")
    p.add_argument("--param", nargs="+", default=[], metavar="K=V", help="pipeline parameter values")
    p.add_argument("-o", metavar="VAR", help="put the PipelineRun in this variable")
    p.add_argument("--regenerate-outputs", action="store_true", help="run every step, reuse nothing")


def _clear_args(p: MagicParser) -> None:
    p.add_argument("steps", nargs="*", metavar="STEP", help="only these steps (default: all)")


def _runs_args(p: MagicParser) -> None:
    p.add_argument("-n", type=int, default=10, help="how many (default 10)")
    p.add_argument("--experiment", help="only this experiment's runs")


def _pipeline_args(p: MagicParser) -> None:
    p.add_argument("-o", metavar="VAR", help="put the Pipeline in this variable")


def _publish_args(p: MagicParser) -> None:
    p.add_argument("name", metavar="NAME", help="the published pipeline's name")
    p.add_argument("--description", help="what it does")
    p.add_argument("--version", help="a version label")
    p.add_argument("-o", metavar="VAR", help="put the PublishedPipeline in this variable")


def _workspace_args(p: MagicParser) -> None:
    p.add_argument("path", nargs="?", metavar="PATH", help="a workspace folder, or a folder with .azureml/config.json")
    p.add_argument("--create", action="store_true", help="create a workspace at PATH when there is none")


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in [
        Command("help", "List the subcommands, or explain one: %amlpipe help SUBCOMMAND.", _help_args, _cmd_help),
        Command("show", "Show the notebook's pipeline as a live DAG widget.", _show_args, _cmd_show),
        Command(
            "submit",
            "Submit the notebook's pipeline and show the run widget; returns at once.",
            _submit_args,
            _cmd_submit,
        ),
        Command("status", "Status of the last run from this notebook, step by step.", _no_args, _cmd_status),
        Command(
            "steps", "List the declared steps with their inputs, outputs and source folders.", _no_args, _cmd_steps
        ),
        Command("clear", "Forget the declared steps (all, or the ones named).", _clear_args, _cmd_clear),
        Command("runs", "List the workspace's recent pipeline runs.", _runs_args, _cmd_runs),
        Command(
            "pipeline", "Build the notebook's Pipeline object: %amlpipe pipeline -o VAR.", _pipeline_args, _cmd_pipeline
        ),
        Command(
            "publish",
            "Publish the notebook's pipeline (frozen code) for REST callers: %amlpipe publish NAME.",
            _publish_args,
            _cmd_publish,
        ),
        Command(
            "workspace",
            "Show the workspace in use, or choose one: %amlpipe workspace PATH [--create].",
            _workspace_args,
            _cmd_workspace,
        ),
    ]
}


def overview() -> str:
    """What ``%amlpipe help`` prints."""
    width = max(len(n) for n in COMMANDS)
    lines = ["%amlpipe SUBCOMMAND [arguments]   (%amlpipe SUBCOMMAND --help for details)", ""]
    lines += [f"  {name:<{width}}  {c.summary}" for name, c in COMMANDS.items()]
    lines += ["", "Cells: %%amlstep NAME [--inputs VAR=REF ...] [--outputs VAR ...] ...  (%%amlstep --help)"]
    return "\n".join(lines)


def _unknown(name: str) -> str:
    return f"%amlpipe: unknown subcommand {name!r}.{did_you_mean(name, COMMANDS)}\n\n{overview()}"


def dispatch(state: NotebookPipeline, argv: list[str]) -> None:
    """Run ``%amlpipe`` with the split line ``argv``."""
    if not argv or argv[0] in ("-h", "--help"):
        print(overview())
        return
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        raise ArgumentError(_unknown(name))
    command = COMMANDS[name]
    args = command.parser().parse_args(rest)
    command.handler(state, args)
