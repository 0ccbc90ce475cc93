"""DataTransferStep's program: copy a file or a folder byte for byte, then check every copy with a checksum.

Run as ``python -m jupyter_amlpipe.compute.runtime.transfer SPEC_JSON`` where the spec is::

    {"step": name, "source": local path, "kind": "file" | "directory" | null,
     "destination": {"path": local path, "staging": bool}
                  | {"datastore": name, "path_on_datastore": rel}}

The source is always a local path: the runner resolved it (a datastore on this
machine gives its own path; a cloud one was downloaded first). A destination
with a ``path`` is written there; a staging destination is the output folder of
a PipelineData, published by the runner when the step succeeds. Otherwise the
destination datastore is opened from the workspace (``AMLPIPE_WORKSPACE``) and
written through fsspec.

A local copy is made by the kernel (``copy_file_range``, as ``cp`` does), under
a temporary name; then the copy is read back and its checksum compared with the
source's, and the copy is renamed to its real name only when they match, so a
failed or mismatched copy never leaves a file under the destination's name. A
source that changes while it is copied fails the step. A remote copy is
streamed through fsspec, checksummed as it is written, then read back and
checksummed. A difference fails the step. Several files are copied at once (the
kernel copy and the hashing release the GIL).

The checksum is XXH3-128 (the ``xxhash`` package, a dependency of
jupyter_amlpipe; rsync 3.2 checks its transfers with the same hash), about ten
times faster than sha256 here, so the check costs a fraction of the copy. It
guards against accidental change, it is not a signature. Where ``xxhash`` is
not installed (a container image with only the standard library) sha256 is
used; the step's summary line names the checksum.
"""

from __future__ import annotations

import contextlib
import errno
import json
import mmap
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, Protocol

CHUNK = 8 << 20
PARTIAL = ".amlpipe-partial"
PROGRESS_EVERY = 1.0  # seconds between progress lines
READ_CHUNK = 1 << 20  # a source is read (not mapped) in blocks that stay in the processor's cache
StatKey = tuple[int, int, int, int]  # (size, mtime_ns, inode, ctime_ns): a source that changes changes it
PREALLOCATE_MIN_BYTES = 1 << 20  # smaller files gain nothing from reserving their blocks first
FALLOC_FL_KEEP_SIZE = 1
_fallocate: Any = None  # libc's fallocate once looked up, False where there is none
# copy_file_range refused: no system call, another filesystem (older kernels), a filesystem without it
COPY_RANGE_UNSUPPORTED = {errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


class TransferError(Exception):
    """A copy that cannot be done or did not check out: the message is shown as the step's error."""


class Progress:
    """Counts bytes and files; prints a line at most every second (and one at the end)."""

    def __init__(self, total_bytes: int, total_files: int) -> None:
        self.total_bytes = total_bytes
        self.total_files = total_files
        self.bytes = 0
        self.files = 0
        self.started = time.perf_counter()
        self._last = self.started
        self._lock = threading.Lock()

    def add(self, n: int, file_done: bool = False) -> None:
        with self._lock:
            self.bytes += n
            self.files += int(file_done)
            now = time.perf_counter()
            if now - self._last >= PROGRESS_EVERY:
                self._last = now
                self._print(now)

    def _print(self, now: float) -> None:
        pct = 100.0 * self.bytes / self.total_bytes if self.total_bytes else 100.0
        rate = self.bytes / max(now - self.started, 1e-9) / 1e6
        print(
            f"transfer: {pct:3.0f}% ({_mb(self.bytes)} of {_mb(self.total_bytes)} MB, "
            f"{self.files} of {self.total_files} files), {rate:.1f} MB/s",
            flush=True,
        )


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f}"


# -- files: local or through fsspec ---------------------------------------------------------
class LocalSide:
    """Destination files on this machine's filesystem (written under a temporary name, then renamed)."""

    def open_read(self, path: str) -> AbstractContextManager[IO[bytes]]:
        return open(path, "rb")

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def kind(self, path: str) -> str | None:
        return "directory" if os.path.isdir(path) else "file" if os.path.exists(path) else None

    def join(self, base: str, rel: str) -> str:
        return os.path.join(base, *rel.split("/")) if rel else base


