"""Per-step overhead on LocalCompute: a chain of trivial script steps versus a bare shell loop.

Ours: a 20-step chain of PythonScriptSteps (each reads its input, writes its
output; chained by PipelineData; the first reads a DataReference), timed from
``submit`` until ``wait_for_completion(show_output=False)`` returns.
Baseline: ``bash -c 'for ...'`` running the same script with the same
interpreter on the same kind of files, one after the other.

    python -m benchmarks.bench_overhead [--quick] [--repeat N]
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_overhead.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    PYTHON,
    fmt_samples,
    header,
    interleaved,
    load,
    make_workspace,
    median,
    parse_args,
    ratio_line,
    scratch,
    seed_reference,
    target_line,
    time_pipeline,
    time_shell,
    write_step_script,
)

STEPS = 20
QUICK_STEPS = 3
TARGET_MS_PER_STEP = 15.0


def build_chain(store: Any, compute: Any, src: Path, n: int) -> Any:
    from jupyter_amlpipe import Pipeline, PipelineData
    from jupyter_amlpipe.steps import PythonScriptStep

    ws = compute.workspace
    prev: Any = seed_reference(store)
    steps = []
    for i in range(n):
        out = PipelineData(f"d{i + 1}", datastore=store)
        steps.append(
            PythonScriptStep(
                name=f"step{i + 1}",
                script_name="step.py",
                arguments=["--input", prev, "--output", out],
                inputs=[prev],
                outputs=[out],
                compute_target=compute,
                source_directory=str(src),
                allow_reuse=False,
            )
        )
        prev = out
    return Pipeline(workspace=ws, steps=steps)


def bare_chain_script(bare: Path, script: Path, n: int) -> str:
    """The same chain as a shell for-loop: d0 is the seed, step i reads d(i-1) and writes di."""
    (bare / "d0").mkdir(parents=True, exist_ok=True)
    (bare / "d0" / "data.txt").write_text("s", encoding="utf-8")
    py, sc, b = shlex.quote(PYTHON), shlex.quote(str(script)), shlex.quote(str(bare))
    return f"for i in $(seq 1 {n}); do {py} {sc} --input {b}/d$((i-1)) --output {b}/d$i || exit 1; done"


def main() -> int:
    args = parse_args("Per-step overhead of a chain of script steps on LocalCompute.", repeat=7, quick_repeat=1)
    n = QUICK_STEPS if args.quick else STEPS
    header(f"bench_overhead: per-step overhead, {n}-step chain on LocalCompute vs a bare shell loop", args)
    with scratch("overhead") as root:
        src = root / "src"
        script = write_step_script(src)
        ws, store, compute = make_workspace(root, max_concurrency=2)
        bare_script = bare_chain_script(root / "bare", script, n)
        runs: list[Any] = []
        cpu: list[float] = []

        def ours() -> float:
            pipeline = build_chain(store, compute, src, n)  # built outside the timed part
            elapsed, run = time_pipeline(ws, pipeline, cpu=cpu)
            runs.append(run)
            return elapsed

        samples = interleaved(
            {"ours": ours, "bare": lambda: time_shell(bare_script)}, args.repeat, warmup=not args.quick
        )
        _check_same_result(runs[-1], root, n)
    t_ours, t_bare = median(samples["ours"]), median(samples["bare"])
    print(f"  ours: submit -> wait_for_completion, {n} steps: {t_ours:.3f} s {fmt_samples(samples['ours'])}")
    print(f"  bare: bash for-loop, same script and interpreter: {t_bare:.3f} s {fmt_samples(samples['bare'])}")
    overhead_ms = (t_ours - t_bare) * 1000
    print(f"  overhead: {overhead_ms:.1f} ms in total, {overhead_ms / n:.1f} ms per step")
    print(
        f"  CPU of the submitting process (runner bookkeeping, all threads): {median(cpu[-args.repeat :]) * 1000 / n:.1f} "
        "ms per step"
    )
    ratio_line(f"{n}-step chain, ours/bare", t_ours, t_bare, "bare")
    target_line("per-step overhead", overhead_ms / n, " ms", "<=", TARGET_MS_PER_STEP)
    print(f"  after: {load()}")
    return 0


def _check_same_result(run: Any, root: Path, n: int) -> None:
    """The pipeline's last output holds what the bare loop's last file holds."""
    last = run.find_step_run(f"step{n}")[0].get_output_data(f"d{n}")
    folder = Path(last.download(root / "check", show_progress=False))
    ours = (folder / "data.txt").read_text(encoding="utf-8")
    bare = (root / "bare" / f"d{n}" / "data.txt").read_text(encoding="utf-8")
    if ours != bare:
        raise SystemExit(f"the pipeline's last output {ours!r} differs from the bare loop's {bare!r}")


if __name__ == "__main__":
    sys.exit(main())
