"""Per-step overhead on DaskCompute versus LocalCompute, in the same run.

Both sides run the same pipeline: a chain of trivial script steps (each reads
its input and writes its output, chained by PipelineData; the step program of
``bench_overhead``), timed from ``submit`` until
``wait_for_completion(show_output=False)`` returns. Ours runs it on a local
``DaskCompute(min_nodes=1, max_nodes=2)`` (a warm node, as a cluster with
``min_nodes=1`` has; the cluster is started before timing and its start-up is
reported on its own); the baseline on ``LocalCompute(max_concurrency=2)``.
The sides alternate so machine noise hits both alike.

    python -m benchmarks.bench_dask [--quick] [--repeat N]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_dask.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_overhead import build_chain
from benchmarks.common import (
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
    write_step_script,
)

STEPS = 10
QUICK_STEPS = 3
TARGET_RATIO = 1.3


def main() -> int:
    args = parse_args("Per-step overhead on DaskCompute versus LocalCompute.", repeat=5, quick_repeat=1)
    n = QUICK_STEPS if args.quick else STEPS
    header(f"bench_dask: per-step time, {n}-step chain on DaskCompute vs LocalCompute", args)
    from jupyter_amlpipe.compute import DaskCompute

    with scratch("dask") as root:
        src = root / "src"
        write_step_script(src)
        ws, store, local = make_workspace(root, max_concurrency=2)
        dask = DaskCompute(ws, "dask", min_nodes=1, max_nodes=2)
        start = time.perf_counter()
        dask.wait_for_completion()
        startup = time.perf_counter() - start
        try:

            def on(compute: Any) -> float:
                elapsed, _ = time_pipeline(ws, build_chain(store, compute, src, n))
                return elapsed

            samples = interleaved({"dask": lambda: on(dask), "local": lambda: on(local)}, args.repeat, warmup=True)
            nodes = dask.status.current_node_count
        finally:
            dask.delete()  # closes the cluster and its workers
    t_dask, t_local = median(samples["dask"]) / n, median(samples["local"]) / n
    print(f"  local cluster start-up (scheduler + {nodes} worker(s)): {startup:.2f} s, not in the figures below")
    print(f"  DaskCompute, per step: {t_dask * 1000:.1f} ms {fmt_samples(samples['dask'], 1000 / n)}")
    print(f"  LocalCompute, per step: {t_local * 1000:.1f} ms {fmt_samples(samples['local'], 1000 / n)}")
    print(f"  Dask adds {(t_dask - t_local) * 1000:.1f} ms per step")
    ratio = ratio_line(f"{n}-step chain per step, DaskCompute/LocalCompute", t_dask, t_local, "LocalCompute")
    target_line("DaskCompute/LocalCompute per-step time", ratio, "x", "<=", TARGET_RATIO)
    print(f"  after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