class FsspecSide(LocalSide):
    """Destination files on an fsspec filesystem (object stores write a file whole on close)."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs

    def open_write(self, path: str) -> tuple[IO[bytes], Callable[[], None]]:
        """A file open for writing, and what to call once it is closed."""
        parent = path.rsplit("/", 1)[0]
        if parent and parent != path:
            self.makedirs(parent)
        return self.fs.open(path, "wb"), lambda: None

    def open_read(self, path: str) -> AbstractContextManager[IO[bytes]]:
        return self.fs.open(path, "rb")  # type: ignore[no-any-return]

    def makedirs(self, path: str) -> None:
        with contextlib.suppress(OSError, NotImplementedError):  # object stores have no folders
            self.fs.makedirs(path, exist_ok=True)

    def kind(self, path: str) -> str | None:
        if not self.fs.exists(path):
            return None
        return "directory" if self.fs.isdir(path) else "file"

    def join(self, base: str, rel: str) -> str:
        return f"{base.rstrip('/')}/{rel}" if rel else base


# -- hashing ---------------------------------------------------------------------------------
class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...


def checksum() -> tuple[str, Callable[[], Hasher]]:
    """The checksum's name and a factory of hashers: XXH3-128 when ``xxhash`` is importable, else sha256."""
    try:
        import xxhash
    except ImportError:
        import hashlib

        return "sha256", hashlib.sha256
    return "xxh3-128", xxhash.xxh3_128


CHECKSUM, new_hasher = checksum()


def stat_key(path: str) -> StatKey:
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def digest_of(path: str, side: LocalSide | None = None, on_chunk: Callable[[int], None] | None = None) -> bytes:
    """The checksum of a file (read through ``side`` when given); ``on_chunk(n)`` after each chunk."""
    if side is None or not isinstance(side, FsspecSide):
        return digest_local(path, on_chunk)
    digest = new_hasher()
    with side.open_read(path) as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.digest()


def digest_local(path: str, on_chunk: Callable[[int], None] | None = None, mapped_ok: bool = True) -> bytes:
    """Checksum a local file, through ``mmap`` when ``mapped_ok``: the page cache is hashed in place, not
    copied into Python first.

    Only files this program wrote are mapped: a mapped file that another process truncates kills the
    process (SIGBUS), where reading it gives a clean error. Others are read in 1 MiB blocks, small enough
    to stay in the processor's cache between the read and the hashing. Falls back to reading.
    """
    digest = new_hasher()
    with open(path, "rb", buffering=0) as f:
        if mapped_ok and os.fstat(f.fileno()).st_size:
            try:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a filesystem that cannot map files
                mapped = None
            if mapped is not None:
                with mapped, memoryview(mapped) as view:
                    for start in range(0, len(view), CHUNK):
                        digest.update(view[start : start + CHUNK])
                        if on_chunk is not None:
                            on_chunk(min(CHUNK, len(view) - start))
                return digest.digest()
        buffer = bytearray(READ_CHUNK)
        with memoryview(buffer) as view:
            while n := f.readinto(buffer):
                digest.update(view[:n])
                if on_chunk is not None:
                    on_chunk(n)
    return digest.digest()


def preallocate(fd: int, size: int) -> bool:
    """Reserve a copy's blocks before it is written, as ``rsync --preallocate`` does: on ext4 a 1 GB folder
    is then copied about 20% faster. Linux's ``fallocate(2)`` directly (``FALLOC_FL_KEEP_SIZE``): glibc's
    ``posix_fallocate`` would write zeros into every block of a filesystem that cannot reserve them. Does
    nothing where the call is missing or refused. Returns whether the blocks were reserved."""
    global _fallocate
    if _fallocate is None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, "fallocate64", None) or getattr(libc, "fallocate", None)
        if function is None:
            _fallocate = False
            return False
        function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
        function.restype = ctypes.c_int
        _fallocate = function
    if not _fallocate:
        return False
    return bool(_fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size) == 0)  # -1 with errno set when refused


