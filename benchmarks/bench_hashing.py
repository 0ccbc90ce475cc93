"""Hashing a big source directory: snapshots and content digests, first time and unchanged second time.

The data: 10,000 files of random bytes (``os.urandom``) totalling 1 GB, in
100 folders, written once to a temporary folder. Measured in the same run:

- ``SnapshotStore.take`` the first time (each repetition into a new, empty
  store: every file is read, hashed and copied into the store's objects)
  against ``cat`` of the same files to /dev/null, and against ``cp -r`` of the
  folder (which also writes a copy), all in MB/s. Nothing is
  dropped from the page cache: the files were just written, so both read
  from memory.
- ``take`` again with nothing changed (after ``sync``, so the disk is not
  still writing the copies of the first part): in the same process (the index in
  memory) and in a new process (the index read from disk; the process's
  start-up not counted).
- ``ContentDigests.digest`` (how a DataReference input's content is hashed)
  of the same folder: first time (a new, empty digest cache) against ``cat``,
  then unchanged.

    python -m benchmarks.bench_hashing [--quick] [--repeat N]
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_hashing.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    PYTHON,
    REPO,
    fmt_samples,
    header,
    interleaved,
    load,
    median,
    parse_args,
    ratio_line,
    scratch,
    target_line,
    time_shell,
)

FILES, TOTAL_BYTES = 10_000, 1_000_000_000
QUICK_FILES, QUICK_TOTAL_BYTES = 1_000, 20_000_000
PER_FOLDER = 100
UNCHANGED_SAMPLES = 7  # the unchanged second time is cheap: more samples than --repeat
TARGET_UNCHANGED_MS = 100.0
RACY_SECONDS = 2.0  # files younger than this are not trusted to the stat caches: let the data age past it
MB = 1_000_000

# A new process: one timed take of an unchanged folder (its start-up and imports not counted).
NEW_PROCESS_TAKE = """\
import sys
import time

from jupyter_amlpipe.workspace.snapshot import SnapshotStore

store = SnapshotStore(sys.argv[1])
start = time.perf_counter()
snapshot = store.take(sys.argv[2])
print(time.perf_counter() - start, snapshot.id)
"""


def write_data(folder: Path, files: int, total: int) -> int:
    """``files`` files of random bytes totalling ``total`` bytes, ``PER_FOLDER`` to a folder; returns the bytes."""
    size, extra = divmod(total, files)
    written = 0
    for i in range(files):
        sub = folder / f"d{i // PER_FOLDER:03d}"
        if i % PER_FOLDER == 0:
            sub.mkdir(parents=True)
        data = os.urandom(size + (1 if i < extra else 0))
        (sub / f"f{i:05d}.bin").write_bytes(data)
        written += len(data)
    return written


def wait_out_racy_window(folder: Path) -> None:
    """Sleep until every file under ``folder`` is older than the stat caches' racy window."""
    newest = max(p.stat().st_mtime for p in folder.rglob("*") if p.is_file())
    pause = newest + RACY_SECONDS + 0.1 - time.time()
    if pause > 0:
        time.sleep(pause)


