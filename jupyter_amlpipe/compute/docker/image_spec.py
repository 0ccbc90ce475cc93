"""What an environment's image contains: its hash, its pip plan and its generated Dockerfile.

Nothing here talks to Docker. One image is built per *environment hash*, which
covers the base image (or the environment's Dockerfile text), the pip packages
(sorted, with the names and contents of any local wheels they point at), the
version of the in-container layout (:data:`HELPER_VERSION`) and whether
notebook support (papermill and ipykernel) is included.

The generated Dockerfile orders its layers from the least to the most likely
to change: the base, then a virtual environment at :data:`VENV` (first on
``PATH``), then notebook support, then the environment's packages in the last
``RUN`` layer, so a change of packages rebuilds only that layer.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import DefinitionError

__all__ = [
    "BASE_IMAGE_ENV",
    "DEFAULT_BASE_IMAGE",
    "HELPER_VERSION",
    "IMAGE_REPOSITORY",
    "LABEL_BASE_ID",
    "LABEL_HASH",
    "LABEL_HELPER",
    "LABEL_NAME",
    "LIB_DIR",
    "VENV",
    "ImageSpec",
    "PipPlan",
    "default_base_image",
    "environment_image_hash",
    "image_spec",
    "image_tag",
    "pip_plan",
]

# Bump when the layout inside the image changes (paths, venv, labels): every image is rebuilt once.
HELPER_VERSION = "1"
BASE_IMAGE_ENV = "AMLPIPE_BASE_IMAGE"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
IMAGE_REPOSITORY = "amlpipe-env"
VENV = "/opt/amlpipe/venv"
LIB_DIR = "/opt/amlpipe/lib"  # where the compute target mounts the package's run-context client
LABEL_HASH = "org.amlpipe.env-hash"
LABEL_NAME = "org.amlpipe.env-name"
LABEL_HELPER = "org.amlpipe.helper-version"
LABEL_BASE_ID = "org.amlpipe.base-image-id"
NOTEBOOK_PACKAGES = ("papermill", "ipykernel")

WHEELS_DIR = "/tmp/amlpipe-wheels"  # local wheels copied into the build context land here
NOTEBOOK_WHEELS_DIR = "/tmp/amlpipe-notebook-wheels"
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PASS_OPTIONS = {"--no-index", "--pre", "--prefer-binary", "--no-binary", "--only-binary", "--upgrade", "-U"}
_URL_OPTIONS = {"-i", "--index-url", "--extra-index-url", "--trusted-host"}
_LINK_OPTIONS = {"-f", "--find-links"}


def default_base_image() -> str:
    """The base image when nothing else names one: ``$AMLPIPE_BASE_IMAGE``, else ``python:3.11-slim``."""
    return os.environ.get(BASE_IMAGE_ENV) or DEFAULT_BASE_IMAGE


def image_tag(env_hash: str) -> str:
    """The tag of the image built for an environment hash: ``amlpipe-env:<first 20 hex digits>``."""
    return f"{IMAGE_REPOSITORY}:{env_hash[:20]}"


@dataclass
class PipPlan:
    """The environment's pip packages as requirement lines, with the local files they need.

    ``lines`` is the requirements file written into the build context (local
    paths rewritten to where they are copied in the image); ``copies`` maps a
    path inside the context's ``wheels/`` folder to the host path copied
    there; ``fingerprint`` identifies the local files (names and sha256 of their contents).
    """

    lines: list[str] = field(default_factory=list)
    copies: dict[str, Path] = field(default_factory=dict)
    fingerprint: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(line and not line.startswith("-") for line in self.lines)


def pip_plan(environment: Any) -> PipPlan:
    """The pip requirement lines of ``environment`` (pip packages, then conda packages installed with pip)."""
    deps = environment.python.conda_dependencies
    plan = PipPlan()
    for raw in [*deps.pip_packages, *(_conda_to_pip(p) for p in deps.conda_packages)]:
        if raw:
            _add_entry(plan, environment.name, str(raw).strip())
    return plan


def _add_entry(plan: PipPlan, env_name: str, entry: str) -> None:
    words = shlex.split(entry) if entry.startswith("-") else [entry]
    if words[0].startswith("--") and "=" in words[0]:  # --find-links=DIR
        option, _, value = words[0].partition("=")
        words = [option, value, *words[1:]]
    head = words[0]
    if head in ("-r", "--requirement", "-c", "--constraint", "-e", "--editable"):
        raise DefinitionError(
            f"Environment {env_name!r}: pip entry {entry!r} is not supported in an image; list the packages "
            "themselves, or use Environment.from_pip_requirements(name, path).",
            environment=env_name,
        )
    if head in _LINK_OPTIONS and len(words) == 2:
        target = words[1]
        if "://" in target and not target.startswith("file://"):
            plan.lines.append(f"{head} {target}")
            return
        source = Path(target.removeprefix("file://")).expanduser()
        if not source.exists():
            raise DefinitionError(
                f"Environment {env_name!r}: --find-links folder {str(source)!r} does not exist.",
                environment=env_name,
                path=str(source),
            )
        slot = f"links{len(plan.copies)}"
        plan.copies[slot] = source.resolve()
        plan.fingerprint += _fingerprint(source)
        plan.lines.append(f"--find-links {WHEELS_DIR}/{slot}")
        return
    if head.startswith("-"):
        if head not in _PASS_OPTIONS and head not in _URL_OPTIONS:
            raise DefinitionError(
                f"Environment {env_name!r}: pip option {head!r} is not supported in an image "
                f"(supported: {', '.join(sorted(_PASS_OPTIONS | _URL_OPTIONS | _LINK_OPTIONS))}).",
                environment=env_name,
            )
        plan.lines.append(" ".join(words))
        return
    local = Path(entry).expanduser()
    if entry.endswith((".whl", ".tar.gz", ".zip")) and ("/" in entry or local.exists()):
        if not local.is_file():
            raise DefinitionError(
                f"Environment {env_name!r}: package file {entry!r} does not exist.", environment=env_name, path=entry
            )
        slot = f"files{len(plan.copies)}"
        plan.copies[slot] = local.resolve()
        plan.fingerprint += _fingerprint(local)
        plan.lines.append(f"{WHEELS_DIR}/{slot}/{local.name}")
        return
    plan.lines.append(entry)


def _fingerprint(path: Path) -> list[str]:
    """``name:sha256`` of each local file: a wheel rebuilt with other code (same name and size) changes the hash."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    return [f"{p.name}:{_file_digest(p)}" for p in files]


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256: each file is read once