def kernel_copy(src: str, dst: str) -> None:
    """Copy a file's bytes inside the kernel with ``copy_file_range``, as ``cp`` does (a reflink where the
    filesystem shares blocks); where the system call is missing or refused, or copies nothing at all (as
    for pseudo-files and some FUSE and network filesystems), ``sendfile`` through :func:`shutil.copyfile`."""
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None and os.path.getsize(src) > 0:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            size, done = os.fstat(fin.fileno()).st_size, 0
            if size >= PREALLOCATE_MIN_BYTES:
                preallocate(fout.fileno(), size)
            try:
                while done < size and (n := copy_range(fin.fileno(), fout.fileno(), size - done)):
                    done += n
            except OSError as exc:
                if done or exc.errno not in COPY_RANGE_UNSUPPORTED:
                    raise
            else:
                if done:  # a source that grew or shrank meanwhile is caught by the checksum and the stat check
                    return
    shutil.copyfile(src, dst)


# -- copying ----------------------------------------------------------------------------------
def copy_one(src: str, dst: str, side: LocalSide, progress: Progress) -> None:
    """Copy one file and check the checksum of the copy, read back, against the source's.

    A local copy is made by the kernel, under a temporary name renamed once checked; the source is read
    and checksummed after the copy, and its size, times and inode must not have changed meanwhile. A
    remote copy is streamed through fsspec, checksummed as it goes.
    """
    if isinstance(side, FsspecSide):
        expected_hash = new_hasher()
        out, _ = side.open_write(dst)
        with open(src, "rb") as fin, out:
            while block := fin.read(CHUNK):
                expected_hash.update(block)
                out.write(block)
        expected, actual = expected_hash.digest(), digest_of(dst, side)
        progress.add(os.path.getsize(src), file_done=True)
    else:
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        tmp = os.path.join(os.path.dirname(dst), f".{os.path.basename(dst)}{PARTIAL}")
        try:
            before = stat_key(src)
            kernel_copy(src, tmp)
            shutil.copymode(src, tmp)  # as cp does: the permission bits, not the owner or times
            actual = digest_local(tmp, progress.add)
            expected = digest_local(src, mapped_ok=False)
            if stat_key(src) != before:
                raise TransferError(
                    f"the source file {src!r} changed while it was copied. Run the step again "
                    "(allow_reuse=False) once the source is stable."
                )
            if actual == expected:
                os.replace(tmp, dst)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        progress.add(0, file_done=True)
    if actual != expected:
        raise TransferError(
            f"checksum mismatch for {dst!r}: {CHECKSUM} of the source {expected.hex()} but of the copy "
            f"{actual.hex()}. The file changed while it was copied, or the destination storage "
            "altered it: run the step again (allow_reuse=False) once the source is stable."
        )


def walk(source: str) -> tuple[list[str], list[str]]:
    """Files and folders of ``source`` as sorted relative POSIX paths (symlinks to files are followed)."""
    files: list[str] = []
    folders: list[str] = []
    for root, dirs, names in os.walk(source):
        dirs.sort()
        rel_root = os.path.relpath(root, source)
        prefix = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
        folders += [prefix + d for d in dirs]
        files += [prefix + n for n in sorted(names)]
    return files, folders


