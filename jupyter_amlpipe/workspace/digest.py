"""Content digests of local files and folders, with a stat cache.

The digest of a file is the sha256 of its bytes; the digest of a folder is the
sha256 of the sorted list of ``(relative path, file digest)`` of every file in
it, so two folders with the same files in the same places have the same
digest wherever they are. A file whose ``(size, mtime_ns, inode, ctime_ns)``
has not changed since it was last read is not read again; the ctime, which no
user tool can set back, catches a rewrite that restores size and mtime. The
cache lives in the workspace database, so every process shares it. As in git,
a file modified less than :data:`RACY_NS` before it was read is not trusted to the cache.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, ClassVar

from jupyter_amlpipe.errors import LookupFailed

RACY_NS = 2_000_000_000
_CHUNK = 1024 * 1024


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _walk(root: str) -> list[tuple[str, str, os.stat_result]]:
    """``(relative posix path, absolute path, stat)`` of every file below ``root`` (symlinks followed)."""
    out: list[tuple[str, str, os.stat_result]] = []
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                if entry.is_dir():
                    stack.append((rel + "/", entry.path))
                elif entry.is_file():
                    out.append((rel, entry.path, entry.stat()))
    out.sort()
    return out


class ContentDigests:
    """Computes digests of local paths, reusing what the workspace's stat cache knows.

    Entries this process has seen are also kept in memory, so a warm process
    asks the database only about files it has not met. A memory entry can only
    be stale in a harmless way: its stat fields no longer match, and the file
    is read again.
    """

    _memories: ClassVar[dict[str, dict[str, tuple[int, int, int, int, str]]]] = {}  # per workspace database

    def __init__(self, store: Any) -> None:
        self.store = store
        self._memory = self._memories.setdefault(str(getattr(store, "path", id(store))), {})

    def digest(self, path: Path | str) -> str:
        """The content digest of a file or folder (``"file:<sha>"`` / ``"folder:<sha>"``)."""
        root = os.path.abspath(path)
        if os.path.isfile(root):
            st = os.stat(root)
            return "file:" + self._shas([("", root, st)], root)[root]
        if os.path.isdir(root):
            files = _walk(root)
            shas = self._shas(files, root.rstrip("/") + "/")
            h = hashlib.sha256()
            for rel, full, _ in files:
                h.update(f"{rel}\0{shas[full]}\n".encode())
            return "folder:" + h.hexdigest()
        raise LookupFailed(f"Cannot hash {root}: no such file or folder.", path=root)

    def _shas(self, files: list[tuple[str, str, os.stat_result]], prefix: str) -> dict[str, str]:
        memory = self._memory
        cached: dict[str, tuple[int, int, int, int, str]] = memory
        if any(full not in memory for _, full, _ in files):
            cached = {**self.store.cached_digests(prefix), **memory}
        now = time.time_ns()
        out: dict[str, str] = {}
        fresh: list[tuple[str, int, int, int, int, str]] = []
        for _, full, st in files:
            entry = cached.get(full)
            if entry is not None and entry[:4] == (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns):
                out[full] = entry[4]
                continue
            sha = file_sha256(full)
            out[full] = sha
            if st.st_mtime_ns < now - RACY_NS:
                fresh.append((full, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, sha))
        self.store.put_digests(fresh)
        if len(memory) > 200_000:
            memory.clear()
        for _, full, _st in files:
            entry = cached.get(full)
            if entry is not None and full in out and entry[4] == out[full]:
                memory[full] = entry
        for full, size, mtime, ino, ctime, sha in fresh:
            memory[full] = (size, mtime, ino, ctime, sha)
        return out
