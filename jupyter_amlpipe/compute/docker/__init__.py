"""The ``docker`` compute target: steps in containers (``pip install "jupyter_amlpipe[docker]"``).

Importing this package does not import the Docker SDK: it is loaded when a
DockerCompute first talks to the engine.
"""

from __future__ import annotations

from jupyter_amlpipe.compute.docker.target import (
    BASE_IMAGE_ENV,
    DEFAULT_BASE_IMAGE,
    DockerCompute,
    DockerProvisioningConfiguration,
    default_base_image,
)

__all__ = [
    "BASE_IMAGE_ENV",
    "DEFAULT_BASE_IMAGE",
    "DockerCompute",
    "DockerProvisioningConfiguration",
    "default_base_image",
]
