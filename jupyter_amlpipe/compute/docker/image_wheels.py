"""Wheels for notebook support (papermill, ipykernel), downloaded once on the host and cached.

Notebook steps need papermill and ipykernel inside the image. They are
downloaded here with the host's pip for the container's Python version and
platform (``pip download --only-binary=:all: --python-version ...``) into
``$AMLPIPE_HOME/docker/notebook-wheels/<tag>/``, once per Python version and
platform, and installed in the image with ``--no-index``: the build itself
needs no network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_amlpipe.compute.docker.image_spec import NOTEBOOK_PACKAGES
from jupyter_amlpipe.errors import ComputeError

__all__ = ["docker_home", "notebook_wheels", "python_of_image"]

_PROBE = (
    "import json, os, platform, sys\n"
    "try:\n    libc = os.confstr('CS_GNU_LIBC_VERSION') or ''\nexcept (ValueError, OSError):\n    libc = ''\n"
    "print(json.dumps({'version': '%d.%d' % sys.version_info[:2], 'machine': platform.machine(), 'libc': libc}))"
)
_LOCK = threading.Lock()


def docker_home() -> Path:
    """``$AMLPIPE_HOME/docker`` (default ``~/.amlpipe/docker``): caches of the Docker compute target."""
    home = os.environ.get("AMLPIPE_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".amlpipe") / "docker"


def python_of_image(client: Any, image_id: str) -> dict[str, str]:
    """The Python version, machine and C library of ``image_id``'s ``python3`` (cached by image id)."""
    cache = docker_home() / "python-of-image.json"
    known: dict[str, dict[str, str]] = {}
    if cache.is_file():
        try:
            known = json.loads(cache.read_text(encoding="utf-8"))
        except ValueError:
            known = {}
    if image_id in known:
        return known[image_id]
    try:
        out = client.containers.run(image_id, ["python3", "-c", _PROBE], remove=True, network_mode="none")
    except Exception as exc:
        raise ComputeError(
            f"Image {image_id[:19]} has no working python3 ({type(exc).__name__}: {str(exc)[:300]}). "
            "A base image needs python3 with the venv module (Debian: python3-venv).",
            image=image_id,
        ) from exc
    info: dict[str, str] = json.loads(out.decode().strip().splitlines()[-1])
    known[image_id] = info
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
    os.replace(tmp, cache)
    return info


def _platforms(info: dict[str, str]) -> list[str]:
    machine = info.get("machine") or "x86_64"
    libc = info.get("libc", "")
    if libc.startswith("glibc "):
        minor = int(libc.split()[1].split(".")[1])
        tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 16, -1)]
        return [*tags, f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    return [f"musllinux_1_2_{machine}", f"musllinux_1_1_{machine}"]


def notebook_wheels(info: dict[str, str], log: Callable[[str], None] | None = None) -> Path:
    """The folder of papermill + ipykernel wheels for the container Python ``info``, downloaded once."""
    version = info["version"]
    key = (
        f"cp{version.replace('.', '')}-{info.get('machine', 'x86_64')}-{(info.get('libc') or 'musl').replace(' ', '')}"
    )
    folder = docker_home() / "notebook-wheels" / key
    done = folder / ".complete"
    with _LOCK:
        if done.is_file():
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            *NOTEBOOK_PACKAGES,
            "--dest",
            str(folder),
            "--only-binary=:all:",
            "--python-version",
            version,
            "--implementation",
            "cp",
            *[arg for tag in _platforms(info) for arg in ("--platform", tag)],
            "--disable-pip-version-check",
            "--quiet",
        ]
        if log is not None:
            log(f"Downloading notebook support ({', '.join(NOTEBOOK_PACKAGES)}) for Python {version} into {folder}")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
            raise ComputeError(
                f"Downloading {', '.join(NOTEBOOK_PACKAGES)} wheels for Python {version} failed "
                f"(pip exit code {proc.returncode}):\n{tail}\nNotebook steps in containers need them once; "
                f"check this machine's pip access, or put the wheels into {folder} and create {done.name} there.",
                folder=str(folder),
            )
        done.write_text("ok\n", encoding="utf-8")
        return folder
