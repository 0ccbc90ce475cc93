"""Environments and run configurations (v1 ``Environment``, ``RunConfiguration``, ``CondaDependencies``).

On LocalCompute a step runs with the interpreter of the submitting process;
packages named here are recorded (and part of the reuse key) but not
installed. The Docker compute target builds images from them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import DefinitionError


class CondaDependencies:
    """Package lists of an environment (v1 ``CondaDependencies``)."""

    def __init__(self, conda_dependencies_file_path: str | None = None) -> None:
        self.pip_packages: list[str] = []
        self.conda_packages: list[str] = []
        self.python_version: str | None = None
        self.channels: list[str] = []
        if conda_dependencies_file_path:
            self._read_conda_file(Path(conda_dependencies_file_path))

    @classmethod
    def create(
        cls,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
        **kwargs: Any,
    ) -> CondaDependencies:
        deps = cls()
        deps.pip_packages = list(pip_packages or [])
        deps.conda_packages = list(conda_packages or [])
        deps.python_version = python_version
        return deps

    def add_pip_package(self, pip_package: str) -> None:
        if pip_package not in self.pip_packages:
            self.pip_packages.append(pip_package)

    def add_conda_package(self, conda_package: str) -> None:
        if conda_package not in self.conda_packages:
            self.conda_packages.append(conda_package)

    def add_channel(self, channel: str) -> None:
        self.channels.append(channel)

    def set_python_version(self, version: str) -> None:
        self.python_version = version

    def _read_conda_file(self, path: Path) -> None:
        if not path.is_file():
            raise DefinitionError(f"Conda specification file {path} does not exist.", path=str(path))
        in_pip = False
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].rstrip()
            stripped = line.strip()
            if not stripped.startswith("-"):
                in_pip = False
                continue
            item = stripped[1:].strip()
            if item == "pip:":
                in_pip = True
            elif in_pip and raw.startswith(" " * 4):
                self.pip_packages.append(item)
            elif item.startswith("python=") or item.startswith("python =="):
                self.python_version = item.split("=", 1)[1].lstrip("=")
            elif item and item != "pip":
                self.conda_packages.append(item)

    def _spec(self) -> dict[str, Any]:
        return {
            "pip": self.pip_packages,
            "conda": self.conda_packages,
            "python": self.python_version,
            "channels": self.channels,
        }


def _relative_to(item: str, folder: Path) -> str:
    """A requirements line with a relative local path (``-f ./wheels``, ``./pkg.whl``) made absolute from ``folder``."""
    for option in ("--find-links=", "--find-links ", "-f "):
        if item.startswith(option):
            target = item[len(option) :].strip()
            if "://" not in target and not Path(target).is_absolute():
                return f"{option.strip().rstrip('=')} {(folder / target).resolve()}"
            return item
    if item.endswith((".whl", ".tar.gz", ".zip")) and item.startswith(("./", "../")):
        return str((folder / item).resolve())
    return item


class PythonSection:
    def __init__(self) -> None:
        self.conda_dependencies = CondaDependencies()
        self.user_managed_dependencies = False
        self.interpreter_path = "python"


class DockerSection:
    def __init__(self) -> None:
        self.enabled = False
        self.base_image: str | None = None
        self.base_dockerfile: str | None = None
        self.shm_size: str | None = None
        self.arguments: list[str] = []

    @property
    def use_docker(self) -> bool:
        return self.enabled

    @use_docker.setter
    def use_docker(self, value: bool) -> None:
        self.enabled = bool(value)


class Environment:
    """A named software environment for steps (v1 ``Environment``)."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise DefinitionError(f"Environment name must be a non-empty string, got {name!r}.")
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = {}

    @classmethod
    def from_pip_requirements(cls, name: str, file_path: str, pip_version: str | None = None) -> Environment:
        path = Path(file_path)
        if not path.is_file():
            raise DefinitionError(
                f"Environment {name!r}: requirements file {file_path} does not exist.", path=file_path
            )
        env = cls(name)
        for line in path.read_text(encoding="utf-8").splitlines():
            item = line.split("#", 1)[0].strip()
            if item:
                env.python.conda_dependencies.add_pip_package(_relative_to(item, path.parent))
        return env

    @classmethod
    def from_conda_specification(cls, name: str, file_path: str) -> Environment:
        env = cls(name)
        env.python.conda_dependencies = CondaDependencies(file_path)
        return env

    @classmethod
    def from_dockerfile(
        cls, name: str, dockerfile: str, conda_specification: str | None = None, pip_requirements: str | None = None
    ) -> Environment:
        env = cls.from_pip_requirements(name, pip_requirements) if pip_requirements else cls(name)
        path = Path(dockerfile)
        env.docker.base_dockerfile = path.read_text(encoding="utf-8") if path.is_file() else dockerfile
        env.docker.enabled = True
        return env

    def has_packages(self) -> bool:
        deps = self.python.conda_dependencies
        return bool(deps.pip_packages or deps.conda_packages)

    def _spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "python": self.python.conda_dependencies._spec(),
            "user_managed": self.python.user_managed_dependencies,
            "docker": {
                "enabled": self.docker.enabled,
                "base_image": self.docker.base_image,
                "dockerfile": self.docker.base_dockerfile,
            },
            "env": self.environment_variables,
        }

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self._spec(), sort_keys=True).encode()).hexdigest()

    def _to_dict(self) -> dict[str, Any]:
        """Everything that defines the environment, as JSON (what ``register`` stores; no version)."""
        deps = self.python.conda_dependencies
        return {
            "name": self.name,
            "python": {
                "pip": list(deps.pip_packages),
                "conda": list(deps.conda_packages),
                "python": deps.python_version,
                "channels": list(deps.channels),
                "user_managed": self.python.user_managed_dependencies,
                "interpreter_path": self.python.interpreter_path,
            },
            "docker": {
                "enabled": self.docker.enabled,
                "base_image": self.docker.base_image,
                "dockerfile": self.docker.base_dockerfile,
                "shm_size": self.docker.shm_size,
                "arguments": list(self.docker.arguments),
            },
            # as strings, as _from_dict reads them: an unchanged environment registers as the same version
            "environment_variables": {str(k): str(v) for k, v in self.environment_variables.items()},
        }

    @classmethod
    def _from_dict(cls, doc: dict[str, Any], version: str | None = None) -> Environment:
        env = cls(doc["name"])
        python, docker = doc.get("python", {}), doc.get("docker", {})
        deps = CondaDependencies.create(
            pip_packages=python.get("pip"), conda_packages=python.get("conda"), python_version=python.get("python")
        )
        deps.channels = list(python.get("channels", []))
        env.python.conda_dependencies = deps
        env.python.user_managed_dependencies = bool(python.get("user_managed", False))
        env.python.interpreter_path = python.get("interpreter_path") or "python"
        env.docker.enabled = bool(docker.get("enabled", False))
        env.docker.base_image = docker.get("base_image")
        env.docker.base_dockerfile = docker.get("dockerfile")
        env.docker.shm_size = docker.get("shm_size")
        env.docker.arguments = list(docker.get("arguments", []))
        env.environment_variables = {str(k): str(v) for k, v in doc.get("environment_variables", {}).items()}
        env.version = version
        return env

    # -- the workspace's registry of environments (v1 Environment.register / get / list) --
    def register(self, workspace: Any) -> Environment:
        """Register this environment in ``workspace`` and return the registered one, with its ``version``.

        Versions are "1", "2", ...; registering a definition equal to the latest
        version of the name returns that version instead of adding one (as v1 does).
        """
        from jupyter_amlpipe.core import environment_registry

        return environment_registry.register(workspace, self)

    @staticmethod
    def get(workspace: Any, name: str, version: str | int | None = None) -> Environment:
        """The registered environment ``name`` (its latest version, or ``version``)."""
        from jupyter_amlpipe.core import environment_registry

        return environment_registry.get(workspace, name, version)

    @staticmethod
    def list(workspace: Any) -> dict[str, Environment]:
        """Every environment registered in ``workspace``: name -> its latest version."""
        from jupyter_amlpipe.core import environment_registry

        return environment_registry.list_latest(workspace)

    def __repr__(self) -> str:
        version = f", version={self.version!r}" if self.version is not None else ""
        return f"Environment(name={self.name!r}{version})"


class RunConfiguration:
    """How a step runs (v1 ``RunConfiguration``): environment, limits, target."""

    def __init__(
        self,
        script: str | None = None,
        arguments: list[str] | None = None,
        framework: str = "Python",
        communicator: str | None = None,
        conda_dependencies: CondaDependencies | None = None,
        _history_enabled: bool | None = None,
        _path: str | None = None,
        _name: str | None = None,
        command: Any = None,
        environment: Environment | None = None,
    ) -> None:
        self.script = script
        self.arguments = list(arguments or [])
        self.framework = framework
        self.environment = environment or Environment("default-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self.target: Any = None
        self.max_run_duration_seconds: float | None = None
        self.node_count = 1
        self.environment_variables: dict[str, str] = {}
        self.command = command

    @property
    def docker(self) -> DockerSection:
        return self.environment.docker

    @property
    def conda_dependencies(self) -> CondaDependencies:
        return self.environment.python.conda_dependencies

    @conda_dependencies.setter
    def conda_dependencies(self, value: CondaDependencies) -> None:
        self.environment.python.conda_dependencies = value
