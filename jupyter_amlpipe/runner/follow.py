"""Following a run from its events: what ``wait_for_completion(show_output=True)`` and the CLI print.

In a terminal the step lines and a summary are printed as they come. In a
notebook a ``tqdm.auto`` progress bar of steps done out of all steps is shown
as well, above the same lines.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from jupyter_amlpipe.runner.runs import ACTIVE, TERMINAL, reconcile


def _print(out: TextIO, text: str) -> None:
    out.write(text)
    out.flush()


def in_notebook() -> bool:
    """True inside a Jupyter kernel; checked through ``sys.modules`` so IPython is never imported here."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return False
    try:
        shell = get_ipython()
    except Exception:
        return False
    return type(shell).__name__ == "ZMQInteractiveShell"


class _StepBar:
    """A tqdm.auto bar of steps done out of all steps (a notebook widget bar in Jupyter)."""

    def __init__(self, workspace: Any, root_id: str) -> None:
        from tqdm.auto import tqdm

        self.total = len(workspace._store.child_runs(root_id))
        self.done: set[str] = set()
        self.bar = tqdm(total=self.total, desc="Steps", unit="step", leave=True)

    def event(self, event: dict[str, Any], root_id: str) -> None:
        data = event["data"]
        if event["kind"] != "status" or event["run_id"] == root_id or data.get("status") not in TERMINAL:
            return
        if event["run_id"] not in self.done:
            self.done.add(event["run_id"])
            self.bar.update(1)
            self.bar.set_postfix_str(f"{data.get('step')}: {data.get('status')}", refresh=True)

    def close(self, status: str) -> None:
        self.bar.set_postfix_str(status, refresh=True)
        self.bar.close()


def follow(
    workspace: Any,
    root_id: str,
    only_run: str | None = None,
    show_output: bool = True,
    timeout_seconds: float | None = None,
    out: TextIO | None = None,
    poll: float = 0.1,
) -> str:
    """Wait for a run (or one of its step runs) to end; print its progress if asked. Returns the status."""
    out = out or sys.stdout
    bar = _StepBar(workspace, root_id) if show_output and only_run is None and in_notebook() else None
    try:
        status = _follow(workspace, root_id, only_run, show_output, timeout_seconds, out, poll, bar)
    except BaseException:
        if bar is not None:
            bar.close("interrupted")
        raise
    if bar is not None:
        bar.close(status)
    return status


def _follow(
    workspace: Any,
    root_id: str,
    only_run: str | None,
    show_output: bool,
    timeout_seconds: float | None,
    out: TextIO,
    poll: float,
    bar: _StepBar | None,
) -> str:
    store = workspace._store
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    after = 0
    target = only_run or root_id
    if show_output:
        _print(out, f"PipelineRunId: {root_id}\nDetails: amlpipe show {root_id}\n")
    while True:
        if show_output:
            for event in store.events(root_id, after):
                after = event["seq"]
                if bar is not None:
                    bar.event(event, root_id)
                if only_run is None or event["run_id"] == only_run:
                    _print(out, _render(event, root_id))
        rec = store.get_run(target)
        if rec["status"] not in TERMINAL:
            rec = reconcile(workspace, rec)
        if rec["status"] in TERMINAL:
            if show_output:
                while batch := store.events(root_id, after):
                    for event in batch:
                        after = event["seq"]
                        if bar is not None:
                            bar.event(event, root_id)
                        if only_run is None or event["run_id"] == only_run:
                            _print(out, _render(event, root_id))
                _print(out, _summary(workspace, rec))
            return str(rec["status"])
        if deadline is not None and time.monotonic() > deadline:
            if show_output:
                _print(out, f"Timed out of waiting. Status: {rec['status']}.\n")
            return str(rec["status"])
        runner = ACTIVE.get(root_id)
        if runner is None:
            time.sleep(poll)
        elif show_output or only_run:  # print as it comes; wake at once when the run ends
            runner.done.wait(poll)
        else:
            runner.done.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))


def _render(event: dict[str, Any], root_id: str) -> str:
    data = event["data"]
    kind = event["kind"]
    step = data.get("step")
    if kind == "log":
        prefix = f"[{step}] "
        lines = data["text"].splitlines()
        return "".join(f"{prefix}{line}\n" for line in lines)
    if kind == "status":
        if event["run_id"] == root_id:
            return ""
        line = f"StepRun({step}) Status: {data['status']}"
        if data.get("reused_from"):
            line = f"StepRun({step}) reused (from {data['reused_from']})"
        if data.get("duration") is not None and data["status"] in TERMINAL:
            line += f" ({data['duration']:.2f} s)"
        if data.get("error") and data["status"] == "Failed":
            first = str(data["error"]).splitlines()[0]
            line += f"\n  {first}"
        return line + "\n"
    if kind == "metric":
        return f"[{step or 'pipeline'}] metric {data['name']} = {data['value']}\n"
    return ""


def _summary(workspace: Any, rec: dict[str, Any]) -> str:
    lines = [
        "",
        f"{'PipelineRun' if rec['kind'] == 'pipeline' else 'StepRun'} Execution Summary",
        "=" * 30,
        f"{'PipelineRun' if rec['kind'] == 'pipeline' else 'StepRun'}( {rec['id']} ) Status: {rec['status']}",
    ]
    if rec["kind"] == "pipeline":
        for child in workspace._store.child_runs(rec["id"]):
            dur = ""
            if child["started"] and child["ended"]:
                dur = f" {child['ended'] - child['started']:.2f} s"
            lines.append(f"  {child['name']}: {child['status']}{dur}")
    if rec["error"] and rec["status"] == "Failed":
        lines.append(f"Error: {rec['error']}")
    if rec["kind"] == "pipeline" and rec["status"] in ("Failed", "Canceled"):
        lines.append(f"Resume it (finished steps are reused): amlpipe resume {rec['id']}")
    return "\n".join(lines) + "\n\n"
