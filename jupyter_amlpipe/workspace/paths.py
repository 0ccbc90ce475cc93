"""Paths relative to a root that must stay inside it.

Every path a user gives for a datastore (``path_on_datastore``,
``target_path``, ``prefix``) or for a snapshot goes through
:func:`normalize_relpath` before it is joined to a root, so that ``..``,
absolute paths, drive letters and NUL characters can never reach a file outside
the root. Paths are normalized to POSIX style (``/`` separators), the form
fsspec expects on every filesystem.

Only the standard library is used here: this module is imported by the
datastore and snapshot modules at import time.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from jupyter_amlpipe.errors import DefinitionError

__all__ = ["is_within", "normalize_relpath", "safe_join", "safe_join_path"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def _refuse(message: str, rel: str, what: str) -> DefinitionError:
    return DefinitionError(message, path=rel, owner=what)


def normalize_relpath(
    rel: str | os.PathLike[str] | None, what: str, *, label: str = "path", allow_root: bool = False
) -> str:
    """Return ``rel`` as a normalized POSIX path relative to the root of ``what``.

    ``what`` names the owner of the root in error messages (for example
    ``"datastore 'workspaceblobstore'"``); ``label`` names the argument (for
    example ``"path_on_datastore"``). The root itself (``""``, ``"."``,
    ``None``) is returned as ``""`` when ``allow_root`` is true and refused
    otherwise. Backslashes count as separators; ``a/../b`` becomes ``b``.

    Raises:
        DefinitionError: the path is empty, contains a NUL character, is
            absolute (``/x``, ``C:\\x``) or climbs out of the root with ``..``.
    """
    text = "" if rel is None else os.fspath(rel)
    if "\x00" in text:
        raise _refuse(f"{label} {text!r} of {what} contains a NUL character: remove it.", text, what)
    posix = text.replace("\\", "/")
    if posix.startswith("/") or _DRIVE.match(posix):
        suggestion = posix.lstrip("/") if posix.startswith("/") else posix[2:].lstrip("/")
        raise _refuse(
            f"{label} {text!r} is absolute, but paths on {what} are relative to its root: "
            f"drop the leading '/' or drive (for example {suggestion!r}).",
            text,
            what,
        )
    normalized = posixpath.normpath(posix) if posix else "."
    if normalized == ".." or normalized.startswith("../"):
        raise _refuse(
            f"{label} {text!r} escapes the root of {what}: use a path relative to that root, without '..'.",
            text,
            what,
        )
    if normalized == ".":
        if not allow_root:
            raise _refuse(f"{label} is empty: name a file or folder on {what}.", text, what)
        return ""
    return normalized


def safe_join(
    root: str, rel: str | os.PathLike[str] | None, what: str, *, label: str = "path", allow_root: bool = False
) -> str:
    """Join ``rel`` to the fsspec path ``root``, refusing paths that leave it.

    The result uses ``/`` separators. See :func:`normalize_relpath` for what is
    refused and for the meaning of ``what``, ``label`` and ``allow_root``.
    """
    normalized = normalize_relpath(rel, what, label=label, allow_root=allow_root)
    if not normalized:
        return root
    base = root.rstrip("/")
    if not base and not root.startswith("/"):  # a filesystem whose paths have no root folder
        return normalized
    return f"{base}/{normalized}"


def safe_join_path(
    root: Path, rel: str | os.PathLike[str] | None, what: str, *, label: str = "path", allow_root: bool = False
) -> Path:
    """Like :func:`safe_join` for a local :class:`~pathlib.Path` root.

    Symlinks are not resolved here; use :func:`is_within` on the result when a
    link inside ``root`` could point out of it.
    """
    normalized = normalize_relpath(rel, what, label=label, allow_root=allow_root)
    return root.joinpath(*normalized.split("/")) if normalized else root


def is_within(root: Path, path: Path) -> bool:
    """Whether ``path`` is ``root`` or inside it, after resolving symlinks of both."""
    real_root = Path(os.path.realpath(root))
    real_path = Path(os.path.realpath(path))
    return real_path == real_root or real_path.is_relative_to(real_root)
