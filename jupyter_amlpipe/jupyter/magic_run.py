"""Running steps from the notebook and telling what failed, at which line of which cell."""

from __future__ import annotations

import re
from typing import Any

from jupyter_amlpipe.jupyter.cell_steps import CELL_SCRIPT
from jupyter_amlpipe.jupyter.magic_state import NotebookPipeline

__all__ = ["cell_line_of_failure", "failure_report", "run_step"]

_SCRIPT_FRAME = re.compile(r'File "[^"]*' + re.escape(CELL_SCRIPT) + r'", line (\d+)')
_NOTEBOOK_FRAME = re.compile(r"(?:Cell In\[\d+\]|Input In \[\d+\]), line (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cell_line_of_failure(text: str, notebook: bool) -> int | None:
    """The line of the cell body where a step's traceback points (the innermost frame in the cell)."""
    pattern = _NOTEBOOK_FRAME if notebook else _SCRIPT_FRAME
    found = pattern.findall(_ANSI.sub("", text))
    return int(found[-1]) if found else None


def _last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in _ANSI.sub("", text).splitlines() if ln.strip()]
    for line in reversed(lines):
        looks_like_error = re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line) or ": " in line[:80]
        if looks_like_error and not line.startswith(("File ", "Cell In", "---")):
            return line
    return lines[-1] if lines else ""


def failure_report(state: NotebookPipeline, run: Any) -> str:
    """One message for a failed run: each failed step, its error and, for cell steps, the cell's line."""
    lines = [f"Run {run.id} of experiment {run.experiment.name!r} ended {run.get_status()}."]
    for step_run in run.get_steps():
        if step_run.get_status() != "Failed":
            continue
        spec = state.spec(step_run.name)
        stderr = step_run.get_stderr_log()
        error = str(step_run._record().get("error") or "")
        notebook = bool(spec and spec.notebook)
        line_no = cell_line_of_failure(stderr + "\n" + error, notebook)
        # Nothing on stderr (e.g. sys.exit(3)): the recorded error's first line says what ended the step.
        reason = _last_error_line(stderr) if stderr.strip() else (error.strip().splitlines() or [""])[0]
        lines.append(f"Step {step_run.name!r} failed: {reason}")
        if spec is not None and line_no is not None:
            body = spec.body.splitlines()
            code = body[line_no - 1].strip() if 0 < line_no <= len(body) else ""
            lines.append(f"  at line {line_no} of the %%amlstep {step_run.name} cell: {code}")
    lines.append(f"Logs: amlpipe logs {run.id}   (or run.find_step_run(NAME)[0].get_stderr_log())")
    return "\n".join(lines)


def run_step(state: NotebookPipeline, name: str, timeout_seconds: float | None = None) -> Any:
    """Submit the step ``name`` (with its upstream steps) and print its output as it comes; return the run."""
    run = state.submit(names=[name])
    run.wait_for_completion(show_output=True, timeout_seconds=timeout_seconds, raise_on_error=False)
    return run