def checkout_env() -> dict[str, str]:
    """The environment with this checkout first on ``PYTHONPATH`` (the new process loads its code)."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def main() -> int:
    args = parse_args("Hashing a big source directory: first time against cat, and unchanged.", repeat=3)
    files, total = (QUICK_FILES, QUICK_TOTAL_BYTES) if args.quick else (FILES, TOTAL_BYTES)
    header(f"bench_hashing: snapshot and content digest of {files:,} files, {total / MB:,.0f} MB", args)
    from jupyter_amlpipe.workspace.digest import ContentDigests
    from jupyter_amlpipe.workspace.snapshot import SnapshotStore
    from jupyter_amlpipe.workspace.store import MetadataStore

    with scratch("hashing") as root:
        data = root / "data"
        started = time.perf_counter()
        size = write_data(data, files, total)
        print(
            f"  data: {files:,} files in {files // PER_FOLDER} folders, {size / MB:,.1f} MB of os.urandom bytes, "
            f"written once in {time.perf_counter() - started:.1f} s"
        )
        wait_out_racy_window(data)
        stores: list[SnapshotStore] = []
        caches: list[ContentDigests] = []
        ids: set[str] = set()
        digests: set[str] = set()

        def take_first() -> float:
            if stores:  # one store's objects at a time on disk
                shutil.rmtree(stores[-1].root)
            stores.append(SnapshotStore(root / f"snapshots{len(stores)}"))
            start = time.perf_counter()
            ids.add(stores[-1].take(data).id)
            return time.perf_counter() - start

        def digest_first() -> float:
            caches.append(ContentDigests(MetadataStore(root / f"digests{len(caches)}.db")))
            start = time.perf_counter()
            digests.add(caches[-1].digest(data))
            return time.perf_counter() - start

        def copy() -> float:
            elapsed = time_shell(f"cp -r {shlex.quote(str(data))} {shlex.quote(str(root / 'copy'))}")
            shutil.rmtree(root / "copy")
            return elapsed

        cat = f"find {shlex.quote(str(data))} -type f -print0 | xargs -0 cat > /dev/null"
        one_file = root / "concatenated"
        cat_to_file = f"find {shlex.quote(str(data))} -type f -print0 | xargs -0 cat > {shlex.quote(str(one_file))}"

        def concatenate() -> float:
            elapsed = time_shell(cat_to_file)
            one_file.unlink()
            return elapsed

        first = interleaved(
            {
                "cat": lambda: time_shell(cat),
                "concat": concatenate,
                "copy": copy,
                "take": take_first,
                "digest": digest_first,
            },
            args.repeat,
            warmup=not args.quick,
        )
        stored = stores[-1].objects
        os.sync()  # let the disk finish writing the copies above, so they do not slow the samples below
        objects = sum(len(pack.objects) for pack in stored.packs()) + sum(1 for _ in stored.loose())

        def take_again() -> float:
            start = time.perf_counter()
            ids.add(stores[-1].take(data).id)
            return time.perf_counter() - start

        def take_new_process() -> float:
            proc = subprocess.run(
                [PYTHON, "-c", NEW_PROCESS_TAKE, str(stores[-1].root), str(data)],
                env=checkout_env(),
                check=True,
                capture_output=True,
                text=True,
            )
            seconds, snapshot_id = proc.stdout.split()
            ids.add(snapshot_id)
            return float(seconds)

        def digest_again() -> float:
            start = time.perf_counter()
            digests.add(caches[-1].digest(data))
            return time.perf_counter() - start

        samples = 3 if args.quick else UNCHANGED_SAMPLES
        again = interleaved(
            {"take": take_again, "process": take_new_process, "digest": digest_again}, samples, warmup=False
        )
        if len(ids) != 1 or len(digests) != 1 or objects != files:
            raise SystemExit(
                f"expected one snapshot id, one digest and {files} objects; got {ids}, {digests}, {objects}"
            )

    t_cat, t_copy, t_concat = median(first["cat"]), median(first["copy"]), median(first["concat"])
    t_take, t_digest = median(first["take"]), median(first["digest"])
    mb = size / MB
    print("  first time (both sides read from the page cache: the files were just written, nothing is dropped):")
    print(
        f"    cat of the files to /dev/null (find | xargs cat): {mb / t_cat:,.0f} MB/s, {t_cat:.3f} s "
        f"{fmt_samples(first['cat'])}"
    )
    print(
        f"    cat of the files into one new file (reads them and writes their bytes once, like a pack): "
        f"{mb / t_concat:,.0f} MB/s, {t_concat:.3f} s {fmt_samples(first['concat'])}"
    )
    print(
        f"    cp -r of the folder (reads the files and writes a copy of each): "
        f"{mb / t_copy:,.0f} MB/s, {t_copy:.3f} s {fmt_samples(first['copy'])}"
    )
    print(
        f"    SnapshotStore.take, new store (read, hash, append to packs): {mb / t_take:,.0f} MB/s, "
        f"{t_take:.3f} s {fmt_samples(first['take'])}"
    )
    print(
        f"    ContentDigests.digest, new digest cache (read, hash): {mb / t_digest:,.0f} MB/s, {t_digest:.3f} s "
        f"{fmt_samples(first['digest'])}"
    )
    print(f"  unchanged second time ({samples} samples):")
    for name, what in (
        ("take", "SnapshotStore.take, same process (index in memory)"),
        ("process", "SnapshotStore.take, new process (index read from disk)"),
        ("digest", "ContentDigests.digest (stat cache in the workspace database)"),
    ):
        print(f"    {what}: {median(again[name]) * 1000:.1f} ms {fmt_samples(again[name], 1000)}")
    print(f"  check: every take gave the same snapshot id, every digest the same digest; {objects:,} objects stored")
    ratio_line("snapshot take first time / cat", t_take, t_cat, "cat")
    ratio_line("snapshot take first time / cat into one file", t_take, t_concat, "cat > file")
    ratio_line("snapshot take first time / cp -r", t_take, t_copy, "cp -r")
    ratio_line("content digest first time / cat", t_digest, t_cat, "cat")
    for name, what in (
        ("take", "snapshot take unchanged, same process"),
        ("process", "snapshot take unchanged, new process"),
        ("digest", "content digest unchanged"),
    ):
        target_line(f"{what}, {files:,} files", median(again[name]) * 1000, " ms", "<", TARGET_UNCHANGED_MS)
    print(f"  after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
