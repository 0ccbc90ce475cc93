"""DataTransferStep throughput: a 1 GB folder copied between two datastores versus ``cp -r``.

Ours: one DataTransferStep (``allow_reuse=False``) copying a folder of 64 files
of 16 MiB of random bytes from one local datastore to a new path on another,
timed from ``submit`` until ``wait_for_completion(show_output=False)`` returns:
the runner, the step process, the copy and its checksum check (every source
file and every copy, read back, hashed with XXH3-128). Baseline:
``cp -r`` of the same folder to a new path on the same filesystem, in the same
run. Both copies are removed after each timing and ``sync`` runs before each
(neither timed), so that no side pays for writing back the other's data. Reported as time
ratio; the target is throughput >= 0.8x cp -r, i.e. time <= 1.25x.

Also printed, for information: the step's own copy-and-check time (from its
log) and the rest (runner, step process start); the warm-up run, in which the
runner hashes the source for the first time; and the checksum of the ``cp -r``
copy alone (one thread, through mmap, as the step hashes a copy), and what
sha256 would cost instead (the check of earlier versions).

    python -m benchmarks.bench_transfer [--quick] [--repeat N]
"""

from __future__ import annotations

import filecmp
import hashlib
import mmap
import os
import re
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_transfer.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
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
    time_pipeline,
    time_shell,
)

FILES, FILE_MB = 64, 16
QUICK_FILES, QUICK_FILE_MB = 8, 1
TARGET_TIME_RATIO = 1.25  # throughput >= 0.8x cp -r


def make_folder(folder: Path, files: int, mb: int) -> int:
    folder.mkdir(parents=True)
    for i in range(files):
        sub = folder / f"part{i % 4}"
        sub.mkdir(exist_ok=True)
        (sub / f"chunk{i:03d}.bin").write_bytes(os.urandom(mb << 20))
    return files * (mb << 20)


def main() -> int:
    args = parse_args(__doc__.splitlines()[0], repeat=3)
    header("bench_transfer: DataTransferStep vs cp -r", args)
    # step processes run `python -m jupyter_amlpipe.compute.runtime...`: they load this checkout
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    files, mb = (QUICK_FILES, QUICK_FILE_MB) if args.quick else (FILES, FILE_MB)
    with scratch("transfer") as root:
        from jupyter_amlpipe import Datastore, Pipeline, Workspace
        from jupyter_amlpipe.compute import LocalCompute
        from jupyter_amlpipe.steps import DataTransferStep

        ws = Workspace.create("bench", path=root / "ws", exist_ok=True)
        source_store = Datastore.register_local(ws, "source", root / "source")
        dest_store = Datastore.register_local(ws, "dest", root / "dest")
        size = make_folder(root / "source" / "data", files, mb)
        print(f"data: {files} files, {size / 1e6:.0f} MB")
        compute = LocalCompute(workspace=ws, name="local")
        counter = {"ours": 0, "cp": 0}
        inside: list[float] = []  # the step's own copy-and-check time, from its log
        check_alone: list[float] = []
        sha_alone: list[float] = []
        from jupyter_amlpipe.compute.runtime import transfer as runtime

        def ours() -> float:
            counter["ours"] += 1
            os.sync()  # not timed: each side starts with no dirty data of the other's copy left to write
            step = DataTransferStep(
                name="copy",
                source_data_reference=source_store.path("data"),
                destination_data_reference=dest_store.path(f"ours{counter['ours']}"),
                compute_target=compute,
                source_reference_type="directory",
                allow_reuse=False,
            )
            elapsed, run = time_pipeline(ws, Pipeline(ws, [step]), experiment="bench")
            found = re.search(r"copied .* in ([0-9.]+) s", run.find_step_run("copy")[0].get_stdout_log())
            inside.append(float(found.group(1)) if found else float("nan"))
            copy = root / "dest" / f"ours{counter['ours']}"
            if counter["ours"] == 1:
                check_same(root / "source" / "data", copy)
            shutil.rmtree(copy)
            return elapsed

        def cp() -> float:
            counter["cp"] += 1
            os.sync()
            target = root / "dest" / f"cp{counter['cp']}"
            elapsed = time_shell(f"cp -r '{root / 'source' / 'data'}' '{target}'")
            started = time.perf_counter()
            for path in sorted(target.rglob("*.bin")):
                runtime.digest_local(str(path))
            check_alone.append(time.perf_counter() - started)
            started = time.perf_counter()
            for path in sorted(target.rglob("*.bin")):
                sha256_mapped(path)
            sha_alone.append(time.perf_counter() - started)
            shutil.rmtree(target)
            return elapsed

        warmup = {"ours": ours(), "cp": cp()}
        samples = interleaved({"ours": ours, "cp": cp}, args.repeat, warmup=False)
    t_ours, t_cp = median(samples["ours"]), median(samples["cp"])
    print(f"samples ours: {fmt_samples(samples['ours'])}; cp -r: {fmt_samples(samples['cp'])}")
    print(f"throughput: ours {size / t_ours / 1e6:.0f} MB/s, cp -r {size / t_cp / 1e6:.0f} MB/s")
    t_inside = median(inside[1:])
    print(
        f"info: inside the step, copy + check {t_inside:.3f} s (samples {fmt_samples(inside[1:])}); "
        f"runner and step process {t_ours - t_inside:.3f} s"
    )
    print(f"info: warm-up run (the runner hashes the source for the first time): {warmup['ours']:.3f} s")
    t_check, t_sha = median(check_alone[1:]), median(sha_alone[1:])
    print(
        f"info: {runtime.CHECKSUM} of the cp -r copy alone, one thread: {t_check:.3f} s ({t_check / t_cp:.2f}x "
        f"cp -r; samples {fmt_samples(check_alone[1:])}); sha256 instead: {t_sha:.3f} s ({t_sha / t_cp:.2f}x)"
    )
    ratio = ratio_line("DataTransferStep vs cp -r (time)", t_ours, t_cp, "cp -r")
    target_line(
        f"DataTransferStep time vs cp -r (throughput >= 0.8x cp -r: {t_cp / t_ours:.2f}x)",
        ratio,
        "x",
        "<=",
        TARGET_TIME_RATIO,
    )
    print(f"after: {load()}")
    return 0


def sha256_mapped(path: Path) -> bytes:
    """sha256 of a file through mmap, as the step hashes a copy: like for like with its XXH3 figure."""
    digest = hashlib.sha256()
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        digest.update(mapped)
    return digest.digest()


def check_same(left: Path, right: Path) -> None:
    for path in left.rglob("*"):
        if path.is_file() and not filecmp.cmp(path, right / path.relative_to(left), shallow=False):
            raise SystemExit(f"the transfer's copy of {path} differs")


if __name__ == "__main__":
    sys.exit(main())
