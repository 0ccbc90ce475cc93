"""The connection to the Docker engine, with errors that say what to do.

The Docker SDK (the ``docker`` package, extra ``[docker]``) is imported here,
and only when a DockerCompute first talks to the engine.
"""

from __future__ import annotations

import threading
from typing import Any

from jupyter_amlpipe.errors import ComputeError, MissingExtraError

BASE_IMAGE_SCRIPT = "scripts/build-base-image"
_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()


def docker_sdk() -> Any:
    """The ``docker`` module, or MissingExtraError telling how to install it."""
    try:
        import docker
    except ImportError as exc:
        raise MissingExtraError.for_module("docker", "docker", "DockerCompute") from exc
    return docker


def _explain(exc: BaseException, target: str) -> ComputeError:
    text = str(exc)
    if "Permission denied" in text or "PermissionError" in text or isinstance(exc, PermissionError):
        return ComputeError(
            f"DockerCompute {target!r}: permission denied on the Docker socket ({text}). "
            "Add your user to the 'docker' group (then log in again) or point DOCKER_HOST at an engine you may use."
        )
    return ComputeError(
        f"DockerCompute {target!r}: the Docker engine is not reachable ({type(exc).__name__}: {text}). "
        "Start Docker, or use LocalCompute."
    )


def get_client(target: str = "docker", max_pool_size: int = 10) -> Any:
    """A pinged Docker client for this process (one per pool size), or a ComputeError saying what to do."""
    key = str(max_pool_size)
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is not None:
            return client
        docker = docker_sdk()
        try:
            client = docker.from_env(timeout=60, max_pool_size=max(10, max_pool_size))
            client.ping()
        except Exception as exc:
            raise _explain(exc, target) from exc
        _CLIENTS[key] = client
        return client


def has_image(client: Any, image: str) -> bool:
    docker = docker_sdk()
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure_base_image(client: Any, image: str, target: str = "docker") -> str:
    """``image`` present in the engine (pulled when missing), or a ComputeError naming it and the base-image script."""
    if has_image(client, image):
        return image
    try:
        client.images.pull(image)
    except Exception as exc:
        raise ComputeError(
            f"DockerCompute {target!r}: image {image!r} is not in the Docker engine and could not be pulled "
            f"({type(exc).__name__}: {str(exc)[:300]}). Without a registry, build a base image with "
            f"{BASE_IMAGE_SCRIPT} (it tags amlpipe-base:local) and set AMLPIPE_BASE_IMAGE=amlpipe-base:local, "
            "or pass DockerCompute(base_image=...) naming an image you have (`docker images`)."
        ) from exc
    return image


def gpu_runtime_available(client: Any) -> bool:
    """True when the engine has a GPU runtime (nvidia) to serve device requests."""
    try:
        info = client.info()
    except Exception:
        return False
    runtimes = info.get("Runtimes") or {}
    return any("nvidia" in name for name in runtimes) or "nvidia" in str(info.get("DefaultRuntime", ""))
