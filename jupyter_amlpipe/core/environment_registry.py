"""The workspace's registry of environments (v1 ``Environment.register``, ``Environment.get``, ``Environment.list``).

A registered environment is a JSON file in the workspace folder,
``environments/<name>/<version>.json``, versions numbered "1", "2", ... Each
file is written whole under a temporary name, then linked to its version's
name, which fails if another process took that version first: a reader never
sees a half-written version, and two writers never share one.

Only the workspace's folder is used (``workspace.path``), so this lives in the
core layer with :class:`~jupyter_amlpipe.core.environment.Environment`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from jupyter_amlpipe.core.environment import Environment
from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean

FOLDER = "environments"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_VERSION_FILE = re.compile(r"^([1-9][0-9]*)\.json$")


def _root(workspace: Any) -> Path:
    path = getattr(workspace, "path", None)
    if path is None:
        raise DefinitionError(
            f"Environments are registered in a workspace: pass a Workspace, got {type(workspace).__name__}."
        )
    return Path(path) / FOLDER


def _workspace_name(workspace: Any) -> str:
    return str(getattr(workspace, "name", None) or getattr(workspace, "path", "?"))


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DefinitionError(
            f"Environment name {name!r} cannot be registered: use letters, digits, '.', '-' and '_' "
            "(starting with a letter or digit, at most 255 characters).",
            name=name,
        )
    return name


def _versions(folder: Path) -> list[int]:
    """The version numbers registered in one environment's folder, lowest first."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _VERSION_FILE.match(entry.name)
        if match:
            found.append(int(match.group(1)))
    return sorted(found)


def _load(folder: Path, version: int) -> Environment:
    path = folder / f"{version}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LookupFailed(f"Registered environment file {path} cannot be read: {exc}", path=str(path)) from exc
    return Environment._from_dict(doc, version=str(version))


def registered_names(workspace: Any) -> list[str]:
    root = _root(workspace)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _NAME.match(p.name) and _versions(p))


def register(workspace: Any, environment: Environment) -> Environment:
    """Store ``environment`` as the next version of its name; an unchanged definition keeps its latest version."""
    name = _check_name(environment.name)
    folder = _root(workspace) / name
    folder.mkdir(parents=True, exist_ok=True)
    doc = environment._to_dict()
    versions = _versions(folder)
    if versions:
        latest = _load(folder, versions[-1])
        if latest._to_dict() == doc:
            return latest
    fd, temporary = tempfile.mkstemp(prefix=".register-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        version = (versions[-1] if versions else 0) + 1
        while True:
            try:
                os.link(temporary, folder / f"{version}.json")  # fails if that version exists: never overwritten
                break
            except FileExistsError:
                version += 1
    finally:
        os.unlink(temporary)
    return Environment._from_dict(doc, version=str(version))


def get(workspace: Any, name: str, version: str | int | None = None) -> Environment:
    """The registered environment ``name``: ``version``, or the latest one."""
    folder = _root(workspace) / name if isinstance(name, str) and _NAME.match(name) else None
    versions = _versions(folder) if folder is not None else []
    if folder is None or not versions:
        known = registered_names(workspace)
        raise LookupFailed(
            f"Environment {name!r} is not registered in workspace {_workspace_name(workspace)!r}."
            f"{did_you_mean(str(name), known)} Register it first: env.register(workspace).",
            name=name,
        )
    if version is None:
        return _load(folder, versions[-1])
    wanted = str(version).strip()
    if not wanted.isdigit() or int(wanted) not in versions:
        shown = ", ".join(repr(str(v)) for v in versions)
        raise LookupFailed(
            f"Environment {name!r} has no version {str(version)!r} in workspace {_workspace_name(workspace)!r}; "
            f"its versions are {shown}. Leave version out for the latest.",
            name=name,
            version=version,
        )
    return _load(folder, int(wanted))


def list_latest(workspace: Any) -> dict[str, Environment]:
    """Every registered environment, name -> its latest version, by name."""
    out: dict[str, Environment] = {}
    for name in registered_names(workspace):
        folder = _root(workspace) / name
        out[name] = _load(folder, _versions(folder)[-1])
    return out
