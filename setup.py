"""Packaging for jupyter_amlpipe.

The packaging lives here; tool configuration (ruff, mypy, import-linter,
pytest, codespell) lives in pyproject.toml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"

INSTALL_REQUIRES = [
    "papermill>=2.6",
    "nbformat>=5.9",
    "nbclient>=0.10",
    "ipykernel>=6.29",
    "fsspec>=2024.2",
    "pathspec>=0.12",
    "tqdm>=4.66",
    "click>=8.1",
    "xxhash>=3.0",  # DataTransferStep's checksum (XXH3-128)
]

# One extra per engine or front-end; a missing one fails with the exact
# `pip install "jupyter_amlpipe[<extra>]"` to run.
EXTRAS_REQUIRE = {
    "docker": ["docker>=7"],
    "dask": ["dask[distributed]>=2024.1"],
    "spark": ["pyspark>=3.5"],
    "sql": ["duckdb>=1.0"],
    "azure": ["adlfs>=2024.2", "smbprotocol>=1.12", "cryptography>=41"],
    "s3": ["s3fs>=2024.2", "cryptography>=41"],
    "pandas": ["pandas>=2", "pyarrow>=14"],  # pyarrow: parquet datasets
    "server": ["fastapi>=0.110", "uvicorn>=0.29", "httpx>=0.27"],
    "jupyter": ["ipywidgets>=8.1", "anywidget>=0.9", "jupyterlab>=4.2", "jupyter_server>=2.12"],
}
TEST_TOOLS = [
    "pytest>=8",
    "pytest-timeout",
    "pytest-xdist",
    "ruff",
    "mypy",
    "import-linter",
    "codespell[toml]",
    "pre-commit",
    "hypothesis",
    "nbval",
    "playwright",
    "moto[server]>=5",
    "pytest-jupyter[server]>=0.10",
    "schemathesis",
]
EXTRAS_REQUIRE["dev"] = sorted({req for reqs in EXTRAS_REQUIRE.values() for req in reqs}) + TEST_TOOLS

# Examples ship inside the package (`amlpipe` can copy them out); the globs are
# recursive (`**` also matches the examples folder itself).
EXAMPLE_PATTERNS = ["*.py", "*.ipynb", "*.csv", "*.md", ".amlignore"]
PACKAGE_DATA = {
    "jupyter_amlpipe": ["py.typed"] + [f"examples/**/{pattern}" for pattern in EXAMPLE_PATTERNS],
    "jupyter_amlpipe.jupyter.widgets": ["*.js"],  # the widgets' ES modules (anywidget, no build)
}


def _build_labextension() -> None:
    """Build the JupyterLab extension when its assets are missing and Node is on PATH.

    Never fails the install: without Node (or when the build fails) the package
    installs without the Pipelines panel and says how to get it.
    AMLPIPE_SKIP_LABEXTENSION_BUILD=1 skips the build.
    """
    built = HERE / "jupyter_amlpipe" / "labextension" / "package.json"
    script = HERE / "scripts" / "build-labextension"
    if built.is_file() or not script.is_file() or os.environ.get("AMLPIPE_SKIP_LABEXTENSION_BUILD"):
        return
    hint = "install Node.js >= 18 and run scripts/build-labextension, then reinstall"
    if not (shutil.which("node") and shutil.which("npm") and shutil.which("bash")):
        print(f"jupyter_amlpipe: Node.js not found, installing without the JupyterLab panel ({hint})", file=sys.stderr)
        return
    # pip's isolated build environment hides the target environment's packages
    # (JupyterLab, whose core package file the build uses) through PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONHOME")}
    env["PYTHON"] = sys.executable
    try:
        subprocess.run(["bash", str(script)], cwd=HERE, env=env, check=True, timeout=1200)
    except (OSError, subprocess.SubprocessError) as error:
        print(f"jupyter_amlpipe: building the JupyterLab panel failed ({error}); {hint}", file=sys.stderr)


_build_labextension()


def _lab_data_files() -> list[tuple[str, list[str]]]:
    """The built JupyterLab extension and the server-extension config, when the build exists.

    `scripts/build-labextension` (Node) builds jupyter_amlpipe/labextension/; without it
    the package installs without the Pipelines panel (no Node is needed at install time).
    """
    built = HERE / "jupyter_amlpipe" / "labextension"
    if not (built / "package.json").is_file():
        return []
    dest = Path("share") / "jupyter" / "labextensions" / "jupyter-amlpipe"
    grouped: dict[str, list[str]] = {}
    for path in sorted(built.rglob("*")):
        if path.is_file():
            target = dest / path.parent.relative_to(built)
            grouped.setdefault(target.as_posix(), []).append(path.relative_to(HERE).as_posix())
    grouped[dest.as_posix()].append(
        "labextension/install.json"
    )  # how `jupyter labextension list` says it was installed
    config = "jupyter-config/jupyter_server_config.d/jupyter_amlpipe.json"
    grouped["etc/jupyter/jupyter_server_config.d"] = [config]
    return sorted(grouped.items())


setup(
    name="jupyter_amlpipe",
    version="0.1.0",
    description="Local-first, Jupyter-centred replacement for Azure ML SDK v1 pipelines",
    long_description=README.read_text(encoding="utf-8") if README.exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["jupyter_amlpipe", "jupyter_amlpipe.*"]),
    package_data=PACKAGE_DATA,
    include_package_data=True,
    zip_safe=False,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    data_files=_lab_data_files(),
    entry_points={
        "console_scripts": ["amlpipe = jupyter_amlpipe.cli.main:main"],
    },
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Framework :: Jupyter",
        "Framework :: Jupyter :: JupyterLab",
        "Intended Audience :: Science/Research",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Topic :: Scientific/Engineering",
        "Typing :: Typed",
    ],
)
