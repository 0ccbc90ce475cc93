"""File contents stored once by sha256: small files in pack files, large ones loose.

Creating one file per stored object costs as much as ``cp -r`` of the source
folder; a first snapshot of 10,000 small files would spend most of its time
there. So, like git, objects up to :data:`PACK_MAX_OBJECT` bytes are appended
to a *pack*: ``<root>/packs/<name>.pack`` (the objects' bytes, back to back)
with ``<root>/packs/<name>.idx`` (canonical JSON ``{"pack": NAME, "objects":
{sha256: [offset, size]}}``). A pack is written under a temporary name, renamed,
and only then is its index written (atomically); readers only trust indexes, so
a pack is never seen half-written. A pack holds at most :data:`PACK_MAX_BYTES`.

Larger objects are loose files, ``<root>/objects/<sha[:2]>/<sha>``.

An object may be stored twice (two processes taking the same new file at once);
``amlpipe gc`` drops packs with no wanted object and rewrites mostly dead ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from jupyter_amlpipe.errors import AmlpipeError

__all__ = ["PACK_MAX_BYTES", "PACK_MAX_OBJECT", "Batch", "ObjectStore", "Pack", "write_atomic"]

PACK_MAX_OBJECT = 4 * 1024 * 1024  # larger objects are stored loose
PACK_MAX_BYTES = 256 * 1024 * 1024  # a pack is closed once it holds this much
_CHUNK = 1024 * 1024
_QUEUED = 64  # objects waiting for the pack writer (at most 64 x PACK_MAX_OBJECT bytes)

_Location = tuple[str, int, int]  # pack name, offset, size


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file in the same folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class Pack:
    """One stored pack: its name, files and objects ``{sha256: (offset, size)}``."""

    name: str
    pack_path: Path
    index_path: Path
    objects: dict[str, tuple[int, int]]

    @property
    def size(self) -> int:
        """Bytes of the pack file (its objects, duplicates included)."""
        try:
            return self.pack_path.stat().st_size
        except OSError:
            return 0


class _PackIndex:
    """What a process knows of a store's packs: every object's location, refreshed from the index files."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.names: set[str] = set()
        self.where: dict[str, _Location] = {}
        self.loaded = False

    def refresh(self, folder: Path) -> None:
        """Read index files written since the last refresh; forget packs that were deleted."""
        try:
            present = {entry.name[:-4] for entry in os.scandir(folder) if entry.name.endswith(".idx")}
        except FileNotFoundError:
            present = set()
        with self.lock:
            if self.names - present:  # a pack was deleted: its objects may live on in another
                self.names, self.where = set(), {}
            for name in sorted(present - self.names):
                objects = _read_index(folder / f"{name}.idx")
                if objects is not None:
                    self.where.update({sha: (name, off, size) for sha, (off, size) in objects.items()})
            self.names = present
            self.loaded = True

    def add(self, name: str, objects: dict[str, tuple[int, int]]) -> None:
        with self.lock:
            self.names.add(name)
            self.where.update({sha: (name, off, size) for sha, (off, size) in objects.items()})


