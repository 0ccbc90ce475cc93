"""Following a run from its events: what ``wait_for_completion(show_output=True)`` and the CLI print."""

from __future__ import annotations

import time
from typing import Any, TextIO

from jupyter_amlpipe.runner.runs import ACTIVE, TERMINAL, reconcile


def _print(out: TextIO, text: str) -> None:
    out.write(text)
    out.flush()


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
    import sys

    out = out or sys.stdout
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
