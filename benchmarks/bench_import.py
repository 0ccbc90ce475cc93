"""Import time of the core API, from ``python -X importtime``.

Ours: ``python -X importtime -c "<IMPORTS>"`` (the names a pipeline script
imports). The import time of jupyter_amlpipe is the sum of the cumulative
times of the top-level imports that ``python -X importtime -c pass`` (the
baseline, in the same run) does not make: ``jupyter_amlpipe`` and the modules
its lazy names load, with everything they pull in. Also timed: the wall clock
of ``python -c "<IMPORTS>"`` against ``python -c pass``. Lists the slowest
modules under it and checks that nothing from Jupyter is imported.

    python -m benchmarks.bench_import [--quick] [--repeat N]
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_import.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    PYTHON,
    REPO,
    fmt_samples,
    header,
    load,
    median,
    parse_args,
    ratio_line,
    target_line,
)

IMPORTS = (
    "from jupyter_amlpipe import Workspace, Datastore, DataReference, PipelineData, PipelineParameter, Pipeline, "
    "Experiment, Run; from jupyter_amlpipe.steps import PythonScriptStep; from jupyter_amlpipe.compute import LocalCompute"
)
TARGET_MS = 150.0
JUPYTER = (
    "IPython",
    "ipykernel",
    "jupyter_client",
    "jupyter_core",
    "jupyter_server",
    "nbformat",
    "nbclient",
    "papermill",
    "zmq",
    "tornado",
    "traitlets",
    "ipywidgets",
    "anywidget",
)


@dataclass
class Entry:
    name: str
    self_us: int
    cumulative_us: int
    level: int


def parse_importtime(stderr: str) -> list[Entry]:
    """The lines of ``-X importtime`` (children come before their parent, indented two spaces a level)."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        field = parts[2]
        level = (len(field) - len(field.lstrip(" ")) - 1) // 2
        entries.append(Entry(field.strip(), int(parts[0]), int(parts[1]), level))
    return entries


def importtime(code: str) -> list[Entry]:
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"python -c {code!r} failed:\n{proc.stderr[-2000:]}")
    return parse_importtime(proc.stderr)


def ours_part(entries: list[Entry], startup: set[str]) -> list[Entry]:
    """The entries of the imports the code made: everything after the last interpreter-startup top-level entry."""
    last = max((k for k, e in enumerate(entries) if e.level == 0 and e.name in startup), default=-1)
    return entries[last + 1 :]


def in_process_ms(code: str) -> float:
    """Milliseconds the import statements take, timed inside a fresh interpreter."""
    timed = f"import time; _t = time.perf_counter(); {code}; print((time.perf_counter() - _t) * 1000)"
    proc = subprocess.run([PYTHON, "-c", timed], cwd=REPO, capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", code], cwd=REPO, check=True)
    return time.perf_counter() - start


def main() -> int:
    args = parse_args("Import time of the core API.", repeat=15, quick_repeat=2)
    header("bench_import: python -X importtime of the core API vs python -c pass", args)
    print(f"  code: {IMPORTS}")
    importtime(IMPORTS)  # warm-up: byte-code caches
    startup = {e.name for e in importtime("pass") if e.level == 0}
    totals: list[float] = []
    runs: list[list[Entry]] = []
    base_walls: list[float] = []
    our_walls: list[float] = []
    inside: list[float] = []
    for _ in range(args.repeat):
        part = ours_part(importtime(IMPORTS), startup)
        runs.append(part)
        totals.append(sum(e.cumulative_us for e in part if e.level == 0) / 1000)
        base_walls.append(wall("pass"))
        our_walls.append(wall(IMPORTS))
        inside.append(in_process_ms(IMPORTS))
    total = median(totals)
    typical = min(runs, key=lambda part: abs(sum(e.cumulative_us for e in part if e.level == 0) / 1000 - total))
    print(f"  jupyter_amlpipe cumulative import time (importtime): {total:.1f} ms {fmt_samples(totals, digits=1)} ms")
    print(
        f"  the same statements timed in-process (perf_counter around them): {median(inside):.1f} ms "
        f"{fmt_samples(inside, digits=1)} ms"
    )
    print(f"  modules imported for it: {len(typical)}")
    print("  slowest modules under it (self time, the median run):")
    for e in sorted(typical, key=lambda e: e.self_us, reverse=True)[:5]:
        print(f"    {e.self_us / 1000:7.1f} ms self, {e.cumulative_us / 1000:7.1f} ms cumulative  {e.name}")
    print("  slowest packages it pulls in (cumulative, outside jupyter_amlpipe):")
    outside = [e for e in typical if not e.name.startswith("jupyter_amlpipe") and "." not in e.name]
    for e in sorted(outside, key=lambda e: e.cumulative_us, reverse=True)[:5]:
        print(f"    {e.cumulative_us / 1000:7.1f} ms cumulative  {e.name}")
    jupyter = sorted({e.name for e in typical if e.name.split(".")[0] in JUPYTER})
    print(f"  Jupyter modules imported: {', '.join(jupyter) if jupyter else 'none'}")
    t_base, t_ours = median(base_walls), median(our_walls)
    print(
        f"  wall clock: python -c '<imports>' {t_ours:.3f} s {fmt_samples(our_walls)}, "
        f"python -c pass {t_base:.3f} s {fmt_samples(base_walls)}"
    )
    ratio_line("wall clock, python -c '<imports>' / python -c pass", t_ours, t_base, "bare")
    target_line("jupyter_amlpipe import time", total, " ms", "<", TARGET_MS)
    target_line("no Jupyter module on the core import path", float(len(jupyter)), " modules", "<=", 0)
    print(f"  after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
