"""The package as a whole: light to import, runnable as a module, layered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Libraries that `import jupyter_amlpipe` must not import: front-end, engine and
# I/O libraries are loaded lazily, where they are used.
HEAVY_MODULES = ("IPython", "papermill", "docker", "dask", "pyspark", "duckdb", "jupyter_server", "fsspec", "tqdm")

# Top-level packages that only the optional extras install.
EXTRA_MODULES = (
    "docker",
    "dask",
    "distributed",
    "pyspark",
    "duckdb",
    "adlfs",
    "fastapi",
    "uvicorn",
    "httpx",
    "ipywidgets",
    "anywidget",
    "jupyterlab",
    "jupyter_server",
)


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def test_import_loads_no_heavy_or_optional_library() -> None:
    code = f"import jupyter_amlpipe, sys; bad=[m for m in {HEAVY_MODULES!r} if m in sys.modules]; assert not bad, bad"
    proc = _run([sys.executable, "-c", code])
    assert proc.returncode == 0, _explain(proc)


def test_import_and_help_work_without_any_extra() -> None:
    # Make every extra's package unimportable, as on a plain `pip install jupyter_amlpipe`.
    code = textwrap.dedent(
        f"""
        import runpy, sys
        BLOCKED = {EXTRA_MODULES!r}

        class BlockExtras:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
                return None

        sys.meta_path.insert(0, BlockExtras())
        import jupyter_amlpipe
        sys.argv = ["amlpipe", "--help"]
        try:
            runpy.run_module("jupyter_amlpipe", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        """
    )
    proc = _run([sys.executable, "-c", code])
    assert proc.returncode == 0, _explain(proc)
    assert "amlpipe" in proc.stdout, _explain(proc)


def test_python_m_help_names_the_command() -> None:
    proc = _run([sys.executable, "-m", "jupyter_amlpipe", "--help"])
    assert proc.returncode == 0, _explain(proc)
    assert "amlpipe" in proc.stdout, _explain(proc)


def test_layers_and_forbidden_imports_hold() -> None:
    pytest.importorskip("importlinter", reason='import-linter is not installed: pip install -e ".[dev]"')
    script = Path(sys.executable).with_name("lint-imports")
    command = str(script) if script.exists() else shutil.which("lint-imports")
    assert command, "import-linter is importable but its `lint-imports` command is not on PATH"
    proc = _run([command, "--no-cache"], timeout=300)
    assert proc.returncode == 0, _explain(proc)