def _file_digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    digest = _DIGESTS.get(key)
    if digest is None:
        sha = hashlib.sha256()
        with open(path, "rb") as data:
            for chunk in iter(lambda: data.read(1 << 20), b""):
                sha.update(chunk)
        digest = sha.hexdigest()
        if time.time_ns() - stat.st_mtime_ns > 2_000_000_000:  # a file changed just now may change again unseen
            _DIGESTS[key] = digest
    return digest


def _conda_to_pip(spec: str) -> str:
    """A conda package spec as a pip requirement (best effort): ``numpy=1.24`` -> ``numpy==1.24.*``."""
    name = re.split(r"[=<>!~ ]", spec, maxsplit=1)[0].strip()
    if name in ("python", "pip", ""):
        return ""
    if re.fullmatch(r"[A-Za-z0-9_.\-]+=[0-9][A-Za-z0-9_.]*", spec.strip()):
        version = spec.split("=", 1)[1]
        return f"{name}=={version}.*"
    return spec.strip()


@dataclass
class ImageSpec:
    """Everything that decides an environment's image, and its hash."""

    env_name: str
    base_image: str
    dockerfile_text: str | None
    pip: PipPlan
    notebook: bool

    def hash_input(self) -> dict[str, Any]:
        return {
            "base_image": None if self.dockerfile_text else self.base_image,
            "dockerfile": self.dockerfile_text,
            "pip": sorted(self.pip.lines),
            "local_files": sorted(self.pip.fingerprint),
            "helper_version": HELPER_VERSION,
            "notebook": self.notebook,
        }

    @property
    def env_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.hash_input(), sort_keys=True).encode()).hexdigest()

    @property
    def tag(self) -> str:
        return image_tag(self.env_hash)

    def dockerfile(self, labels: dict[str, str] | None = None) -> str:
        """The generated Dockerfile (the build context holds ``requirements.txt`` and ``wheels/``).

        ``labels`` go into one ``LABEL`` instruction at the end, so they never invalidate a cached layer.
        """
        venv_python = f"{VENV}/bin/python"
        if self.dockerfile_text:
            head = [
                f"# Environment {self.env_name!r}: its own Dockerfile, then the amlpipe layers",
                self.dockerfile_text,
            ]
        else:
            head = [f"# Environment {self.env_name!r}", f"FROM {self.base_image}"]
        lines = [
            *head,
            "USER root",
            f"RUN python3 -m venv --system-site-packages {VENV} && mkdir -p {LIB_DIR} && chmod -R a+rX /opt/amlpipe",
            f"ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:${{PATH:-{_DEFAULT_PATH}}} "
            "PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1",
        ]
        if self.notebook:
            lines += [
                f"COPY notebook-wheels {NOTEBOOK_WHEELS_DIR}",
                f"RUN {venv_python} -m pip install --no-index --find-links {NOTEBOOK_WHEELS_DIR} "
                f"{' '.join(NOTEBOOK_PACKAGES)} && rm -rf {NOTEBOOK_WHEELS_DIR}",
            ]
        if not self.pip.empty:
            if self.pip.copies:
                lines.append(f"COPY wheels {WHEELS_DIR}")
            lines += [
                "COPY requirements.txt /opt/amlpipe/requirements.txt",
                f"RUN {venv_python} -m pip install -r /opt/amlpipe/requirements.txt && rm -rf {WHEELS_DIR}",
            ]
        if labels:
            lines.append("LABEL " + " ".join(f"{key}={json.dumps(value)}" for key, value in sorted(labels.items())))
        return "\n".join(lines) + "\n"

    def requirements_text(self) -> str:
        return "\n".join(self.pip.lines) + "\n"


def image_spec(environment: Any, base_image: str | None = None, notebook: bool = False) -> ImageSpec:
    """The image spec of ``environment``: its own ``docker.base_image`` wins over ``base_image``,
    which wins over :func:`default_base_image`; a Dockerfile (``Environment.from_dockerfile``) is the base."""
    if environment is None:
        from jupyter_amlpipe.core.environment import Environment

        environment = Environment("default-environment")
    docker = environment.docker
    dockerfile_text = docker.base_dockerfile or None
    base = docker.base_image or base_image or default_base_image()
    return ImageSpec(
        env_name=environment.name,
        base_image=base,
        dockerfile_text=dockerfile_text,
        pip=pip_plan(environment),
        notebook=bool(notebook),
    )


def environment_image_hash(environment: Any, base_image: str | None = None, notebook: bool = False) -> str:
    """The hash that names ``environment``'s image (hex sha256); equal hashes share one image."""
    return image_spec(environment, base_image, notebook).env_hash
