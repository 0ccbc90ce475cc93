"""Building one environment image with the Docker SDK: the build context, the log stream, the errors.

The build uses the engine's own builder through the low-level API
(``client.api.build(..., decode=True)``), which streams JSON lines; each line
of output goes to the caller's ``log`` and, on a terminal, moves a progress
bar over the Dockerfile's steps. A failed build raises :class:`ImageBuildError`
with the last build lines.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jupyter_amlpipe.compute.docker.image_spec import (
    HELPER_VERSION,
    LABEL_BASE_ID,
    LABEL_HASH,
    LABEL_HELPER,
    LABEL_NAME,
    ImageSpec,
)
from jupyter_amlpipe.errors import ComputeError

__all__ = ["BASE_IMAGE_SCRIPT", "ImageBuildError", "build_image", "require_base_image", "write_context"]

BASE_IMAGE_SCRIPT = "scripts/build-base-image"
TAIL_LINES = 20
_STEP = re.compile(r"^Step (\d+)/(\d+) :")

LogFn = Callable[[str], None]


class ImageBuildError(ComputeError):
    """Building an environment's image failed; ``last_lines`` holds the end of the build log."""


def require_base_image(client: Any, image: str, env_name: str, log: LogFn | None = None) -> str:
    """The id of ``image`` in the engine, pulled when missing; an error naming it and the base-image script."""
    from jupyter_amlpipe.compute.docker.client import docker_sdk

    errors = docker_sdk().errors
    try:
        return str(client.images.get(image).id)
    except errors.ImageNotFound:
        pass
    if log is not None:
        log(f"Pulling base image {image} ...")
    try:
        return str(client.images.pull(image).id)
    except Exception as exc:
        raise ComputeError(
            f"Environment {env_name!r}: base image {image!r} is not in the Docker engine and could not be pulled "
            f"({type(exc).__name__}: {str(exc)[:300]}). Without a registry, build a base image with "
            f"{BASE_IMAGE_SCRIPT} (it tags amlpipe-base:local) and set AMLPIPE_BASE_IMAGE=amlpipe-base:local, "
            "or name an image you have (`docker images`).",
            environment=env_name,
            image=image,
        ) from exc


def write_context(
    spec: ImageSpec, folder: Path, notebook_wheels: Path | None = None, labels: dict[str, str] | None = None
) -> None:
    """Fill the build context ``folder``: Dockerfile, requirements.txt, wheels/, notebook-wheels/."""
    (folder / "Dockerfile").write_text(spec.dockerfile(labels), encoding="utf-8")
    (folder / "requirements.txt").write_text(spec.requirements_text(), encoding="utf-8")
    wheels = folder / "wheels"
    wheels.mkdir()
    for slot, source in spec.pip.copies.items():
        target = wheels / slot
        if source.is_dir():
            target.mkdir()
            for item in source.iterdir():  # pip's --find-links reads only the top level
                if item.is_file():
                    shutil.copy2(item, target / item.name)
        else:
            target.mkdir()
            shutil.copy2(source, target / source.name)
    if spec.notebook:
        if notebook_wheels is None:
            raise ValueError("a notebook image needs the folder of notebook wheels")
        shutil.copytree(notebook_wheels, folder / "notebook-wheels")


def build_image(
    client: Any,
    spec: ImageSpec,
    *,
    base_id: str | None,
    log: LogFn | None = None,
    progress: bool | None = None,
    notebook_wheels: Path | None = None,
    nocache: bool = False,
) -> str:
    """Build ``spec``'s image, tag it and return its id; the log goes line by line to ``log``.

    ``nocache`` builds every layer anew (the engine's layer cache is not used).
    """
    labels = {
        LABEL_HASH: spec.env_hash,
        LABEL_NAME: spec.env_name,
        LABEL_HELPER: HELPER_VERSION,
        LABEL_BASE_ID: base_id or "",
    }
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    image_id: str | None = None
    with tempfile.TemporaryDirectory(prefix="amlpipe-build-") as tmp:
        folder = Path(tmp)
        write_context(spec, folder, notebook_wheels, labels)
        if log is not None:
            log(f"Building image {spec.tag} for environment {spec.env_name!r} (hash {spec.env_hash[:20]})")
            for line in spec.dockerfile(labels).splitlines():
                log(f"  | {line}")
        stream = client.api.build(
            path=str(folder), tag=spec.tag, rm=True, forcerm=True, decode=True, pull=False, nocache=nocache
        )
        bar = _progress_bar(spec.dockerfile(labels), spec.env_name, progress)
        try:
            for line in _lines(stream, spec):
                tail.append(line)
                if log is not None:
                    log(line)
                if bar is not None:
                    _advance(bar, line)
                found = re.match(r"^Successfully built ([0-9a-f]+)$", line)
                if found:
                    image_id = found.group(1)
        except _BuildFailed as failed:
            tail.append(failed.message)
            if log is not None:
                log(failed.message)
            raise _error(spec, tail) from None
        finally:
            if bar is not None:
                bar.close()
    if image_id is None:
        raise _error(spec, tail)
    return str(client.images.get(spec.tag).id)


class _BuildFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _lines(stream: Iterable[dict[str, Any]], spec: ImageSpec) -> Iterable[str]:
    """The build output as text lines; raises _BuildFailed on the engine's error record."""
    pending = ""
    for record in stream:
        if "error" in record:
            if pending.strip():
                yield pending.rstrip()
            detail = record.get("errorDetail") or {}
            raise _BuildFailed(str(detail.get("message") or record["error"]).strip())
        text = record.get("stream")
        if text is None and "status" in record:  # pulls made by the build
            text = f"{record['status']} {record.get('progress', '')}".rstrip() + "\n"
        if not text:
            continue
        pending += text
        *done, pending = pending.split("\n")
        for line in done:
            if line.strip():
                yield line.rstrip()
    if pending.strip():
        yield pending.rstrip()


def _error(spec: ImageSpec, tail: Iterable[str]) -> ImageBuildError:
    lines = list(tail)
    shown = "\n".join(f"  {line}" for line in lines) or "  (no build output)"
    return ImageBuildError(
        f"Building the image of environment {spec.env_name!r} ({spec.tag}) failed. Last build lines:\n{shown}\n"
        "Fix the environment's packages (or its Dockerfile) and run again; "
        "`amlpipe env build` rebuilds it ahead of a run.",
        environment=spec.env_name,
        image=spec.tag,
        last_lines=lines,
    )


def _progress_bar(dockerfile: str, env_name: str, progress: bool | None) -> Any:
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    total = sum(1 for line in dockerfile.splitlines() if line and not line.startswith("#"))
    return tqdm(total=total, desc=f"image {env_name}", unit="step", leave=False)


def _advance(bar: Any, line: str) -> None:
    found = _STEP.match(line)
    if found:
        bar.total = int(found.group(2))
        bar.n = int(found.group(1)) - 1
        bar.set_postfix_str(line.split(":", 1)[1].strip()[:40], refresh=True)
