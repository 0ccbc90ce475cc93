"""What a compute backend is asked to run: one step job, and the handle it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class StepJob:
    """Everything a backend needs to run one step run.

    ``program`` is one of:
    ``{"type": "python", "script": str, "args": [str]}``,
    ``{"type": "shell", "command": str}``, ``{"type": "exec", "argv": [str]}``,
    ``{"type": "module", "module": str, "args": [str], "description": str}`` (``python -m module args``),
    ``{"type": "notebook", "notebook": str, "parameters": {...}, "output": str,
    "copy_to": [str], "kernel_name": str | None}``.
    """

    step_run_id: str
    step_name: str
    root_run_id: str
    program: dict[str, Any]
    workdir: Path
    run_dir: Path
    env: dict[str, str]
    stdout_path: Path
    stderr_path: Path
    context_file: Path
    timeout_seconds: float | None = None
    environment: Any = None
    mounts: dict[str, Path] = field(default_factory=dict)


class JobHandle(Protocol):
    """A started job. ``wait`` blocks until the job ends and gives its exit code."""

    def wait(self) -> int: ...

    def cancel(self) -> None: ...

    @property
    def description(self) -> str: ...
