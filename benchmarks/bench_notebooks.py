"""Notebook steps on warm kernels: a chain of 3 parameterized notebooks versus 3 bare ``papermill`` CLI calls.

Ours: a pipeline of 3 NotebookSteps (each reads its input, writes its output;
chained by PipelineData; parameters injected by papermill), on LocalCompute,
timed from ``submit`` until ``wait_for_completion(show_output=False)`` returns:
- warm: the warm-kernel pool already holds ready launchers (``LocalCompute.prewarm``
  before the timed part, as after an earlier run);
- cold pool: the pool emptied before each repetition, so its warm-up (started
  when the run is submitted) is inside the timed part;
- no pool: ``kernel_pool_size=0``, a fresh kernel per step (for information).
Baseline: ``bash -c`` running ``python -m papermill IN OUT -p ...`` three times
on the same notebooks, one after the other.

Also: the import time of what a notebook launcher loads, with and without the
modules it blocks (``_notebook_launcher.UNUSED_MODULES``).

    python -m benchmarks.bench_notebooks [--quick] [--repeat N]
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_notebooks.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    PYTHON,
    REPO,
    fmt_samples,
    header,
    interleaved,
    load,
    make_workspace,
    median,
    parse_args,
    ratio_line,
    scratch,
    target_line,
    time_pipeline,
    time_shell,
)

STEPS = 3
TARGET_RATIO = 0.5

# In a pipeline the inputs and outputs are variables named after the data (papermill injects them):
# the step says which through inp_var/out_var. The bare calls pass the paths as inp/out.
CELL_PARAMETERS = 'factor = 1\ninp = ""\nout = ""\ninp_var = ""\nout_var = ""'
CELL_WORK = """\
import os

inp = globals()[inp_var] if inp_var else inp
out = globals()[out_var] if out_var else out

src = os.path.join(inp, "data.txt") if os.path.isdir(inp) else inp
with open(src) as f:
    text = f.read()
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "data.txt"), "w") as f:
    f.write(text[-64:] + "x" * factor)
"""


def write_notebooks(folder: Path) -> list[str]:
    """Three trivial parameterized notebooks (a parameters cell, a cell that reads ``inp`` and writes ``out``)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(STEPS):
        nb = {
            "cells": [
                {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["parameters"]}, "outputs": [],
                 "source": CELL_PARAMETERS},
                {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": CELL_WORK},
            ],
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }  # fmt: skip
        name = f"nb{i + 1}.ipynb"
        (folder / name).write_text(json.dumps(nb), encoding="utf-8")
        names.append(name)
    return names


def build_chain(store: Any, compute: Any, src: Path, names: list[str]) -> Any:
    from jupyter_amlpipe import DataReference, Pipeline, PipelineData
    from jupyter_amlpipe.steps import NotebookStep

    prev: Any = DataReference(datastore=store, data_reference_name="seed", path_on_datastore="seed/seed.txt")
    steps = []
    for i, name in enumerate(names):
        out = PipelineData(f"d{i + 1}", datastore=store)
        step = NotebookStep(
            name=f"step{i + 1}",
            notebook=name,
            source_directory=str(src),
            params={"factor": 1, "inp_var": prev.data_reference_name if i == 0 else prev.name, "out_var": out.name},
            inputs=[prev],
            outputs=[out],
            compute_target=compute,
            allow_reuse=False,
        )
        steps.append(step)
        prev = out
    return Pipeline(workspace=compute.workspace, steps=steps)


def bare_script(bare: Path, src: Path, names: list[str]) -> str:
    """The same chain as 3 papermill CLI calls: d0 is the seed, notebook i reads d(i-1) and writes di."""
    (bare / "d0").mkdir(parents=True, exist_ok=True)
    (bare / "d0" / "data.txt").write_text("s", encoding="utf-8")
    calls = []
    for i, name in enumerate(names):
        nb, out_nb = shlex.quote(str(src / name)), shlex.quote(str(bare / f"out{i + 1}.ipynb"))
        inp, out = shlex.quote(str(bare / f"d{i}")), shlex.quote(str(bare / f"d{i + 1}"))
        calls.append(
            f"{shlex.quote(PYTHON)} -m papermill --no-progress-bar --log-level WARNING {nb} {out_nb} "
            f"-p factor 1 -p inp {inp} -p out {out} 2>>{shlex.quote(str(bare / 'stderr.txt'))}"
        )
    return " && ".join(calls)


IMPORT_CODE = """\
import sys, time
t = time.perf_counter()
{block}
import papermill.execute
from jupyter_client.manager import KernelManager
print(time.perf_counter() - t)
"""


