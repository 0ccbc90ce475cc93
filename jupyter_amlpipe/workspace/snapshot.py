"""Content-addressed snapshots of a step's source directory.

A snapshot is a manifest ``{relpath: {"sha256", "size", "mode"}}`` of the files
of a source directory, minus ignored ones. File contents are stored once per
content (:class:`~jupyter_amlpipe.workspace.objects.ObjectStore`: small files
appended to pack files, large ones as files of their own); the manifest is stored as
canonical JSON under ``<root>/manifests/<id>.json``, where ``id`` is the sha256
of that JSON. The id therefore changes exactly when a kept file's path, bytes
or executable bit changes, and serves as the code part of a step's reuse key.

Ignore rules: ``.amlignore`` in the source directory if it exists, otherwise its
``.gitignore`` (only one of them applies), with gitignore semantics
(``pathspec``). ``.git/``, ``__pycache__/``, ``.ipynb_checkpoints/`` and any
workspace folder (one holding ``workspace.json`` and ``amlpipe.db``) are always
left out. A symlink to a file or folder inside the source directory is
followed; one pointing outside is refused.

A second snapshot of an unchanged tree reads no file: an index keyed by
``(relpath, size, mtime_ns, inode, ctime_ns)`` remembers each file's sha256, in memory
(per process) and on disk under ``<root>/index/``. As in git, files modified
less than :data:`RACY_NS` before a snapshot are not trusted to the index, so a
change within the timestamp granularity is never missed.

A folder over :data:`MAX_FILES` files or :data:`MAX_BYTES` bytes (Azure ML
v1's limits) is still snapshotted; ``Snapshot.warning`` then names its biggest
top-level entries and points at ``.amlignore``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from jupyter_amlpipe.errors import AmlpipeError, DefinitionError, LookupFailed
from jupyter_amlpipe.workspace.objects import PACK_MAX_OBJECT, Batch, ObjectStore, write_atomic
from jupyter_amlpipe.workspace.paths import is_within, safe_join_path
from jupyter_amlpipe.workspace.snapshot_limits import MAX_BYTES, MAX_FILES, format_size, size_warning

__all__ = ["ALWAYS_EXCLUDED", "MAX_BYTES", "MAX_FILES", "FileEntry", "Snapshot", "SnapshotStore", "format_size"]

ALWAYS_EXCLUDED = frozenset({".git", "__pycache__", ".ipynb_checkpoints"})
IGNORE_FILES = (".amlignore", ".gitignore")
RACY_NS = 2_000_000_000  # files younger than this are re-read next time
_CHUNK = 1024 * 1024
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
# Azure ML v1's snapshot limits: over them take() attaches a warning (Snapshot.warning) and still works.

# One entry per relpath, per source directory.
_IndexEntry = tuple[int, int, int, int, str]  # size, mtime_ns, inode, ctime_ns, sha256
_Index = dict[str, _IndexEntry]


@dataclass(frozen=True)
class FileEntry:
    """One file of a snapshot: its content hash, size and mode (0o644 or 0o755)."""

    sha256: str
    size: int
    mode: int

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "mode": self.mode}


@dataclass(frozen=True)
class Snapshot:
    """A snapshot: its id (the manifest's sha256), its files, and where it was taken from."""

    id: str
    files: dict[str, FileEntry] = field(compare=False)
    source_dir: Path | None = field(default=None, compare=False)
    # Set by take() when the folder is over the size limits (it still works): what to leave out, and how.
    warning: str | None = field(default=None, compare=False)

    @property
    def digest(self) -> str:
        """A content hash of the snapshot (paths, bytes and modes of its files), for reuse keys."""
        return self.id

    def manifest(self) -> dict[str, dict[str, Any]]:
        """The manifest as stored: ``{relpath: {"sha256", "size", "mode"}}``."""
        return {rel: entry.to_json() for rel, entry in self.files.items()}


def _canonical(manifest: dict[str, dict[str, Any]]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _normalized_mode(st_mode: int) -> int:
    """0o755 for executable files, else 0o644 (like git), so umasks do not change ids."""
    return 0o755 if st_mode & 0o111 else 0o644


def _is_workspace(folder: str) -> bool:
    """A workspace folder (``workspace.json`` + ``amlpipe.db``): its database and runs are never code."""
    return os.path.isfile(os.path.join(folder, "workspace.json")) and os.path.exists(os.path.join(folder, "amlpipe.db"))


class _Walk:
    """One walk of a source directory: ignore rules, symlink checks, the files kept."""

    def __init__(self, source: Path, spec: Any) -> None:
        self.source = source
        self.real_root = os.path.realpath(source)
        self.spec = spec
        self.files: list[tuple[str, str, os.stat_result]] = []  # (relpath, path, stat)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        if self.spec is None:
            return False
        return bool(self.spec.match_file(rel + "/" if is_dir else rel))

    def run(self) -> list[tuple[str, str, os.stat_result]]:
        self._folder(str(self.source), "", (self.real_root,))
        return self.files

    def _folder(self, path: str, prefix: str, ancestors: tuple[str, ...]) -> None:
        with os.scandir(path) as it:
            entries = list(it)  # the manifest is sorted; walking order does not matter
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_symlink():
                self._link(entry, rel, ancestors)
            elif entry.is_dir(follow_symlinks=False):
                if entry.name not in ALWAYS_EXCLUDED and not self.ignored(rel, True) and not _is_workspace(entry.path):
                    self._folder(entry.path, rel + "/", (*ancestors, os.path.realpath(entry.path)))
            elif entry.is_file(follow_symlinks=False) and not self.ignored(rel, False):
                self.files.append((rel, entry.path, entry.stat(follow_symlinks=False)))

    def _link(self, entry: os.DirEntry[str], rel: str, ancestors: tuple[str, ...]) -> None:
        target = os.path.realpath(entry.path)
        is_dir = os.path.isdir(target)
        if (is_dir and entry.name in ALWAYS_EXCLUDED) or self.ignored(rel, is_dir):
            return
        if not is_within(Path(self.real_root), Path(target)):
            raise DefinitionError(
                f"Symlink {rel!r} in source directory {str(self.source)!r} points outside it, to {target!r}. "
                "Copy the file into the source directory or remove the link (or list it in .amlignore).",
                link=rel,
                target=target,
            )
        if not os.path.exists(target):
            raise DefinitionError(
                f"Symlink {rel!r} in source directory {str(self.source)!r} points to {target!r}, which does not "
                "exist. Fix or remove the link (or list it in .amlignore).",
                link=rel,
                target=target,
            )
        if is_dir:
            if target in ancestors:
                raise DefinitionError(
                    f"Symlink {rel!r} in source directory {str(self.source)!r} points to its own parent folder "
                    f"{target!r}, which would repeat forever. Remove the link or list it in .amlignore.",
                    link=rel,
                    target=target,
                )
            self._folder(entry.path, rel + "/", (*ancestors, target))
        else:
            self.files.append((rel, entry.path, os.stat(entry.path)))


class SnapshotStore:
    """Snapshots stored under ``root`` (a workspace's ``snapshots/`` folder)."""

    # Shared by every store object of the process: ws.snapshots builds a new one each time.
    _memory_index: ClassVar[dict[tuple[str, str], _Index]] = {}
    _memory_snapshots: ClassVar[dict[tuple[str, str], tuple[_Index, Snapshot]]] = {}
    _index_ids: ClassVar[dict[tuple[str, str], str]] = {}  # the manifest id an index was saved with
    _index_warnings: ClassVar[dict[tuple[str, str], str | None]] = {}  # and that snapshot's size warning
    _spec_cache: ClassVar[dict[str, Any]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.objects = ObjectStore(self.root)

    # -- layout --------------------------------------------------------------
    def has_object(self, sha256: str) -> bool:
        """Whether the contents with this sha256 are stored."""
        return self.objects.has(sha256)

    def manifest_path(self, snapshot_id: str) -> Path:
        """Where the manifest of this snapshot lives."""
        return self.root / "manifests" / f"{snapshot_id}.json"

    def _index_path(self, source_key: str) -> Path:
        return self.root / "index" / (hashlib.sha256(source_key.encode("utf-8")).hexdigest()[:32] + ".json")

    # -- taking ----------------------------------------------------------------
    def take(self, source_dir: Path | str) -> Snapshot:
        """Snapshot ``source_dir``: store new file objects and the manifest; return the Snapshot.

        Raises:
            DefinitionError: the folder does not exist, or a symlink in it points
                outside it, nowhere, or to one of its parents.
        """
        source = Path(source_dir)
        if not source.is_dir():
            raise DefinitionError(
                f"Source directory {str(source)!r} does not exist or is not a folder: "
                "pass the folder that holds the step's script (source_directory=...).",
                source_dir=str(source),
            )
        started = time.time_ns()
        key = (str(self.root.absolute()), os.path.realpath(source))
        old_index = self._load_index(key)
        new_index: _Index = {}
        files: dict[str, FileEntry] = {}
        walked = _Walk(source, self._ignore_spec(source)).run()
        with self.objects.batch() as batch:  # new objects are published before any manifest names them
            for rel, path, st in walked:
                sha = self._file_sha(path, rel, st, old_index, new_index, started, batch)
                files[rel] = FileEntry(sha, st.st_size, _normalized_mode(st.st_mode))
        unchanged = new_index == old_index and len(new_index) == len(files)  # every file known, none read
        remembered = self._memory_snapshots.get(key)
        known_id = self._index_ids.get(key)
        if unchanged and remembered is not None and remembered[0] is old_index:
            snapshot = remembered[1]  # same files, same stats as last time in this process: same manifest
        elif unchanged and known_id is not None and self.has(known_id):
            # Same files, same stats as when the index was saved with this manifest id: no need to rebuild it.
            known = key in self._index_warnings
            warning = self._index_warnings[key] if known else size_warning(source, files)
            snapshot = Snapshot(id=known_id, files=dict(sorted(files.items())), source_dir=source, warning=warning)
        else:
            snapshot = self._store_manifest(files, source, new_index)
            warning = size_warning(source, files)
            snapshot = dataclasses.replace(snapshot, warning=warning) if warning else snapshot
        if not unchanged or known_id != snapshot.id or key not in self._index_warnings:
            self._save_index(key, new_index, snapshot.id, snapshot.warning)
        self._memory_snapshots[key] = (self._memory_index[key], snapshot)
        return snapshot

    def _file_sha(
        self, path: str, rel: str, st: os.stat_result, old: _Index, new: _Index, started: int, batch: Batch
    ) -> str:
        """The sha256 of one file: from the index when size, mtime, inode and ctime match, else read."""
        cached = old.get(rel)
        if cached is not None and cached[:4] == (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns):
            new[rel] = cached  # its object is checked in take() unless the manifest is already stored
            return cached[4]
        sha = self._digest_and_store(path, batch)
        if st.st_mtime_ns < started - RACY_NS:
            new[rel] = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, sha)
        return sha

    def _digest_and_store(self, path: str, batch: Batch) -> str:
        """Read one file, store its object if absent, return its sha256.

        This is the only place file contents are read while taking a snapshot.
        """
        with open(path, "rb") as handle:
            small = os.fstat(handle.fileno()).st_size <= PACK_MAX_OBJECT
            data = handle.read() if small else handle.read(_CHUNK)  # read(n) would allocate n bytes first
            if small:
                sha = hashlib.sha256(data).hexdigest()
                batch.add(sha, data)
                return sha
            digest = hashlib.sha256(data)
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        if not batch.has(sha):
            self.objects.add_loose(path, sha)
        return sha

    def _store_manifest(
        self, files: dict[str, FileEntry], source: Path | None, index: _Index | None = None
    ) -> Snapshot:
        manifest = {rel: files[rel].to_json() for rel in sorted(files)}
        data = _canonical(manifest)
        snapshot_id = hashlib.sha256(data).hexdigest()
        target = self.manifest_path(snapshot_id)
        if not target.exists():
            # A stored manifest's objects are all stored (gc drops manifests before objects); a new one's
            # objects known only from the index are checked, and stored again from the source if gone.
            if source is not None:
                with self.objects.batch() as batch:
                    for rel, entry in files.items():
                        if not batch.has(entry.sha256, entry.size):
                            self._digest_and_store(str(source / rel), batch)
            write_atomic(target, data)
        return Snapshot(id=snapshot_id, files=dict(sorted(files.items())), source_dir=source)

    # -- ignore rules ------------------------------------------------------------
    def _ignore_spec(self, source: Path) -> Any:
        """The compiled rules of ``.amlignore`` (or else ``.gitignore``), or None when neither exists."""
        for name in IGNORE_FILES:
            candidate = source / name
            if candidate.is_file():
                return self._compile(candidate.read_text(encoding="utf-8", errors="replace"))
        return None

    @classmethod
    def _compile(cls, text: str) -> Any:
        spec = cls._spec_cache.get(text)
        if spec is None:
            import pathspec

            spec = pathspec.GitIgnoreSpec.from_lines(text.splitlines())
            with cls._lock:
                if len(cls._spec_cache) > 256:
                    cls._spec_cache.clear()
                cls._spec_cache[text] = spec
        return spec

    # -- the fast-path index ---------------------------------------------------------
    def _load_index(self, key: tuple[str, str]) -> _Index:
        cached = self._memory_index.get(key)
        if cached is not None:
            return cached
        index: _Index = {}
        try:
            raw = json.loads(self._index_path(key[1]).read_text(encoding="utf-8"))
            if raw.get("source_dir") == key[1]:
                if isinstance(raw.get("snapshot_id"), str):
                    self._index_ids[key] = raw["snapshot_id"]
                    if "warning" in raw:
                        self._index_warnings[key] = raw["warning"]
                index = {rel: tuple(v) for rel, v in raw["entries"].items() if len(v) == 5}
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            index = {}  # no index yet, or a damaged one: files are read again
        with self._lock:
            self._memory_index[key] = index
        return index

    def _save_index(self, key: tuple[str, str], index: _Index, snapshot_id: str, warning: str | None) -> None:
        with self._lock:
            self._memory_index[key] = index
            self._index_ids[key] = snapshot_id
            self._index_warnings[key] = warning
        doc = {"source_dir": key[1], "entries": index, "snapshot_id": snapshot_id, "warning": warning}
        data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        with contextlib.suppress(OSError):  # the on-disk index is only a speed-up
            write_atomic(self._index_path(key[1]), data)

    # -- reading back -------------------------------------------------------------
    def has(self, snapshot_id: str) -> bool:
        """Whether a snapshot with this id is stored."""
        return bool(_SHA_RE.match(snapshot_id)) and self.manifest_path(snapshot_id).is_file()

    def load(self, snapshot_id: str) -> Snapshot:
        """The stored snapshot with this id (``source_dir`` is None).

        Raises:
            LookupFailed: no such snapshot in this store.
        """
        if not isinstance(snapshot_id, str) or not _SHA_RE.match(snapshot_id):
            raise LookupFailed(
                f"{snapshot_id!r} is not a snapshot id: ids are 64 lowercase hex characters (Snapshot.id).",
                snapshot_id=snapshot_id,
            )
        try:
            manifest = json.loads(self.manifest_path(snapshot_id).read_bytes())
        except FileNotFoundError:
            raise LookupFailed(
                f"No snapshot {snapshot_id!r} in {str(self.root)!r}: take one with SnapshotStore.take(source_dir).",
                snapshot_id=snapshot_id,
            ) from None
        files = {rel: FileEntry(str(e["sha256"]), int(e["size"]), int(e["mode"])) for rel, e in manifest.items()}
        return Snapshot(id=snapshot_id, files=files, source_dir=None)

    def materialize(self, snapshot: Snapshot | str, dest: Path | str) -> Path:
        """Copy the files of ``snapshot`` (an object or an id) into ``dest``; return ``dest``.

        Folders are created; each file gets its recorded mode.

        Raises:
            LookupFailed: the snapshot is unknown.
            AmlpipeError: an object is missing or damaged (take the snapshot again).
        """
        snap = self.load(snapshot) if isinstance(snapshot, str) else snapshot
        target_root = Path(dest)
        target_root.mkdir(parents=True, exist_ok=True)
        made: set[Path] = {target_root}
        with self.objects.reader() as reader:
            for rel, entry in snap.files.items():
                target = safe_join_path(target_root, rel, f"snapshot {snap.id[:12]}")
                if target.parent not in made:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    made.add(target.parent)
                if target.is_symlink() or target.exists():
                    target.unlink()
                try:
                    reader.copy_to(entry.sha256, entry.size, target)
                except AmlpipeError:
                    raise AmlpipeError(
                        f"The snapshot object of {rel!r} ({entry.sha256[:12]}) is missing or damaged in "
                        f"{str(self.root)!r}. Take the snapshot again (submit the pipeline again).",
                        path=rel,
                        sha256=entry.sha256,
                    ) from None
                os.chmod(target, stat.S_IMODE(entry.mode))
        return target_root
