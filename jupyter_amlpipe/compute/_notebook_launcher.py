"""The process a notebook step runs in: papermill executes the notebook.

``python -m jupyter_amlpipe.compute._notebook_launcher SPEC.json``. Cell output
goes to this process's stdout/stderr (the step's logs). When a cell raises, the
error names the cell (counted as in the user's notebook, without papermill's
injected parameters cell) and the exception, and is recorded on the step run.

This is the cold path: it imports papermill and starts a fresh kernel. A warm
launcher (:mod:`jupyter_amlpipe.compute._warm_launcher`) runs the same
:func:`run_notebook` on a kernel it started ahead of time.

The module itself imports only the standard library, so the runner can use
:func:`kernel_name_for` without loading papermill.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

DEFAULT_KERNEL = "python3"

# What papermill and nbformat import but a notebook step never uses. Blocking them
# (an ImportError, which papermill and jsonschema handle) saves about 2 s per step
# on a 2-core machine: rfc3987-syntax builds a grammar at import (jsonschema's
# optional "iri" format check, through nbformat), and papermill imports the
# clients of every remote store (Azure, S3, GCS, HDFS, GitHub) at import. Steps
# read and write local notebooks only; the kernel, a separate process, is not
# affected.
UNUSED_MODULES = ("rfc3987_syntax", "azure", "boto3", "botocore", "gcsfs", "pyarrow", "github")


def block_unused_imports() -> None:
    """Make the imports of :data:`UNUSED_MODULES` fail fast in this process."""
    for name in UNUSED_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def import_papermill() -> None:
    """Import what :func:`run_notebook` uses (a warm launcher does it before it gets a step)."""
    block_unused_imports()
    import papermill.execute  # noqa: F401
    from jupyter_client.manager import KernelManager  # noqa: F401


def kernel_name_for(notebook: str | os.PathLike[str], explicit: str | None) -> str:
    """The kernel a notebook step runs on: the step's ``kernel_name``, else the notebook's kernelspec, else python3."""
    if explicit:
        return explicit
    try:
        with open(notebook, encoding="utf-8") as f:
            name = json.load(f).get("metadata", {}).get("kernelspec", {}).get("name")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_KERNEL
    return name if isinstance(name, str) and name else DEFAULT_KERNEL


def _kernel_installed(name: str) -> bool:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return False
    return True


def choose_kernel(spec: dict[str, Any]) -> str:
    """The kernel for this step. A notebook's kernelspec that is not installed here falls back to python3."""
    notebook = os.path.join(spec["cwd"], spec["notebook"])
    name = kernel_name_for(notebook, spec.get("kernel_name"))
    if not spec.get("kernel_name") and name != DEFAULT_KERNEL and not _kernel_installed(name):
        print(
            f"Notebook {spec['notebook']!r} asks for kernel {name!r}, which is not installed here: "
            f"running it on {DEFAULT_KERNEL!r}. Set NotebookStep(kernel_name=...) to choose one.",
            file=sys.stderr,
        )
        return DEFAULT_KERNEL
    return name


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


KERNEL_DIR_PREFIX = "amlpipe-kernel-"
_MAX_SOCKET_ROOT = 60  # a Unix socket path holds at most 107 bytes: keep room for the folder and file names


def socket_root() -> str:
    """Where kernel socket folders go: the temporary folder, or /tmp when that path is too long for sockets."""
    import tempfile

    root = tempfile.gettempdir()
    if len(root) > _MAX_SOCKET_ROOT and os.access("/tmp", os.W_OK):
        return "/tmp"
    return root


def sweep_kernel_folders(root: str | None = None) -> None:
    """Remove the socket folders of launchers that are gone (killed on cancel, say): ``amlpipe-kernel-<pid>-*``."""
    import glob

    for folder in glob.glob(os.path.join(root or socket_root(), KERNEL_DIR_PREFIX + "*")):
        pid = os.path.basename(folder)[len(KERNEL_DIR_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # alive (another user's): not ours to remove


def kernel_manager(kernel_name: str) -> Any:
    """A kernel reached over IPC sockets in a private folder: nothing listens on the network.

    The folder (sockets and connection file) is named after this process, so a
    later launcher removes it if this one is killed before it can.
    """
    import tempfile

    from jupyter_client.manager import KernelManager

    sweep_kernel_folders()
    sockets = tempfile.mkdtemp(prefix=f"{KERNEL_DIR_PREFIX}{os.getpid()}-", dir=socket_root())
    return KernelManager(
        kernel_name=kernel_name,
        transport="ipc",
        ip=os.path.join(sockets, "kernel"),
        connection_file=os.path.join(sockets, "connection.json"),
    )


def run_notebook(spec: dict[str, Any], km: Any, kernel_name: str) -> int:
    """Execute the step's notebook with papermill on ``km`` (started here if it has no kernel yet); 0 on success.

    The kernel is shut down afterwards and its socket folder removed; the
    executed notebook is written to ``spec["output"]`` and copied to each of
    ``spec["copy_to"]``.
    """
    import_papermill()
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output = spec["output"]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    notebook = os.path.join(spec["cwd"], spec["notebook"])
    try:
        papermill.execute_notebook(
            notebook,
            output,
            parameters=spec["parameters"],
            kernel_name=kernel_name,
            km=km,
            language=None if spec.get("kernel_name") or kernel_name != DEFAULT_KERNEL else "python",
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


def exit_now(code: int) -> None:
    """End the process once its work is written: skip the interpreter's teardown (zmq contexts, module
    cleanup), which can take longer than the notebook. Everything the step wrote is closed by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def read_spec(path: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return spec


def main(argv: list[str]) -> int:
    spec = read_spec(argv[0])
    import_papermill()
    kernel_name = choose_kernel(spec)
    return run_notebook(spec, kernel_manager(kernel_name), kernel_name)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
