"""Finding and writing workspace configuration files, the way Azure ML SDK v1 does.

v1 writes ``<folder>/.azureml/config.json`` and ``Workspace.from_config()``
searches the given folder, its ``.azureml/`` and then each parent folder. A v1
file names an Azure workspace (subscription_id, resource_group,
workspace_name); ours adds ``workspace_path``, the absolute folder of the local
workspace. A v1 file without a folder maps the name onto
``<default root>/<workspace_name>``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed

CONFIG_DIR = ".azureml"
CONFIG_FILE = "config.json"
WORKSPACE_FILE = "workspace.json"
HOME_ENV = "AMLPIPE_HOME"


def default_root() -> Path:
    """Where workspaces named without a folder live (``$AMLPIPE_HOME/workspaces``)."""
    home = os.environ.get(HOME_ENV)
    base = Path(home).expanduser() if home else Path.home() / ".amlpipe"
    return base / "workspaces"


def candidate_files(start: Path, file_name: str = CONFIG_FILE) -> list[Path]:
    """The config files ``from_config`` looks at, nearest first."""
    start = start.expanduser().resolve()
    if start.is_file():
        return [start]
    out: list[Path] = []
    for folder in (start, *start.parents):
        out.append(folder / file_name)
        out.append(folder / CONFIG_DIR / file_name)
    return out


def find_config(path: str | os.PathLike[str] | None, file_name: str | None = None) -> tuple[Path, dict[str, Any]]:
    """Return the first config file found from ``path`` (default: cwd) upwards."""
    start = Path(path) if path is not None else Path.cwd()
    names = [file_name] if file_name else [CONFIG_FILE]
    for name in names:
        for candidate in candidate_files(start, name):
            if candidate.is_file():
                return candidate, read_json(candidate)
    raise LookupFailed(
        f"No workspace config file ({CONFIG_DIR}/{names[0]}) in {start} or any parent folder. "
        "Create a workspace with Workspace.create(name, path=...) and call ws.write_config(), "
        "or run: amlpipe workspace create NAME --path FOLDER",
        path=str(start),
    )


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            f"Config file {path} is not valid JSON ({exc}). Fix or delete it.", path=str(path)
        ) from exc
    if not isinstance(data, dict):
        raise DefinitionError(f"Config file {path} must hold a JSON object.", path=str(path))
    return data


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=repr) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def workspace_folder_from_config(config_file: Path, data: dict[str, Any]) -> Path:
    """The local workspace folder a config file points to."""
    folder = data.get("workspace_path")
    if folder:
        p = Path(folder).expanduser()
        return p if p.is_absolute() else (config_file.parent / p).resolve()
    name = data.get("workspace_name") or data.get("name")
    if not name:
        raise DefinitionError(
            f"Config file {config_file} names no workspace: it needs 'workspace_path' or 'workspace_name'.",
            path=str(config_file),
        )
    return default_root() / str(name)