def import_seconds(blocked: bool) -> float:
    """Seconds to import what the notebook launcher uses, in a new process (with or without its blocking)."""
    block = "from jupyter_amlpipe.compute._notebook_launcher import block_unused_imports; block_unused_imports()"
    code = IMPORT_CODE.format(block=block if blocked else "")
    out = subprocess.run([PYTHON, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> int:
    args = parse_args("Notebook steps on warm kernels vs bare papermill CLI calls.", repeat=5, quick_repeat=1)
    header(f"bench_notebooks: a {STEPS}-notebook chain on LocalCompute vs {STEPS} papermill CLI calls", args)
    from jupyter_amlpipe.compute import LocalCompute

    # Step processes, warm launchers and kernels load this checkout (it may not be installed).
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    with scratch("notebooks") as root:
        src = root / "src"
        names = write_notebooks(src)
        ws, store, _ = make_workspace(root, max_concurrency=2)
        warm_compute = LocalCompute(workspace=ws, name="warm")
        off_compute = LocalCompute(workspace=ws, name="nopool", kernel_pool_size=0)
        bare = bare_script(root / "bare", src, names)
        runs: list[Any] = []

        def pipeline_seconds(compute: Any) -> float:
            pipeline = build_chain(store, compute, src, names)  # built outside the timed part
            elapsed, run = time_pipeline(ws, pipeline)
            runs.append(run)
            return elapsed

        def warm() -> float:
            LocalCompute.prewarm(kernel_name="python3", n=warm_compute.kernel_pool_size, wait=True)
            return pipeline_seconds(warm_compute)

        def cold_pool() -> float:
            LocalCompute.shutdown_kernel_pool()
            return pipeline_seconds(warm_compute)

        def no_pool() -> float:
            LocalCompute.shutdown_kernel_pool()
            return pipeline_seconds(off_compute)

        sides = {"warm": warm, "cold": cold_pool, "off": no_pool, "bare": lambda: time_shell(bare)}
        samples = interleaved(sides, args.repeat, warmup=not args.quick)
        LocalCompute.shutdown_kernel_pool()
        _check_same_result(runs[-1], root)
        imports = interleaved(
            {"plain": lambda: import_seconds(False), "blocked": lambda: import_seconds(True)},
            args.repeat,
            warmup=not args.quick,
        )
    t = {name: median(values) for name, values in samples.items()}
    print(f"  ours, pool warm (prewarmed before submit): {t['warm']:.3f} s {fmt_samples(samples['warm'])}")
    print(f"  ours, pool cold (warm-up inside the timing): {t['cold']:.3f} s {fmt_samples(samples['cold'])}")
    print(f"  ours, no pool (kernel_pool_size=0): {t['off']:.3f} s {fmt_samples(samples['off'])}")
    print(f"  bare: {STEPS} x python -m papermill: {t['bare']:.3f} s {fmt_samples(samples['bare'])}")
    t_plain, t_blocked = median(imports["plain"]), median(imports["blocked"])
    print(f"  launcher imports (papermill.execute + KernelManager), in a new process: {t_plain:.3f} s as installed, "
          f"{t_blocked:.3f} s with the unused modules blocked")  # fmt: skip
    ratio_line(f"{STEPS}-notebook chain, pool warm/bare", t["warm"], t["bare"], "bare")
    ratio_line(f"{STEPS}-notebook chain, pool cold/bare", t["cold"], t["bare"], "bare")
    ratio_line(f"{STEPS}-notebook chain, no pool/bare", t["off"], t["bare"], "bare")
    ratio_line("launcher imports, blocked/as installed", t_blocked, t_plain, "as installed")
    target_line("notebook chain, pool warm/bare", t["warm"] / t["bare"], "x", "<=", TARGET_RATIO)
    target_line("notebook chain, pool cold/bare", t["cold"] / t["bare"], "x", "<=", TARGET_RATIO)
    print(f"  after: {load()}")
    return 0


def _check_same_result(run: Any, root: Path) -> None:
    """The pipeline's last output holds what the bare chain's last file holds."""
    last = run.find_step_run(f"step{STEPS}")[0].get_output_data(f"d{STEPS}")
    folder = Path(last.download(root / "check", show_progress=False))
    ours = (folder / "data.txt").read_text(encoding="utf-8")
    bare = (root / "bare" / f"d{STEPS}" / "data.txt").read_text(encoding="utf-8")
    if ours != bare:
        raise SystemExit(f"the pipeline's last output {ours!r} differs from the bare chain's {bare!r}")


if __name__ == "__main__":
    sys.exit(main())
