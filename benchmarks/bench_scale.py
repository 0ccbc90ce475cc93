"""Scale: a 500-step wide-and-deep DAG of trivial script steps (20 layers x 25 wide).

Each step of layer 0 reads a DataReference; each step of a later layer reads
one or two outputs of the layer before (step w reads outputs w and, when w is
even, w+1 of the previous layer). Measured in one run:

1. building and validating the Pipeline in-process (500 PipelineData, 500
   PythonScriptSteps, ``Pipeline(...)``, ``validate()``), against building the
   same graph as plain dicts and preparing a ``graphlib.TopologicalSorter``;
2. running it on ``LocalCompute(max_concurrency=2)`` from ``submit`` until
   ``wait_for_completion(show_output=False)`` returns, against a bare
   sequential shell loop over the same 500 script runs;
3. the per-step overhead with ``max_concurrency=1`` (against the same bare
   sequential loop) at 20 steps (4 x 5) and at 500 steps, to show that it does
   not grow with the pipeline's size.

    python -m benchmarks.bench_scale [--quick] [--repeat N]
"""

from __future__ import annotations

import graphlib
import shlex
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_scale.py
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

LARGE = (20, 25)  # layers, width: 500 steps
SMALL = (4, 5)  # 20 steps
QUICK_LARGE = (3, 3)
QUICK_SMALL = (2, 2)
TARGET_BUILD_MS = 100.0
TARGET_RUN_RATIO = 1.0
TARGET_MS_PER_STEP = 15.0


def parents(layer: int, w: int, width: int) -> list[int]:
    """Which outputs of the previous layer step (layer, w) reads."""
    if layer == 0:
        return []
    return [w] if w % 2 or width == 1 else [w, (w + 1) % width]


def build_dag(store: Any, compute: Any, src: Path, layers: int, width: int) -> Any:
    from jupyter_amlpipe import Pipeline, PipelineData
    from jupyter_amlpipe.steps import PythonScriptStep

    seed = seed_reference(store)
    previous: list[Any] = []
    steps = []
    for layer in range(layers):
        current = []
        for w in range(width):
            out = PipelineData(f"l{layer}_w{w}", datastore=store)
            inputs = [previous[p] for p in parents(layer, w, width)] if layer else [seed]
            arguments: list[Any] = []
            for item in inputs:
                arguments += ["--input", item]
            steps.append(
                PythonScriptStep(
                    name=f"l{layer}_w{w}",
                    script_name="step.py",
                    arguments=[*arguments, "--output", out],
                    inputs=inputs,
                    outputs=[out],
                    compute_target=compute,
                    source_directory=str(src),
                    allow_reuse=False,
                )
            )
            current.append(out)
        previous = current
    pipeline = Pipeline(workspace=compute.workspace, steps=steps)
    pipeline.validate()
    return pipeline


def build_plain(layers: int, width: int) -> Any:
    """The baseline of building: the same graph as dicts, and a prepared graphlib sorter."""
    deps: dict[str, list[str]] = {}
    specs: dict[str, dict[str, Any]] = {}
    for layer in range(layers):
        for w in range(width):
            name = f"l{layer}_w{w}"
            ins = [f"l{layer - 1}_w{p}" for p in parents(layer, w, width)]
            deps[name] = ins
            specs[name] = {"script": "step.py", "inputs": ins, "output": name}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(deps)
    sorter.prepare()
    return specs, sorter


def bare_script(bare: Path, script: Path, seed: Path, layers: int, width: int) -> Path:
    """A shell file running the same script runs one after the other, layer by layer."""
    py, sc = shlex.quote(PYTHON), shlex.quote(str(script))
    lines = ["set -e", f"cd {shlex.quote(str(bare))}"]
    for layer in range(layers):
        for w in range(width):
            ins = [f"l{layer - 1}_w{p}" for p in parents(layer, w, width)] if layer else [shlex.quote(str(seed))]
            lines.append(f"{py} {sc} " + " ".join(f"--input {i}" for i in ins) + f" --output l{layer}_w{w}")
    bare.mkdir(parents=True, exist_ok=True)
    path = bare.parent / f"bare-{layers}x{width}.sh"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def time_build(store: Any, compute: Any, src: Path, layers: int, width: int, repeat: int) -> tuple[list[float], ...]:
    ours: list[float] = []
    plain: list[float] = []
    build_dag(store, compute, src, layers, width)  # warm-up
    build_plain(layers, width)
    for _ in range(repeat):
        start = time.perf_counter()
        build_dag(store, compute, src, layers, width)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        build_plain(layers, width)
        plain.append(time.perf_counter() - start)
    return ours, plain


