"""Environment images: built once per environment hash, found again by tag and label, listed and pruned.

``ensure_image(environment)`` returns the tag of the image a step of that
environment runs in (``amlpipe-env:<hash[:20]>``), building it only when no
image of that hash exists. Images carry the labels ``org.amlpipe.env-hash``,
``org.amlpipe.env-name`` and ``org.amlpipe.helper-version``; ``amlpipe env
list|build|prune`` use them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_amlpipe.compute.docker.image_build import (
    BASE_IMAGE_SCRIPT,
    ImageBuildError,
    build_image,
    require_base_image,
)
from jupyter_amlpipe.compute.docker.image_spec import (
    HELPER_VERSION,
    IMAGE_REPOSITORY,
    LABEL_BASE_ID,
    LABEL_HASH,
    LABEL_HELPER,
    LABEL_NAME,
    LIB_DIR,
    VENV,
    default_base_image,
    environment_image_hash,
    image_spec,
    image_tag,
)
from jupyter_amlpipe.compute.docker.image_wheels import docker_home, notebook_wheels, python_of_image

__all__ = [
    "BASE_IMAGE_SCRIPT",
    "BUILDS",
    "HELPER_VERSION",
    "LIB_DIR",
    "VENV",
    "EnvImage",
    "ImageBuildError",
    "default_base_image",
    "ensure_image",
    "environment_image_hash",
    "find_image",
    "image_tag",
    "list_images",
    "prune_images",
]

# Images built by this process, by environment hash (what tests and benchmarks count).
BUILDS: Counter[str] = Counter()
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

LogFn = Callable[[str], None]


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from jupyter_amlpipe.compute.docker.client import get_client

    return get_client("docker")


def find_image(client: Any, env_hash: str) -> Any | None:
    """The image built for ``env_hash`` (by its tag, else by its label), or None."""
    from jupyter_amlpipe.compute.docker.client import docker_sdk

    errors = docker_sdk().errors
    with contextlib.suppress(errors.ImageNotFound):
        image = client.images.get(image_tag(env_hash))
        if (image.labels or {}).get(LABEL_HASH) == env_hash:
            return image
    found = client.images.list(filters={"label": f"{LABEL_HASH}={env_hash}"})
    if not found:
        return None
    image = max(found, key=lambda im: im.attrs.get("Created", ""))
    image.tag(IMAGE_REPOSITORY, image_tag(env_hash).split(":", 1)[1])  # the tag was removed: put it back
    return image


def ensure_image(
    environment: Any,
    base_image: str | None = None,
    *,
    client: Any = None,
    log: LogFn | None = None,
    notebook: bool = False,
    progress: bool | None = None,
    rebuild: bool = False,
) -> str:
    """The tag of ``environment``'s image, built now if no image of its hash exists.

    ``base_image`` is used when the environment names none (``env.docker.base_image``)
    and has no Dockerfile; default ``$AMLPIPE_BASE_IMAGE``, else ``python:3.11-slim``.
    ``notebook=True`` adds papermill and ipykernel. Build output goes line by line
    to ``log``; ``progress`` shows a progress bar (default: when stderr is a
    terminal). ``rebuild=True`` builds again without the engine's layer cache even
    when an image exists. A failed build raises :class:`ImageBuildError` with the last lines.
    """
    client = _client(client)
    spec = image_spec(environment, base_image, notebook)
    env_hash = spec.env_hash
    image = None if rebuild else find_image(client, env_hash)
    if image is not None and _base_changed(client, image, spec):
        if log is not None:
            log(f"Base image {spec.base_image} changed since {spec.tag} was built: rebuilding it")
        image = None
    if image is None:
        with _lock_for(env_hash):
            image = None if rebuild else find_image(client, env_hash)  # another thread may have built it meanwhile
            if image is None or _base_changed(client, image, spec):
                _build(client, spec, log, progress, rebuild)
    elif log is not None:
        log(f"Using image {spec.tag} of environment {spec.env_name!r} (built {image.attrs.get('Created', '?')[:19]})")
    _touch(env_hash)
    return spec.tag


def _base_changed(client: Any, image: Any, spec: Any) -> bool:
    """Whether the base image was replaced (e.g. ``scripts/build-base-image --force``) since ``image`` was built."""
    built_on = (image.labels or {}).get(LABEL_BASE_ID)
    if spec.dockerfile_text or not built_on:
        return False
    try:
        return bool(client.images.get(spec.base_image).id != built_on)
    except Exception:  # the base is gone: the built image still works
        return False


def _build(client: Any, spec: Any, log: LogFn | None, progress: bool | None, nocache: bool = False) -> str:
    base_id = None
    if not spec.dockerfile_text:
        base_id = require_base_image(client, spec.base_image, spec.env_name, log)
    wheels = None
    if spec.notebook:
        if base_id is None:  # a Dockerfile environment: its Python is known only after building its own part
            raise ImageBuildError(
                f"Environment {spec.env_name!r}: notebook steps need papermill and ipykernel in the image; with a "
                "Dockerfile environment install them in the Dockerfile (RUN pip install papermill ipykernel) and "
                "run the step as a script, or give the environment a base image instead.",
                environment=spec.env_name,
            )
        wheels = notebook_wheels(python_of_image(client, base_id), log)
    image_id = build_image(
        client, spec, base_id=base_id, log=log, progress=progress, notebook_wheels=wheels, nocache=nocache
    )
    BUILDS[spec.env_hash] += 1
    return image_id


def _lock_for(env_hash: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(env_hash, threading.Lock())


# -- last use, listing and pruning ------------------------------------------------------------
def _usage_file() -> Path:
    return docker_home() / "last-used.json"


def _read_usage() -> dict[str, str]:
    path = _usage_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _touch(env_hash: str) -> None:
    """Record that the image of ``env_hash`` was used now (best effort; a lost update only ages a date)."""
    with contextlib.suppress(OSError):
        usage = _read_usage()
        usage[env_hash] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        _write_usage(usage)


def _forget(hashes: list[str]) -> None:
    with contextlib.suppress(OSError):
        usage = _read_usage()
        for env_hash in hashes:
            usage.pop(env_hash, None)
        _write_usage(usage)


def _write_usage(usage: dict[str, str]) -> None:
    path = _usage_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(usage, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class EnvImage:
    """One image built by jupyter_amlpipe, as ``amlpipe env list`` shows it."""

    id: str
    env_name: str
    env_hash: str
    helper_version: str
    tags: list[str]
    size: int
    created: str
    last_used: str | None

    @property
    def tag(self) -> str:
        return self.tags[0] if self.tags else self.id[7:19]


def list_images(client: Any = None) -> list[EnvImage]:
    """Every image built by jupyter_amlpipe (labelled ``org.amlpipe.env-hash``), newest first."""
    client = _client(client)
    usage = _read_usage()
    out = []
    for image in client.images.list(filters={"label": LABEL_HASH}):
        labels = image.labels or {}
        env_hash = labels.get(LABEL_HASH, "")
        out.append(
            EnvImage(
                id=image.id,
                env_name=labels.get(LABEL_NAME, "?"),
                env_hash=env_hash,
                helper_version=labels.get(LABEL_HELPER, "?"),
                tags=list(image.tags),
                size=int(image.attrs.get("Size") or 0),
                created=str(image.attrs.get("Created", ""))[:19].replace("T", " "),
                last_used=usage.get(env_hash),
            )
        )
    out.sort(key=lambda im: im.created, reverse=True)
    return out


@dataclass
class PruneResult:
    """What ``prune_images`` removed (or would remove), what it kept, and the space freed."""

    removed: list[EnvImage]
    kept: list[EnvImage]
    failed: dict[str, str]
    freed_bytes: int | None


def prune_images(
    client: Any = None, *, all_images: bool = False, dry_run: bool = False, names: list[str] | None = None
) -> PruneResult:
    """Remove our images but the newest per environment name (every one with ``all_images``).

    ``names`` limits pruning to those environment names. An image a container
    still uses is kept and reported in ``failed``. ``freed_bytes`` is measured
    from the engine's layer usage before and after (None on a dry run).
    """
    client = _client(client)
    images = list_images(client)
    newest: set[str] = set()
    seen: set[str] = set()
    for image in images:  # newest first
        if image.env_name not in seen:
            seen.add(image.env_name)
            newest.add(image.id)
    chosen = [im for im in images if (names is None or im.env_name in names) and (all_images or im.id not in newest)]
    kept = [im for im in images if im not in chosen]
    if dry_run or not chosen:
        return PruneResult(removed=chosen, kept=kept, failed={}, freed_bytes=None if dry_run else 0)
    before = _layers_size(client)
    removed, failed = [], {}
    for image in chosen:
        try:
            client.images.remove(image.id, force=len(image.tags) > 1, noprune=False)
            removed.append(image)
        except Exception as exc:  # in use by a container, or already gone
            failed[image.id] = f"{type(exc).__name__}: {getattr(exc, 'explanation', None) or exc}"
    after = _layers_size(client)
    freed = before - after if before is not None and after is not None else None
    _forget([image.env_hash for image in removed])
    return PruneResult(
        removed=removed, kept=kept + [im for im in chosen if im.id in failed], failed=failed, freed_bytes=freed
    )


def _layers_size(client: Any) -> int | None:
    try:
        return int(client.df().get("LayersSize") or 0)
    except Exception:
        return None
