"""The workspace's registry of environments (v1 ``Environment.register``, ``Environment.get``, ``Environment.list``).

A registered environment is a JSON file in the workspace folder,
``environments/<name>/<version>.json``, versions numbered "1", "2", ... Each
file is written whole under a temporary name, then hard-linked to its
version's name, which fails if another process took that version first: a
reader never sees a half-written version, and two writers never share one.

Where the filesystem has no hard links (some network and FUSE mounts,
Windows), the version's name is created with ``O_CREAT | O_EXCL`` instead,
which also fails if another process took it first, and the definition is
written into it and flushed. For that short while the file is empty or holds
part of the JSON: readers skip a version file they cannot parse when they look
for the latest version.

Registering takes a lock file (``.register.lock``, created with ``O_EXCL``)
around "is the definition unchanged? else add a version", so two identical
registrations at the same moment add one version, not two. A lock left by a
process that died is broken once it has stayed unchanged for
``LOCK_STALE_SECONDS``. Should two processes ever break the same stale lock
at once, the worst outcome is a duplicate version of an identical definition;
the version files themselves never depend on the lock.

Only the workspace's folder is used (``workspace.path``), so this lives in the
core layer with :class:`~jupyter_amlpipe.core.environment.Environment`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_amlpipe.core.environment import Environment
from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean

FOLDER = "environments"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_VERSION_FILE = re.compile(r"^([1-9][0-9]*)\.json$")
LOCK_NAME = ".register.lock"
LOCK_STALE_SECONDS = 30.0  # a lock unchanged for this long was left by a process that died
_LOCK_POLL_SECONDS = 0.02


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
        raise LookupFailed(
            f"Registered environment file {path} cannot be read (it may still be being written; try again): {exc}",
            path=str(path),
        ) from exc
    return Environment._from_dict(doc, version=str(version))


def _latest(folder: Path, versions: list[int]) -> Environment | None:
    """The highest version whose file is complete: one still being written (empty, partial JSON) is skipped."""
    for version in reversed(versions):
        try:
            doc = json.loads((folder / f"{version}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            return Environment._from_dict(doc, version=str(version))
    return None


@contextlib.contextmanager
def _register_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder/.register.lock`` (created with O_EXCL); removed on the way out, broken when stale."""
    lock = folder / LOCK_NAME
    token = f"{os.getpid()} {uuid.uuid4()}".encode()
    seen: tuple[bytes, float] | None = None  # (the lock's content, when we first saw it), by our own clock
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o644)
        except FileExistsError:
            try:
                content = lock.read_bytes()
            except FileNotFoundError:
                continue  # released meanwhile
            now = time.monotonic()
            if seen is None or seen[0] != content:
                seen = (content, now)
            elif now - seen[1] >= LOCK_STALE_SECONDS:
                with contextlib.suppress(FileNotFoundError):
                    if lock.read_bytes() == content:
                        lock.unlink()
                seen = None
                continue
            time.sleep(_LOCK_POLL_SECONDS)
            continue
        try:
            os.write(fd, token)
        finally:
            os.close(fd)
        break
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            if lock.read_bytes() == token:  # a lock broken as stale and retaken by another is not ours to remove
                lock.unlink()


def _write_exclusive(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``, flushed; FileExistsError if it exists (then nothing is written)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(folder: Path, data: bytes, first: int) -> int:
    """Store ``data`` as the lowest free version from ``first`` on; return that version.

    A temporary file hard-linked to the version's name where the filesystem allows it (readers never see
    it half-written), else the name created with O_EXCL and written in place. Either way, taking a version
    fails if it exists, so two writers never get the same one.
    """
    version = first
    fd, temporary = tempfile.mkstemp(prefix=".register-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        while True:
            try:
                os.link(temporary, folder / f"{version}.json")  # fails if that version exists: never overwritten
                return version
            except FileExistsError:
                version += 1
            except (OSError, AttributeError, NotImplementedError):
                break  # no hard links here (EPERM, ENOTSUP, ...): take the name with O_EXCL instead
    finally:
        os.unlink(temporary)
    while True:
        try:
            _write_exclusive(folder / f"{version}.json", data)
            return version
        except FileExistsError:
            version += 1


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
    data = json.dumps(doc, indent=2, sort_keys=True).encode("utf-8")
    with _register_lock(folder):  # the check and the new version together: identical registrations add one
        versions = _versions(folder)
        latest = _latest(folder, versions)
        if latest is not None and latest._to_dict() == doc:
            return latest
        version = _publish(folder, data, (versions[-1] if versions else 0) + 1)
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
        return _latest(folder, versions) or _load(folder, versions[-1])
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
        versions = _versions(folder)
        out[name] = _latest(folder, versions) or _load(folder, versions[-1])
    return out
