"""The process a notebook step runs in: papermill executes the notebook.

``python -m jupyter_amlpipe.compute._notebook_launcher SPEC.json``. Cell output
goes to this process's stdout/stderr (the step's logs). When a cell raises, the
error names the cell (counted as in the user's notebook, without papermill's
injected parameters cell) and the exception, and is recorded on the step run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any


def _record_error(message: str) -> None:
    path = os.environ.get("AMLPIPE_CONTEXT_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"type": "error", "message": message}) + "\n")


def _user_cell_number(output: str, cell_index: int) -> int:
    """1-based position of the failing cell among the user's own cells."""
    try:
        import nbformat

        nb = nbformat.read(output, as_version=4)  # type: ignore[no-untyped-call]
        injected = sum(
            1 for c in nb.cells[:cell_index] if "injected-parameters" in c.get("metadata", {}).get("tags", [])
        )
        return cell_index - injected + 1
    except Exception:
        return cell_index + 1


def _kernel_manager(kernel_name: str) -> Any:
    """A kernel reached over IPC sockets in a private folder: nothing listens on the network."""
    import tempfile

    from jupyter_client.manager import KernelManager

    sockets = tempfile.mkdtemp(prefix="amlpipe-kernel-")
    return KernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(sockets, "kernel"))


def main(argv: list[str]) -> int:
    spec: dict[str, Any] = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output = spec["output"]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    notebook = os.path.join(spec["cwd"], spec["notebook"])
    kernel_name = spec.get("kernel_name") or "python3"
    km = _kernel_manager(kernel_name)
    try:
        papermill.execute_notebook(
            notebook,
            output,
            parameters=spec["parameters"],
            kernel_name=kernel_name,
            km=km,
            language=None if spec.get("kernel_name") else "python",
            progress_bar=False,
            stdout_file=sys.stdout,
            stderr_file=sys.stderr,
            cwd=spec["cwd"],
        )
        code = 0
    except PapermillExecutionError as exc:
        number = _user_cell_number(output, exc.cell_index)
        message = (
            f"Notebook {spec['notebook']!r} failed in cell {number} (execution count {exc.exec_count}): "
            f"{exc.ename}: {exc.evalue}"
        )
        print(message, file=sys.stderr)
        print("".join(exc.traceback[-3:]) if exc.traceback else "", file=sys.stderr)
        _record_error(message)
        code = 1
    except Exception as exc:
        message = f"Notebook {spec['notebook']!r} could not run: {type(exc).__name__}: {exc}"
        print(message, file=sys.stderr)
        _record_error(message)
        code = 1
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        shutil.rmtree(os.path.dirname(km.ip), ignore_errors=True)
    if Path(output).is_file():
        for target in spec.get("copy_to", []):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(output, target)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