def _read_index(path: Path) -> dict[str, tuple[int, int]] | None:
    try:
        raw = json.loads(path.read_bytes())
        return {str(sha): (int(loc[0]), int(loc[1])) for sha, loc in raw["objects"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # being deleted, or damaged: its objects count as absent


class ObjectStore:
    """Objects under ``root``: ``packs/`` for small ones, ``objects/`` for large ones."""

    _indexes: ClassVar[dict[str, _PackIndex]] = {}
    _indexes_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.packs_dir = self.root / "packs"
        self.loose_dir = self.root / "objects"
        key = str(self.root.absolute())
        with self._indexes_lock:
            self._index = self._indexes.setdefault(key, _PackIndex())

    # -- looking up ------------------------------------------------------------------
    def loose_path(self, sha256: str) -> Path:
        """Where a loose (large) object with this content hash lives."""
        return self.loose_dir / sha256[:2] / sha256

    def refresh(self) -> None:
        """See packs written (or deleted) by other processes since the last look."""
        self._index.refresh(self.packs_dir)

    def size(self, sha256: str, size_hint: int | None = None) -> int | None:
        """The stored size of an object, or None when it is not stored.

        ``size_hint``: the object's size when known; a small one is looked for in packs only.
        """
        loc = self._index.where.get(sha256)
        if loc is None and not self._index.loaded:
            self.refresh()  # first look at this store in this process
            loc = self._index.where.get(sha256)
        if loc is not None:
            return loc[2]
        if size_hint is not None and size_hint <= PACK_MAX_OBJECT:
            return None
        try:
            return self.loose_path(sha256).stat().st_size
        except OSError:
            return None

    def has(self, sha256: str, size_hint: int | None = None) -> bool:
        """Whether an object is stored (as this process last saw the packs)."""
        return self.size(sha256, size_hint) is not None

    # -- writing ---------------------------------------------------------------------------
    def batch(self) -> Batch:
        """A batch of new objects: small ones go to new packs, published when the batch closes."""
        self.refresh()
        return Batch(self)

    def add_loose(self, path: str, sha256: str) -> None:
        """Copy a large file into the store, checking it did not change since it was hashed."""
        import hashlib

        target = self.loose_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                for chunk in iter(lambda: src.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                raise AmlpipeError(
                    f"File {path!r} changed while it was being snapshotted. Stop whatever writes it, then submit again.",
                    path=path,
                )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # -- reading ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def reader(self) -> Iterator[_Reader]:
        """A reader that keeps pack files open while many objects are copied out."""
        reader = _Reader(self)
        try:
            yield reader
        finally:
            reader.close()

    # -- listing, for gc ---------------------------------------------------------------------
    def packs(self) -> list[Pack]:
        """The stored packs (those with a readable index)."""
        out: list[Pack] = []
        if not self.packs_dir.is_dir():
            return out
        for index_path in sorted(self.packs_dir.glob("*.idx")):
            objects = _read_index(index_path)
            if objects is not None:
                name = index_path.stem
                out.append(Pack(name, self.packs_dir / f"{name}.pack", index_path, objects))
        return out

    def loose(self) -> Iterator[tuple[str, Path]]:
        """``(sha256, path)`` of every loose object (files being written are left out)."""
        if not self.loose_dir.is_dir():
            return
        for shard in sorted(self.loose_dir.iterdir()):
            if shard.is_dir():
                for obj in sorted(shard.iterdir()):
                    if not obj.name.startswith("."):
                        yield obj.name, obj

    def repack(self, pack: Pack, keep: set[str]) -> None:
        """Write a new pack holding only ``keep`` of ``pack``'s objects, then delete ``pack``."""
        with self.reader() as reader, self.batch() as batch:
            for sha in sorted(keep & pack.objects.keys()):
                data = reader.read(sha, pack.objects[sha][1], where=(pack.name, *pack.objects[sha]))
                batch.add(sha, data, again=True)
        self.remove_pack(pack)

    def remove_pack(self, pack: Pack) -> None:
        """Delete a pack: its index first, so no reader trusts a pack that is going away."""
        pack.index_path.unlink(missing_ok=True)
        pack.pack_path.unlink(missing_ok=True)
        self.refresh()


class _Appender:
    """Appends to a new file from a thread of its own, so hashing the next file overlaps writing this one."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._file = os.fdopen(fd, "wb")
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="amlpipe-pack-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._file.write(data)
                except BaseException as exc:  # reported by write() or close() in the caller's thread
                    self._error = exc

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def close(self) -> None:
        """Wait for every queued write, close the file; raise the first write error."""
        self._queue.put(None)
        self._thread.join()
        self._file.close()
        if self._error is not None:
            raise self._error


class Batch:
    """New small objects appended to a pack, published (renamed, indexed) on close."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._appender: _Appender | None = None
        self._objects: dict[str, tuple[int, int]] = {}
        self._offset = 0

    def has(self, sha256: str, size_hint: int | None = None) -> bool:
        """Stored already, or added to this batch."""
        return sha256 in self._objects or self._store.has(sha256, size_hint)

    def add(self, sha256: str, data: bytes, again: bool = False) -> None:
        """Store ``data`` (whose sha256 is given) unless it is stored already (``again``: even then)."""
        if sha256 in self._objects or (not again and self._store.has(sha256, len(data))):
            return
        if self._appender is None:
            self._store.packs_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._store.packs_dir, prefix=".tmp-", suffix=".pack")
            self._appender = _Appender(tmp, fd)
        self._appender.write(data)
        self._objects[sha256] = (self._offset, len(data))
        self._offset += len(data)
        if self._offset >= PACK_MAX_BYTES:
            self._publish()

    def _publish(self) -> None:
        appender, objects = self._appender, self._objects
        if appender is None:
            return
        self._appender, self._objects, self._offset = None, {}, 0
        try:
            appender.close()
            name = uuid.uuid4().hex
            folder = self._store.packs_dir
            os.replace(appender.path, folder / f"{name}.pack")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(appender.path)
            raise
        doc = {"pack": name, "objects": {sha: list(loc) for sha, loc in sorted(objects.items())}}
        write_atomic(folder / f"{name}.idx", json.dumps(doc, separators=(",", ":")).encode("utf-8"))
        self._store._index.add(name, objects)

    def __enter__(self) -> Batch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._publish()  # objects written so far are whole: keep them even when the caller failed


class _Reader:
    """Copies objects out of a store, with pack files kept open."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._files: dict[str, int] = {}
        self._refreshed = False

    def _locate(self, sha256: str) -> _Location | None:
        loc = self._store._index.where.get(sha256)
        if loc is None and not self._refreshed:
            self._store.refresh()  # another process may have stored it since this one looked
            self._refreshed = True
            loc = self._store._index.where.get(sha256)
        return loc

    def read(self, sha256: str, size: int, where: _Location | None = None) -> bytes:
        """The bytes of a packed object (``where``: its location, when known)."""
        loc = where or self._locate(sha256)
        if loc is None or loc[2] != size:
            raise _missing(sha256)
        fd = self._files.get(loc[0])
        if fd is None:
            try:
                fd = os.open(self._store.packs_dir / f"{loc[0]}.pack", os.O_RDONLY)
            except OSError:
                raise _missing(sha256) from None
            self._files[loc[0]] = fd
        data = os.pread(fd, size, loc[1])
        if len(data) != size:
            raise _missing(sha256)
        return data

    def copy_to(self, sha256: str, size: int, target: Path) -> None:
        """Write the object to ``target`` (which must not exist)."""
        loose = self._store.loose_path(sha256)
        if self._locate(sha256) is None:
            try:
                found = loose.stat().st_size
            except OSError:
                found = -1
            if found != size:
                raise _missing(sha256)
            shutil.copyfile(loose, target)
            return
        target.write_bytes(self.read(sha256, size))

    def close(self) -> None:
        for fd in self._files.values():
            os.close(fd)
        self._files.clear()


class _MissingObject(AmlpipeError):
    """An object a manifest lists is not stored (or has the wrong size)."""


def _missing(sha256: str) -> _MissingObject:
    return _MissingObject(f"Object {sha256[:12]} is missing or damaged.", sha256=sha256)