def workers_for(count: int) -> int:
    """One thread per core this process may use (its affinity, which container limits set), at most 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cores, count))


def transfer(spec: dict[str, Any], side: LocalSide, destination: str) -> str:
    """Copy ``spec["source"]`` to ``destination``; returns the summary line."""
    source = spec["source"]
    actual = "directory" if os.path.isdir(source) else "file" if os.path.exists(source) else None
    if actual is None:
        raise TransferError(f"the source {source!r} does not exist (anymore).")
    declared = spec.get("kind")
    if declared is not None and declared != actual:
        raise TransferError(
            f"the source {source!r} is a {actual}, but source_reference_type is {declared!r}. "
            f"Pass source_reference_type={actual!r} and destination_reference_type={actual!r}."
        )
    existing = side.kind(destination)
    staging = bool(spec["destination"].get("staging"))
    if actual == "file" and existing == "directory":
        if staging and not os.listdir(destination):  # the runner made an empty output folder: a file goes there
            os.rmdir(destination)
        else:
            raise TransferError(
                f"the destination {destination!r} is a folder, but the source is a file. Name a file as the "
                "destination (path_on_datastore='folder/name.ext'), or copy a folder (source_reference_type="
                "'directory')."
            )
    if actual == "directory" and existing == "file":
        raise TransferError(f"the destination {destination!r} is a file, but the source is a folder.")
    if not isinstance(side, FsspecSide):
        src_real, dst_real = os.path.realpath(source), os.path.realpath(destination)
        if dst_real == src_real or dst_real.startswith(src_real.rstrip(os.sep) + os.sep):
            raise TransferError(f"the destination {destination!r} is the source or inside it.")
    if actual == "file":
        pairs = [(source, destination)]
        folders: list[str] = []
    else:
        files, folders = walk(source)
        pairs = [(os.path.join(source, *f.split("/")), side.join(destination, f)) for f in files]
    total = sum(os.path.getsize(s) for s, _ in pairs)
    print(
        f"transfer: {actual} {source} -> {destination}: {len(pairs)} file(s), {_mb(total)} MB",
        flush=True,
    )
    progress = Progress(total, len(pairs))
    if actual == "directory":
        side.makedirs(destination)
        for folder in folders:
            side.makedirs(side.join(destination, folder))
    _run_all(pairs, side, progress)
    elapsed = time.perf_counter() - progress.started
    progress._print(time.perf_counter())
    rate = total / max(elapsed, 1e-9) / 1e6
    return (
        f"transfer: copied {len(pairs)} file(s), {_mb(total)} MB in {elapsed:.2f} s ({rate:.1f} MB/s); "
        f"the {CHECKSUM} checksum of every copy, read back, matched its source's"
    )


def _run_all(pairs: list[tuple[str, str]], side: LocalSide, progress: Progress) -> None:
    """Copy every pair, several at once; the first failure ends the step (copies not started yet are dropped).

    Plain threads taking the next pair in turn: ``concurrent.futures`` would add 13 ms of imports
    (logging) to every transfer's start.
    """
    pending = iter(pairs)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work() -> None:
        while not failures:
            with lock:
                pair = next(pending, None)
            if pair is None:
                return
            try:
                copy_one(pair[0], pair[1], side, progress)
            except BaseException as exc:  # handed to the main thread, which raises it
                failures.append(exc)

    threads = [threading.Thread(target=work, name=f"transfer-{i}") for i in range(workers_for(len(pairs)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def open_destination(spec: dict[str, Any]) -> tuple[LocalSide, str]:
    """The side and path to write: a local path, or the datastore's filesystem through the workspace."""
    dest = spec["destination"]
    if dest.get("path"):
        return LocalSide(), str(dest["path"])
    from jupyter_amlpipe.context.run import ENV_WORKSPACE
    from jupyter_amlpipe.workspace.datastore import Datastore
    from jupyter_amlpipe.workspace.workspace import Workspace

    root = os.environ.get(ENV_WORKSPACE)
    if not root:
        raise TransferError(f"{ENV_WORKSPACE} is not set, so datastore {dest['datastore']!r} cannot be opened.")
    store = Datastore.get(Workspace(path=root), dest["datastore"])
    rel = dest.get("path_on_datastore") or ""
    local = store.local_path(rel)
    if local is not None:
        return LocalSide(), str(local)
    return FsspecSide(store._fs), store._full_path(rel)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    what = f"DataTransferStep {spec.get('step', '')!r}"
    try:
        side, destination = open_destination(spec)
        print(transfer(spec, side, destination), flush=True)
    except TransferError as exc:
        print(f"{what}: {exc}", file=sys.stderr, flush=True)
        return 1
    except OSError as exc:
        hint = ""
        if exc.errno == 30:  # EROFS: e.g. a workspace datastore inside a container
            hint = (
                " The destination is read-only on this compute target: use a PipelineData destination, "
                "or a datastore this compute can write to."
            )
        print(f"{what}: {exc.strerror or exc} ({exc.filename or ''}).{hint}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
