"""Every example notebook in notebooks/ runs top to bottom in a fresh kernel, with nbval.

Each notebook is copied into the test's ``tmp_path`` and run there by nbval in lax
mode (``--nbval-lax``) in its own pytest process, with this checkout on
PYTHONPATH: a cell that raises fails the test with nbval's report, and the cells
tagged ``nbval-check-output`` must print what the notebook shows (the statuses
of a finished run, its metrics, why steps ran). The notebooks are found by glob,
so a new notebook is tested as soon as it is added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell; generous for a loaded 2-core machine
NOTEBOOK_TIMEOUT = 900  # seconds for a whole notebook
# Variables of the surrounding pytest (and of xdist) that must not leak into the inner one.
_INNER_PYTEST_DROPS = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER")


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INNER_PYTEST_DROPS)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    # The notebooks work in a fresh folder of their own; here it is under tmp_path.
    env["AMLPIPE_QUICKSTART_DIR"] = str(work)
    env["AMLPIPE_REUSE_DIR"] = str(work)
    env["AMLPIPE_WIDGETS_DIR"] = str(work)
    return env


def _run_nbval(notebook: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run a copy of ``notebook`` with nbval in ``tmp_path``; return the process and the notebook's work folder."""
    copy = tmp_path / notebook.name
    shutil.copyfile(notebook, copy)
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")  # this checkout's pytest options do not apply here
    work = tmp_path / "work"
    args = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={CELL_TIMEOUT}",
        "-p",
        "no:cacheprovider",
        "-c",
        str(ini),
        "--rootdir",
        str(tmp_path),
        "-v",
        "--color=no",
        copy.name,
    ]
    proc = subprocess.run(
        args,
        cwd=tmp_path,
        env=_env(work),
        capture_output=True,
        text=True,
        timeout=NOTEBOOK_TIMEOUT,
        check=False,
    )
    return proc, work


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT + 60)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(notebook: Path, tmp_path: Path) -> None:
    pytest.importorskip("nbval", reason='nbval is one of the test tools: pip install -e ".[dev]"')
    proc, work = _run_nbval(notebook, tmp_path)
    report = f"nbval on {notebook.name}: exit code {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0, report
    assert " passed" in proc.stdout and " failed" not in proc.stdout, report
    # The notebooks leave nothing behind in this checkout: everything went to their work folders.
    assert not (ROOT / "notebooks" / "ws").exists(), "a notebook wrote a workspace into notebooks/"
    if notebook.stem in ("01-quickstart", "04-reuse"):
        assert (work / ".azureml" / "config.json").is_file(), f"{notebook.name} did not work in {work}"
    if notebook.stem == "03-widgets":
        assert (work / "ws" / "workspace.json").is_file(), f"{notebook.name} did not work in {work}"


def test_the_example_notebooks_compare_what_a_user_sees() -> None:
    import nbformat

    names = [nb.name for nb in NOTEBOOKS]
    assert "01-quickstart.ipynb" in names and "04-reuse.ipynb" in names, names
    for name in ("01-quickstart.ipynb", "04-reuse.ipynb"):
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        checked = [c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", [])]
        assert checked and all(c.get("outputs") for c in checked), f"{name}: no checked cell with stored output"
