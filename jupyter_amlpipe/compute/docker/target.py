"""``DockerCompute``: every step in its own container on a Docker engine.

``DockerCompute(workspace=ws, name="docker", base_image=None, gpus=None,
cpus=None, memory=None, network=None, max_concurrency=None)`` runs scripts,
commands and notebooks in an image built from the step's Environment on top of
``base_image`` (default: the ``AMLPIPE_BASE_IMAGE`` environment variable, else
``python:3.11-slim``). This module does not import the Docker SDK; it is
loaded when a step first runs.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Any

from jupyter_amlpipe.compute.docker.container import (
    PYTHON_MARK,
    ContainerHandle,
    container_command,
    container_environment,
    plan_mounts,
    step_labels,
)
from jupyter_amlpipe.compute.docker.deferred import BuildingHandle
from jupyter_amlpipe.compute.local import program_argv
from jupyter_amlpipe.core.compute_target import ComputeTarget
from jupyter_amlpipe.errors import ComputeError, DefinitionError
from jupyter_amlpipe.runner.job import StepJob

BASE_IMAGE_ENV = "AMLPIPE_BASE_IMAGE"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
NETWORKS = (None, "none", "bridge", "host", "default")


def default_base_image() -> str:
    """The base image a DockerCompute uses when none is given: $AMLPIPE_BASE_IMAGE, else python:3.11-slim."""
    return os.environ.get(BASE_IMAGE_ENV) or DEFAULT_BASE_IMAGE


def _images_module() -> Any:
    """The image builder (``images.py``), or None where it is not available."""
    try:
        return importlib.import_module("jupyter_amlpipe.compute.docker.images")
    except ImportError as exc:
        if exc.name == "jupyter_amlpipe.compute.docker.images":
            return None
        raise


def _memory_bytes(memory: str | int | None, name: str) -> str | int | None:
    if memory is None or isinstance(memory, int):
        return memory
    text = str(memory).strip().lower()
    if (text[:-1].replace(".", "", 1).isdigit() and text[-1] in "bkmg") or text.isdigit():
        return text
    raise DefinitionError(
        f"DockerCompute {name!r}: memory must be bytes or a size like '512m' or '4g', got {memory!r}."
    )


class DockerProvisioningConfiguration:
    """What ``DockerCompute.provisioning_configuration(...)`` gives to ``ComputeTarget.create``."""

    _target_type = "docker"

    def __init__(self, **settings: Any) -> None:
        self.settings = settings


class DockerCompute(ComputeTarget):
    """Run each step in a container, as your user, with the step's folders mounted at the same paths.

    ``gpus``: None, ``"all"`` or a number of GPUs (needs the engine's NVIDIA
    runtime); ``cpus``: CPUs (e.g. 1.5); ``memory``: e.g. ``"4g"``;
    ``network``: None (the engine's default bridge) or ``"none"`` (no network),
    or ``"host"``; ``read_only_inputs``: mount-mode inputs are read-only
    (download-mode inputs are the step's own copies). ``max_concurrency``:
    steps at once (default: the cores).
    """

    type = "docker"

    def __init__(
        self,
        workspace: Any = None,
        name: str = "docker",
        base_image: str | None = None,
        gpus: int | str | None = None,
        cpus: float | None = None,
        memory: str | int | None = None,
        network: str | None = None,
        max_concurrency: int | None = None,
        read_only_inputs: bool = True,
        **kwargs: Any,
    ) -> None:
        if max_concurrency is not None and (
            isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1
        ):
            raise DefinitionError(
                f"DockerCompute {name!r}: max_concurrency must be a positive integer, got {max_concurrency!r}."
            )
        if network not in NETWORKS:
            raise DefinitionError(
                f"DockerCompute {name!r}: network must be None (the default bridge), 'none' or 'host', got {network!r}."
            )
        if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or cpus <= 0):
            raise DefinitionError(f"DockerCompute {name!r}: cpus must be a positive number, got {cpus!r}.")
        if gpus is not None and gpus != "all" and (isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1):
            raise DefinitionError(
                f"DockerCompute {name!r}: gpus must be None, 'all' or a positive count, got {gpus!r}."
            )
        self.workspace = workspace
        self.name = name
        self._base_image = base_image
        self.gpus = gpus
        self.cpus = cpus
        self.memory = _memory_bytes(memory, name)
        self.network = None if network == "default" else network
        self._max_concurrency = max_concurrency
        self.read_only_inputs = bool(read_only_inputs)
        config: dict[str, Any] = {
            "base_image": base_image,
            "gpus": gpus,
            "cpus": cpus,
            "memory": memory,
            "network": network,
            "max_concurrency": max_concurrency,
        }
        if not self.read_only_inputs:
            config["read_only_inputs"] = False
        self._record(config)

    # -- v1 management ------------------------------------------------------------
    @staticmethod
    def provisioning_configuration(**settings: Any) -> DockerProvisioningConfiguration:
        """Settings for ``ComputeTarget.create(ws, name, ...)``: the keyword arguments of DockerCompute."""
        return DockerProvisioningConfiguration(**settings)

    @classmethod
    def _provision(cls, workspace: Any, name: str, config: Any) -> ComputeTarget:
        return cls(workspace=workspace, name=name, **getattr(config, "settings", {}))

    @property
    def base_image(self) -> str:
        return self._base_image or default_base_image()

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency or os.cpu_count() or 1

    @property
    def status(self) -> Any:
        return {"provisioning_state": "Succeeded", "max_concurrency": self.max_concurrency, "image": self.base_image}

    # -- what the runner uses ---------------------------------------------------------
    def describe_environment(self, environment: Any) -> dict[str, Any]:
        """The environment's image hash: a package change reruns a step, an identical rebuild does not."""
        return {"docker": self.image_hash(environment)}

    def image_hash(self, environment: Any, notebook: bool = False) -> str:
        images = _images_module()
        if images is not None:
            return str(images.environment_image_hash(environment, self.base_image, notebook=notebook))
        spec = environment.digest() if environment is not None else None
        return hashlib.sha256(json.dumps([self.base_image, spec, notebook]).encode()).hexdigest()

    def check_step(self, step: Any) -> list[str]:
        return []

    def _client(self) -> Any:
        from jupyter_amlpipe.compute.docker.client import get_client

        return get_client(self.name, max_pool_size=self.max_concurrency + 4)

    def image_for(self, job: StepJob, client: Any) -> str:
        """The image a job runs in: built from its environment (once per hash), or the base image."""
        from jupyter_amlpipe.compute.docker.client import ensure_base_image

        images = _images_module()
        notebook = job.program["type"] == "notebook"
        if images is None:
            return ensure_base_image(client, self._image_of(job.environment), self.name)
        environment = job.environment
        if environment is None:
            from jupyter_amlpipe.core.environment import Environment

            environment = Environment("default-environment")
        build_log = job.run_dir / "logs" / "image_build.txt"

        def log(line: str) -> None:
            with open(build_log, "a", encoding="utf-8") as out:
                out.write(line if line.endswith("\n") else line + "\n")

        return str(images.ensure_image(environment, self.base_image, client=client, log=log, notebook=notebook))

    def _image_of(self, environment: Any) -> str:
        docker = getattr(environment, "docker", None)
        return getattr(docker, "base_image", None) or self.base_image

    def _device_requests(self, client: Any) -> list[Any] | None:
        if self.gpus is None:
            return None
        from jupyter_amlpipe.compute.docker.client import docker_sdk, gpu_runtime_available

        if not gpu_runtime_available(client):
            raise ComputeError(
                f"DockerCompute {self.name!r}: gpus={self.gpus!r} was asked for, but this Docker engine has no GPU "
                "runtime (install the NVIDIA Container Toolkit and restart Docker), or create the target with gpus=None."
            )
        count = -1 if self.gpus == "all" else int(self.gpus)
        return [docker_sdk().types.DeviceRequest(count=count, capabilities=[["gpu"]])]

    def start(self, job: StepJob) -> ContainerHandle | BuildingHandle:
        """Start the step's container; when its image is still to be built, build it in the step's thread."""
        client = self._client()
        if self._image_missing(job, client):
            _, description = program_argv(job, PYTHON_MARK)

            def build() -> str:
                with open(job.stdout_path, "a", encoding="utf-8") as out:
                    out.write("amlpipe: building the image of this step's environment (log: logs/image_build.txt)\n")
                return self.image_for(job, client)

            return BuildingHandle(job, description, build, lambda image: self._run(job, client, image))
        return self._run(job, client, self.image_for(job, client))

    def _image_missing(self, job: StepJob, client: Any) -> bool:
        images = _images_module()
        if images is None:
            return False
        environment = job.environment
        if environment is None:
            from jupyter_amlpipe.core.environment import Environment

            environment = Environment("default-environment")
        notebook = job.program["type"] == "notebook"
        return images.find_image(client, self.image_hash(environment, notebook=notebook)) is None

    def _run(self, job: StepJob, client: Any, image: str) -> ContainerHandle:
        from jupyter_amlpipe.compute.docker.client import docker_sdk

        sdk = docker_sdk()
        argv, description = program_argv(job, PYTHON_MARK)
        import jupyter_amlpipe

        package_source = Path(jupyter_amlpipe.__file__).resolve().parent
        mounts = plan_mounts(job, self.read_only_inputs).mounts(sdk, package_source)
        for path in (job.stdout_path, job.stderr_path, job.context_file):
            path.touch(exist_ok=True)  # owned by this user before the container appends to it
        options: dict[str, Any] = {
            "command": container_command(job, argv),
            "environment": container_environment(job),
            "working_dir": str(job.workdir),
            "user": f"{os.getuid()}:{os.getgid()}",
            "mounts": mounts,
            "labels": step_labels(job),
            "init": True,
            "stdin_open": False,
            "detach": True,
        }
        if self.network is not None:
            options["network_mode"] = self.network
        if self.cpus is not None:
            options["nano_cpus"] = int(float(self.cpus) * 1e9)
        if self.memory is not None:
            options["mem_limit"] = self.memory
        requests = self._device_requests(client)
        if requests:
            options["device_requests"] = requests
        try:
            container = client.containers.create(image, **options)
        except sdk.errors.ImageNotFound as exc:
            raise ComputeError(
                f"Step {job.step_name!r}: image {image!r} is not in the Docker engine. Build a base image with "
                "scripts/build-base-image and set AMLPIPE_BASE_IMAGE=amlpipe-base:local."
            ) from exc
        except sdk.errors.APIError as exc:
            raise ComputeError(f"Step {job.step_name!r}: Docker could not create its container: {exc}") from exc
        handle = ContainerHandle(container, f"{description} in container {image}", job, memory=str(self.memory))
        try:
            container.start()
        except Exception as exc:
            handle._remove()
            raise ComputeError(f"Step {job.step_name!r}: Docker could not start its container: {exc}") from exc
        return handle
