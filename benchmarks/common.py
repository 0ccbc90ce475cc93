"""What every benchmark shares: options, a scratch folder, the step script, timing and the report lines.

Each benchmark measures its baseline in the same run and prints lines of the form::

    ratio <what>: <ours/baseline>x (ours <s> s, baseline <s> s)
    target <what>: <value> (target <op> <limit>) pass|MISS

so ``run_all`` and the smoke test can find them. Timings are medians over
``--repeat`` repetitions, after one warm-up of each side.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO))

PYTHON = sys.executable

# The one step program of every benchmark: trivial on purpose, so that what is
# measured is the cost of running a step, not the step. It reads each --input
# (a file, or the data.txt of a folder), optionally sleeps, and writes
# <--output>/data.txt. The bare baselines run this same file with the same
# interpreter on the same kind of paths.
STEP_SCRIPT = """\
import os
import sys
import time

inputs, output, pause = [], None, 0.0
args = sys.argv[1:]
for flag, value in zip(args[::2], args[1::2]):
    if flag == "--input":
        inputs.append(value)
    elif flag == "--output":
        output = value
    elif flag == "--sleep":
        pause = float(value)
text = ""
for path in inputs:
    if os.path.isdir(path):
        path = os.path.join(path, "data.txt")
    with open(path) as f:
        text += f.read()
if pause:
    time.sleep(pause)
os.makedirs(output, exist_ok=True)
with open(os.path.join(output, "data.txt"), "w") as f:
    f.write(text[-64:] + "x")
"""


def parse_args(description: str, repeat: int, quick_repeat: int = 1) -> argparse.Namespace:
    """``--quick`` (a tiny size, for the smoke test) and ``--repeat N``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repetition (a smoke run)")
    parser.add_argument("--repeat", type=int, default=None, help=f"repetitions, the median is reported ({repeat})")
    args = parser.parse_args()
    if args.repeat is None:
        args.repeat = quick_repeat if args.quick else repeat
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def header(title: str, args: argparse.Namespace) -> None:
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"== {title} ==")
    print(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()} ({PYTHON}); {now}"
    )
    print(f"repetitions: {args.repeat} (median){' [quick]' if args.quick else ''}; {load()}")
    sys.stdout.flush()


def load() -> str:
    """The load average: other work on the machine skews every figure, so each report says how busy it was."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder (``tempfile.mkdtemp``) for workspaces and data, removed afterwards.

    ``AMLPIPE_HOME`` points inside it while the benchmark runs.
    """
    root = Path(tempfile.mkdtemp(prefix=f"amlpipe-bench-{prefix}-"))
    saved = os.environ.get("AMLPIPE_HOME")
    os.environ["AMLPIPE_HOME"] = str(root / "home")
    try:
        yield root
    finally:
        if saved is None:
            os.environ.pop("AMLPIPE_HOME", None)
        else:
            os.environ["AMLPIPE_HOME"] = saved
        shutil.rmtree(root, ignore_errors=True)


def write_step_script(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "step.py"
    path.write_text(STEP_SCRIPT, encoding="utf-8")
    return path


def make_workspace(root: Path, max_concurrency: int | None = None) -> tuple[Any, Any, Any]:
    """A workspace under ``root`` with a seed file on its default datastore: (ws, datastore, LocalCompute)."""
    from jupyter_amlpipe import Workspace
    from jupyter_amlpipe.compute import LocalCompute

    ws = Workspace.create("bench", path=root / "ws", exist_ok=True)
    store = ws.get_default_datastore()
    seed = root / "seed.txt"
    seed.write_text("s", encoding="utf-8")
    store.upload_files([str(seed)], target_path="seed", overwrite=True, show_progress=False)
    compute = LocalCompute(workspace=ws, name="local", max_concurrency=max_concurrency)
    return ws, store, compute


def seed_reference(store: Any) -> Any:
    from jupyter_amlpipe import DataReference

    return DataReference(datastore=store, data_reference_name="seed", path_on_datastore="seed/seed.txt")


def time_pipeline(
    ws: Any, pipeline: Any, experiment: str = "bench", cpu: list[float] | None = None
) -> tuple[float, Any]:
    """Seconds from ``submit`` until ``wait_for_completion(show_output=False)`` returns, and the run.

    When ``cpu`` is given, the CPU seconds this process spent meanwhile (all its
    threads, so the runner's bookkeeping; not the step processes) are appended to it.
    """
    from jupyter_amlpipe import Experiment

    exp = Experiment(ws, experiment)
    cpu_start = time.process_time()
    start = time.perf_counter()
    run = exp.submit(pipeline)
    run.wait_for_completion(show_output=False, timeout_seconds=3600)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - cpu_start)
    status = run.get_status()
    if status != "Finished":
        raise SystemExit(f"benchmark pipeline run {run.id} ended {status}")
    return elapsed, run


def time_shell(script: str) -> float:
    """Seconds to run ``bash -c script`` (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(["bash", "-c", script], check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def interleaved(sides: dict[str, Callable[[], float]], repeat: int, warmup: bool = True) -> dict[str, list[float]]:
    """Time each side ``repeat`` times, alternating sides so machine noise hits all of them alike."""
    if warmup:
        for fn in sides.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, fn in sides.items():
            samples[name].append(fn())
    return samples


def fmt_samples(samples: list[float], scale: float = 1.0, digits: int | None = None) -> str:
    """``[1.234, ...]``: seconds with 3 digits; scaled values (seconds * 1000 = ms) with ``digits`` (1)."""
    digits = (3 if scale == 1.0 else 1) if digits is None else digits
    return "[" + ", ".join(f"{s * scale:.{digits}f}" for s in samples) + "]"


def ratio_line(what: str, ours: float, base: float, base_name: str = "baseline", unit: str = " s") -> float:
    ratio = ours / base if base > 0 else float("inf")
    digits = 3 if unit == " s" else 1
    print(f"ratio {what}: {ratio:.2f}x (ours {ours:.{digits}f}{unit}, {base_name} {base:.{digits}f}{unit})")
    return ratio


def target_line(what: str, value: float, unit: str, op: str, limit: float) -> bool:
    ok = value <= limit if op == "<=" else value < limit
    print(f"target {what}: {value:.{_digits(unit)}f}{unit} (target {op} {limit:g}{unit}) {'pass' if ok else 'MISS'}")
    sys.stdout.flush()
    return ok


def _digits(unit: str) -> int:
    if unit == " modules":
        return 0
    return 2 if unit in ("x", " s") else 1