def main() -> int:
    args = parse_args("A 500-step DAG: build, validate and run it.", repeat=3, quick_repeat=1)
    large, small = (QUICK_LARGE, QUICK_SMALL) if args.quick else (LARGE, SMALL)
    n_large, n_small = large[0] * large[1], small[0] * small[1]
    header(f"bench_scale: {n_large}-step DAG ({large[0]} layers x {large[1]} wide) on LocalCompute", args)
    with scratch("scale") as root:
        src = root / "src"
        script = write_step_script(src)
        ws, store, compute2 = make_workspace(root, max_concurrency=2)
        from jupyter_amlpipe.compute import LocalCompute

        compute1 = LocalCompute(workspace=ws, name="serial", max_concurrency=1)
        seed = root / "seed.txt"

        # 1. build + validate
        reps = args.repeat if args.quick else max(args.repeat, 5)
        b_ours, b_plain = time_build(store, compute2, src, *large, reps)
        t_build, t_plain = median(b_ours) * 1000, median(b_plain) * 1000
        print(f"  build + validate Pipeline, {n_large} steps: {t_build:.1f} ms {fmt_samples(b_ours, 1000)} ms")
        print(f"  baseline, same graph as dicts + graphlib.prepare(): {t_plain:.1f} ms {fmt_samples(b_plain, 1000)} ms")
        ratio_line(f"build + validate {n_large} steps, ours/plain graphlib", t_build, t_plain, "plain", " ms")
        sys.stdout.flush()

        # 3a. per-step overhead at the small size (sequential), with a warm-up
        bare_small = bare_script(root / "bare-small", script, seed, *small)
        cpu_small: list[float] = []
        s_small = interleaved(
            {
                "ours": lambda: time_pipeline(ws, build_dag(store, compute1, src, *small), cpu=cpu_small)[0],
                "bare": lambda: time_shell(f"bash {shlex.quote(str(bare_small))}"),
            },
            reps,
            warmup=True,
        )

        # 2 and 3b. the large DAG: 2 cores, 1 core, and the bare sequential loop
        bare_large = bare_script(root / "bare-large", script, seed, *large)
        cpu_large: list[float] = []
        runs: list[Any] = []

        def ours_large(compute: Any, cpu: list[float] | None = None) -> float:
            elapsed, run = time_pipeline(ws, build_dag(store, compute, src, *large), cpu=cpu)
            runs.append(run)
            return elapsed

        s_large = interleaved(
            {
                "bare": lambda: time_shell(f"bash {shlex.quote(str(bare_large))}"),
                "ours2": lambda: ours_large(compute2),
                "ours1": lambda: ours_large(compute1, cpu_large),
            },
            args.repeat,
            warmup=False,
        )
        _check_same_result(runs[-1], root / "bare-large", *large)

    t_bare, t_ours2, t_ours1 = (median(s_large[k]) for k in ("bare", "ours2", "ours1"))
    print(f"  run, max_concurrency=2: {t_ours2:.3f} s {fmt_samples(s_large['ours2'])}")
    print(f"  run, max_concurrency=1: {t_ours1:.3f} s {fmt_samples(s_large['ours1'])}")
    print(f"  bare sequential shell loop, same {n_large} script runs: {t_bare:.3f} s {fmt_samples(s_large['bare'])}")
    t_ours_small, t_bare_small = median(s_small["ours"]), median(s_small["bare"])
    print(
        f"  {n_small} steps, max_concurrency=1: {t_ours_small:.3f} s {fmt_samples(s_small['ours'])}; "
        f"bare: {t_bare_small:.3f} s {fmt_samples(s_small['bare'])}"
    )
    per_small = (t_ours_small - t_bare_small) * 1000 / n_small
    per_large = (t_ours1 - t_bare) * 1000 / n_large
    cpu_per_small = median(cpu_small[1:]) * 1000 / n_small  # [0] is the warm-up
    cpu_per_large = median(cpu_large) * 1000 / n_large
    print(
        f"  per-step overhead (max_concurrency=1 vs bare): {per_small:.1f} ms at {n_small} steps, "
        f"{per_large:.1f} ms at {n_large} steps"
    )
    print(
        f"  CPU of the submitting process per step: {cpu_per_small:.1f} ms at {n_small} steps, "
        f"{cpu_per_large:.1f} ms at {n_large} steps"
    )
    ratio_line(f"run {n_large} steps on 2 cores, ours/bare sequential", t_ours2, t_bare, "bare")
    ratio_line(f"run {n_large} steps on 1 core, ours/bare sequential", t_ours1, t_bare, "bare")
    ratio_line(
        f"submitting process CPU per step, {n_large} vs {n_small} steps",
        cpu_per_large,
        cpu_per_small,
        f"{n_small} steps",
        " ms",
    )
    target_line(f"build + validate {n_large} steps", t_build, " ms", "<", TARGET_BUILD_MS)
    target_line(f"run {n_large} steps on 2 cores vs bare sequential", t_ours2 / t_bare, "x", "<=", TARGET_RUN_RATIO)
    target_line(f"per-step overhead at {n_large} steps", per_large, " ms", "<=", TARGET_MS_PER_STEP)
    print(f"  after: {load()}")
    return 0


def _check_same_result(run: Any, bare: Path, layers: int, width: int) -> None:
    """A last-layer output of the pipeline holds what the bare loop's holds."""
    name = f"l{layers - 1}_w0"
    folder = Path(run.find_step_run(name)[0].get_output_data(name).download(bare.parent / "check", show_progress=False))
    ours = (folder / "data.txt").read_text(encoding="utf-8")
    expected = (bare / name / "data.txt").read_text(encoding="utf-8")
    if ours != expected:
        raise SystemExit(f"the pipeline's output {name} is {ours!r}, the bare loop's {expected!r}")


if __name__ == "__main__":
    sys.exit(main())
