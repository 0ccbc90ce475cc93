"""Fan-out: 8 independent 1-second sleep steps and a join step, LocalCompute(max_concurrency=8).

Two pairings, each against its own baseline measured in the same run, timed
for ours from ``submit`` until ``wait_for_completion(show_output=False)`` returns:

- sleeps: 8 ``CommandStep(["sleep", "1"])`` and a join script step that runs
  after them, versus ``bash -c`` running ``sleep 1 &`` 8 times, ``wait``, then
  the same join script;
- scripts: 8 PythonScriptSteps that sleep 1 s and write a PipelineData output,
  and a join step that reads the 8 outputs, versus ``bash -c`` starting the same
  8 scripts with ``&``, ``wait``, then the join script.

The target is checked for both.

    python -m benchmarks.bench_fanout [--quick] [--repeat N]
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_fanout.py
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
    target_line,
    time_pipeline,
    time_shell,
    write_step_script,
)

WIDTH = 8
SLEEP = 1.0
QUICK_WIDTH = 2
QUICK_SLEEP = 0.2
TARGET_RATIO = 1.25


def build_sleeps(store: Any, compute: Any, src: Path, width: int, sleep: float) -> Any:
    from jupyter_amlpipe import Pipeline, PipelineData
    from jupyter_amlpipe.steps import CommandStep, PythonScriptStep

    sleepers = [
        CommandStep(
            command=["sleep", f"{sleep:g}"],
            name=f"sleep{i + 1}",
            compute_target=compute,
            source_directory=str(src),
            allow_reuse=False,
        )
        for i in range(width)
    ]
    joined = PipelineData("joined", datastore=store)
    join_args: list[Any] = []
    for i in range(width):
        join_args += ["--input", f"seeds/{i + 1}.txt"]
    join = PythonScriptStep(
        name="join",
        script_name="step.py",
        arguments=[*join_args, "--output", joined],
        outputs=[joined],
        compute_target=compute,
        source_directory=str(src),
        allow_reuse=False,
    )
    for sleeper in sleepers:
        join.run_after(sleeper)
    return Pipeline(workspace=compute.workspace, steps=[*sleepers, join])


def build_scripts(store: Any, compute: Any, src: Path, width: int, sleep: float) -> Any:
    from jupyter_amlpipe import Pipeline, PipelineData
    from jupyter_amlpipe.steps import PythonScriptStep

    outs = [PipelineData(f"o{i + 1}", datastore=store) for i in range(width)]
    sleepers = [
        PythonScriptStep(
            name=f"sleep{i + 1}",
            script_name="step.py",
            arguments=["--sleep", sleep, "--output", out],
            outputs=[out],
            compute_target=compute,
            source_directory=str(src),
            allow_reuse=False,
        )
        for i, out in enumerate(outs)
    ]
    joined = PipelineData("joined", datastore=store)
    join_args: list[Any] = []
    for out in outs:
        join_args += ["--input", out]
    join = PythonScriptStep(
        name="join",
        script_name="step.py",
        arguments=[*join_args, "--output", joined],
        inputs=outs,
        outputs=[joined],
        compute_target=compute,
        source_directory=str(src),
        allow_reuse=False,
    )
    return Pipeline(workspace=compute.workspace, steps=[*sleepers, join])


def write_seeds(src: Path, width: int) -> None:
    """Small files the join of the sleeps pairing reads (it has no data from the sleeps)."""
    (src / "seeds").mkdir(parents=True, exist_ok=True)
    for i in range(width):
        (src / "seeds" / f"{i + 1}.txt").write_text(str(i + 1), encoding="utf-8")


def bare_scripts(bare: Path, src: Path, script: Path, width: int, sleep: float) -> tuple[str, str]:
    """(shell ``sleep`` in parallel then the join, the same scripts in parallel then the join)."""
    py, sc, b, s = (shlex.quote(str(x)) for x in (PYTHON, script, bare, src))
    wait_all = "for p in $(jobs -p); do wait $p || exit 1; done"
    seed_inputs = " ".join(f"--input {s}/seeds/{i}.txt" for i in range(1, width + 1))
    sleeps = (
        f"for i in $(seq 1 {width}); do sleep {sleep:g} & done; {wait_all}; "
        f"{py} {sc} {seed_inputs} --output {b}/joined-sleeps"
    )
    outs = " ".join(f"--input {b}/o{i}" for i in range(1, width + 1))
    scripts = (
        f"for i in $(seq 1 {width}); do {py} {sc} --sleep {sleep:g} --output {b}/o$i & done; {wait_all}; "
        f"{py} {sc} {outs} --output {b}/joined"
    )
    return sleeps, scripts


def main() -> int:
    args = parse_args("Fan-out of sleep steps and a join on LocalCompute.", repeat=7, quick_repeat=1)
    width, sleep = (QUICK_WIDTH, QUICK_SLEEP) if args.quick else (WIDTH, SLEEP)
    header(
        f"bench_fanout: {width} x {sleep:g} s sleep steps + join, max_concurrency={width}, vs bare parallel shell", args
    )
    with scratch("fanout") as root:
        src = root / "src"
        script = write_step_script(src)
        write_seeds(src, width)
        ws, store, compute = make_workspace(root, max_concurrency=width)
        bare_sleeps, bare_scripts_ = bare_scripts(root / "bare", src, script, width, sleep)
        sides = {
            "ours-sleeps": lambda: time_pipeline(ws, build_sleeps(store, compute, src, width, sleep))[0],
            "bare-sleeps": lambda: time_shell(bare_sleeps),
            "ours-scripts": lambda: time_pipeline(ws, build_scripts(store, compute, src, width, sleep))[0],
            "bare-scripts": lambda: time_shell(bare_scripts_),
        }
        samples = interleaved(sides, args.repeat, warmup=not args.quick)
    t = {k: median(v) for k, v in samples.items()}
    print(
        f"  ours, {width} CommandStep sleeps + join step: {t['ours-sleeps']:.3f} s {fmt_samples(samples['ours-sleeps'])}"
    )
    print(
        f"  bare, 'sleep {sleep:g} &' x {width}, wait, join script: {t['bare-sleeps']:.3f} s "
        f"{fmt_samples(samples['bare-sleeps'])}"
    )
    print(
        f"  ours, {width} sleeping script steps + join step (PipelineData): {t['ours-scripts']:.3f} s "
        f"{fmt_samples(samples['ours-scripts'])}"
    )
    print(
        f"  bare, same scripts '&' x {width}, wait, join script: {t['bare-scripts']:.3f} s "
        f"{fmt_samples(samples['bare-scripts'])}"
    )
    r_sleeps = ratio_line("fan-out sleeps, ours/bare", t["ours-sleeps"], t["bare-sleeps"], "bare")
    r_scripts = ratio_line("fan-out scripts, ours/bare", t["ours-scripts"], t["bare-scripts"], "bare")
    target_line("fan-out ratio (sleep steps)", r_sleeps, "x", "<=", TARGET_RATIO)
    target_line("fan-out ratio (script steps)", r_scripts, "x", "<=", TARGET_RATIO)
    print(f"  after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
