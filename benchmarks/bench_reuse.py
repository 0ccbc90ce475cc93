"""Step reuse: resubmitting a 20-step chain that is fully reusable, and one with a changed step in the middle.

The chain: step01 ... step20, each a PythonScriptStep with its own source
folder ``src/stepNN/step.py``, linked by PipelineData (step01 reads a
DataReference). ``pipeline.py`` defines it; the in-process side loads that
same file, so both sides submit the same pipeline. Each step script appends
its name to an executions file, which tells how many step processes ran.

(a) warm process: ``submit`` until ``wait_for_completion(show_output=False)``
    returns, the cache warm, nothing changed (every step reused).
(b) whole process: ``amlpipe submit pipeline.py:pipeline --quiet``, nothing
    changed. Both against a bare ``python -c "import jupyter_amlpipe"``
    timed in the same run. Checks: no step process started, every step run
    reused, and no file under the step folders or of the input data opened.
(c) whole process with step 10 changed before each repetition (its ``EDIT``
    constant, which goes into its output, so its consumers see new input
    bytes): only steps 10-20 run (checked with ``get_reuse_info`` and the
    executions file), against running those 11 scripts by hand one after the
    other in a ``bash -c`` loop.

    python -m benchmarks.bench_reuse [--quick] [--repeat N]
"""

from __future__ import annotations

import os
import re
import runpy
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_reuse.py
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

STEPS = 20
QUICK_STEPS = 4
EXPERIMENT = "reuse"
TARGET_WARM_MS = 50.0
TARGET_PROCESS_S = 0.25
TARGET_CHANGED_RATIO = 3.0
RACY_SECONDS = 2.0  # files younger than this are not trusted to the stat caches: let the setup age past it

# Like common.STEP_SCRIPT (reads each --input, writes <--output>/data.txt), but its
# output carries the step's name and EDIT, so that changing EDIT changes the bytes
# every later step reads; and it appends its name to the executions file.
STEP_SCRIPT = """\
import os
import sys

NAME = {name!r}
EDIT = 0

inputs, output = [], None
args = sys.argv[1:]
for flag, value in zip(args[::2], args[1::2]):
    if flag == "--input":
        inputs.append(value)
    elif flag == "--output":
        output = value
text = ""
for path in inputs:
    if os.path.isdir(path):
        path = os.path.join(path, "data.txt")
    with open(path) as f:
        text += f.read()
os.makedirs(output, exist_ok=True)
with open(os.path.join(output, "data.txt"), "w") as f:
    f.write((text + "|" + NAME + "." + str(EDIT))[-2000:])
with open({executions!r}, "a") as f:
    f.write(NAME + "\\n")
"""

PIPELINE_FILE = """\
\"\"\"bench_reuse's chain: step NN runs src/stepNN/step.py on step NN-1's output.\"\"\"

from pathlib import Path

from jupyter_amlpipe import DataReference, Pipeline, PipelineData, Workspace
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.steps import PythonScriptStep

HERE = Path(__file__).resolve().parent
STEPS = {steps}

ws = Workspace.from_config(path=str(HERE))
store = ws.get_default_datastore()
compute = LocalCompute(workspace=ws, name="local")
prev = DataReference(datastore=store, data_reference_name="seed", path_on_datastore="seed/seed.txt")
steps = []
for i in range(1, STEPS + 1):
    out = PipelineData(f"d{{i}}", datastore=store)
    steps.append(
        PythonScriptStep(
            name=f"step{{i:02d}}",
            script_name="step.py",
            arguments=["--input", prev, "--output", out],
            inputs=[prev],
            outputs=[out],
            compute_target=compute,
            source_directory=str(HERE / "src" / f"step{{i:02d}}"),
        )
    )
    prev = out
pipeline = Pipeline(workspace=ws, steps=steps)
"""

# Runs the amlpipe command with an audit hook that records every file opened
# under the watched folders (the step sources and the input data).
AUDITED_CLI = """\
import atexit
import os
import sys

watched = tuple(sys.argv[1].split(os.pathsep))
report = sys.argv[2]
opened = []


def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(watched):
        opened.append(args[0])


def write_report():
    with open(report, "w") as f:
        f.write("\\n".join(opened))


sys.addaudithook(hook)
atexit.register(write_report)
sys.argv = ["amlpipe", *sys.argv[3:]]
from jupyter_amlpipe.cli.main import main

main()
"""


def amlpipe_command() -> list[str]:
    """The ``amlpipe`` console script of this interpreter (not a shell shim in front of it)."""
    script = Path(PYTHON).parent / "amlpipe"
    return [str(script)] if script.is_file() else [PYTHON, "-m", "jupyter_amlpipe"]


def subprocess_env(root: Path) -> dict[str, str]:
    """The environment of the timed commands: this checkout first on ``PYTHONPATH``, bytecode cached under ``root``.

    ``amlpipe`` and the bare import then load this checkout's code, from
    bytecode as an installed package would (``PYTHONPYCACHEPREFIX``, even where
    ``PYTHONDONTWRITEBYTECODE`` is set), without writing into the checkout.
    """
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONPYCACHEPREFIX": str(root / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def time_command(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    """Seconds to run ``argv`` (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def write_project(root: Path, n: int, executions: Path) -> Path:
    """``root/pipe`` with pipeline.py and src/stepNN/step.py; returns the folder."""
    pipe = root / "pipe"
    for i in range(1, n + 1):
        folder = pipe / "src" / f"step{i:02d}"
        folder.mkdir(parents=True)
        (folder / "step.py").write_text(
            STEP_SCRIPT.format(name=f"step{i:02d}", executions=str(executions)), encoding="utf-8"
        )
    (pipe / "pipeline.py").write_text(PIPELINE_FILE.format(steps=n), encoding="utf-8")
    return pipe


def edit_step(pipe: Path, index: int) -> None:
    """Bump ``EDIT`` in step ``index``'s script: the step changes, and so does its output."""
    script = pipe / "src" / f"step{index:02d}" / "step.py"
    text = script.read_text(encoding="utf-8")
    count = int(re.search(r"^EDIT = (\d+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    script.write_text(text.replace(f"EDIT = {count}\n", f"EDIT = {count + 1}\n"), encoding="utf-8")


def executed(executions: Path) -> list[str]:
    return executions.read_text(encoding="utf-8").split() if executions.exists() else []


def wait_out_racy_window(*folders: Path) -> None:
    """Sleep until every file under ``folders`` is older than the stat caches' racy window."""
    newest = max(p.stat().st_mtime for folder in folders for p in folder.rglob("*") if p.is_file())
    pause = newest + RACY_SECONDS + 0.1 - time.time()
    if pause > 0:
        time.sleep(pause)


def newest_run(ws: Any, seen: set[str]) -> Any:
    from jupyter_amlpipe import Experiment

    runs = [r for r in Experiment(ws, EXPERIMENT).get_runs() if r.id not in seen]
    if len(runs) != 1:
        raise SystemExit(f"expected one new pipeline run, found {len(runs)}")
    seen.add(runs[0].id)
    return runs[0]


def reuse_infos(run: Any) -> dict[str, dict[str, Any]]:
    status = run.get_status()
    if status != "Finished":
        raise SystemExit(f"pipeline run {run.id} ended {status}")
    return {step.name: step.get_reuse_info() for step in run.get_steps()}


def check_all_reused(run: Any, n: int, where: str) -> None:
    infos = reuse_infos(run)
    ran = sorted(name for name, info in infos.items() if not info["reused"])
    if len(infos) != n or ran:
        reasons = {name: infos[name]["reasons"] for name in ran}
        raise SystemExit(f"{where}: run {run.id} has {len(infos)} step runs; not reused: {ran}; why: {reasons}")


def check_changed(run: Any, n: int, changed: int, new_lines: list[str]) -> tuple[str, str]:
    """Steps ``changed``..n ran, the others were reused; returns the reasons of the first two that ran."""
    infos = reuse_infos(run)
    expect_run = [f"step{i:02d}" for i in range(changed, n + 1)]
    ran = sorted(name for name, info in infos.items() if not info["reused"])
    if ran != expect_run or sorted(new_lines) != expect_run:
        raise SystemExit(
            f"changed step {changed}: expected {expect_run} to run; step runs not reused: {ran}, "
            f"step processes: {new_lines}"
        )
    first, second = infos[f"step{changed:02d}"]["reasons"], infos[f"step{changed + 1:02d}"]["reasons"]
    if "script step.py changed" not in first or f"input d{changed}: content changed" not in second:
        raise SystemExit(f"unexpected reasons: {first} / {second}")
    return "; ".join(first), "; ".join(second)


def main() -> int:
    args = parse_args("Resubmitting a reusable 20-step chain, and one with a changed step.", repeat=7, quick_repeat=1)
    n = QUICK_STEPS if args.quick else STEPS
    changed = n // 2
    header(f"bench_reuse: resubmitting a {n}-step chain, fully reusable and with step {changed} changed", args)
    cli = amlpipe_command()
    bare_import = [PYTHON, "-c", "import jupyter_amlpipe"]
    with scratch("reuse") as root:
        executions = root / "executions.txt"
        env = subprocess_env(root)
        ws, _, _ = make_workspace(root)
        pipe = write_project(root, n, executions)
        ws.write_config(path=str(pipe))
        submit = [*cli, "submit", "pipeline.py:pipeline", "--experiment", EXPERIMENT, "--quiet"]
        wait_out_racy_window(pipe, ws.path / "datastores")
        seen: set[str] = set()

        # Warm the cache: the one run that executes every step.
        time_command(submit, env, cwd=pipe)
        newest_run(ws, seen)
        if len(executed(executions)) != n:
            raise SystemExit(f"the first run started {len(executed(executions))} step processes, not {n}")

        # (a) and (b): nothing changed.
        before = len(executed(executions))
        warm_runs: list[Any] = []

        def warm() -> float:
            pipeline = runpy.run_path(str(pipe / "pipeline.py"))["pipeline"]  # built outside the timed part
            elapsed, run = time_pipeline(ws, pipeline, EXPERIMENT)
            seen.add(run.id)
            warm_runs.append(run)
            return elapsed

        def process() -> float:
            elapsed = time_command(submit, env, cwd=pipe)
            check_all_reused(newest_run(ws, seen), n, "amlpipe submit")
            return elapsed

        noop = interleaved(
            {"warm": warm, "process": process, "import": lambda: time_command(bare_import, env)},
            args.repeat,
            warmup=not args.quick,
        )
        for run in warm_runs:
            check_all_reused(run, n, "in-process resubmit")
        started = len(executed(executions)) - before
        if started:
            raise SystemExit(f"{started} step processes started during the no-op resubmits")
        opened = audited_noop(submit, env, pipe, [pipe / "src", ws.path / "datastores"], root)
        check_all_reused(newest_run(ws, seen), n, "audited amlpipe submit")
        noop_count = len(warm_runs) + len(noop["process"]) + (0 if args.quick else 1) + 1  # + warm-up, audited

        # (c): step `changed` edited before each repetition.
        bare = root / "bare"
        (bare / "d0").mkdir(parents=True)
        (bare / "d0" / "data.txt").write_text("s", encoding="utf-8")
        loop = bare_loop(pipe, bare, 1, changed - 1)
        if changed > 1:
            time_shell(loop)  # the bare side's inputs of step `changed`, once, untimed
        bare_script = bare_loop(pipe, bare, changed, n)
        reasons: tuple[str, str] = ("", "")

        def process_changed() -> float:
            nonlocal reasons
            edit_step(pipe, changed)
            lines = len(executed(executions))
            elapsed = time_command(submit, env, cwd=pipe)
            reasons = check_changed(newest_run(ws, seen), n, changed, executed(executions)[lines:])
            return elapsed

        edited = interleaved(
            {"process": process_changed, "bare": lambda: time_shell(bare_script)}, args.repeat, warmup=not args.quick
        )

    t_warm, t_process, t_import = median(noop["warm"]), median(noop["process"]), median(noop["import"])
    t_changed, t_bare = median(edited["process"]), median(edited["bare"])
    print(
        f"  amlpipe command: {' '.join(cli)}; it and the bare import load this checkout (PYTHONPATH), "
        "from bytecode cached in the scratch folder (PYTHONPYCACHEPREFIX), as an installed package would"
    )
    print(
        "  (a) no-op resubmit in a warm process, submit -> wait_for_completion(show_output=False): "
        f"{t_warm * 1000:.1f} ms {fmt_samples(noop['warm'], 1000)}"
    )
    print(
        f"  (b) no-op resubmit, whole process `amlpipe submit pipeline.py:pipeline --quiet`: {t_process:.3f} s "
        f"{fmt_samples(noop['process'])}"
    )
    print(f'      bare `python -c "import jupyter_amlpipe"`: {t_import:.3f} s {fmt_samples(noop["import"])}')
    print(
        f"  check: {noop_count} no-op resubmits, every one with all {n} step runs reused; step processes started: "
        f"{started}"
    )
    print(
        f"  check: files opened under the step folders and the input data during a no-op `amlpipe submit`: "
        f"{len(opened)}{(' ' + ', '.join(opened[:5])) if opened else ''}"
    )
    print(
        f"  (c) step {changed} changed, whole process `amlpipe submit`: {t_changed:.3f} s "
        f"{fmt_samples(edited['process'])}"
    )
    print(
        f"      bare: bash for-loop over steps {changed}-{n} ({n - changed + 1} scripts, same interpreter): "
        f"{t_bare:.3f} s {fmt_samples(edited['bare'])}"
    )
    print(
        f"  check: in every repetition steps {changed}-{n} ran and the steps before them were reused "
        f'(get_reuse_info and the executions file); reasons: step{changed:02d} "{reasons[0]}", '
        f'step{changed + 1:02d} "{reasons[1]}"'
    )
    ratio_line("no-op resubmit in a warm process / bare import", t_warm, t_import, "bare import")
    ratio_line("no-op resubmit as a whole process / bare import", t_process, t_import, "bare import")
    ratio_line(f"step {changed} of {n} changed, whole process / bare loop", t_changed, t_bare, "bare")
    target_line(f"no-op resubmit of {n} steps in a warm process", t_warm * 1000, " ms", "<", TARGET_WARM_MS)
    target_line(f"no-op resubmit of {n} steps as a whole process", t_process, " s", "<", TARGET_PROCESS_S)
    target_line(
        f"step {changed} of {n} changed, ratio to the bare loop", t_changed / t_bare, "x", "<=", TARGET_CHANGED_RATIO
    )
    print(f"  after: {load()}")
    return 0


def bare_loop(pipe: Path, bare: Path, first: int, last: int) -> str:
    """Steps ``first``..``last`` by hand: step i reads bare/d(i-1) and writes bare/di."""
    py, src, b = shlex.quote(PYTHON), shlex.quote(str(pipe / "src")), shlex.quote(str(bare))
    return (
        f"for i in $(seq {first} {last}); do {py} {src}/step$(printf %02d $i)/step.py "
        f"--input {b}/d$((i-1)) --output {b}/d$i || exit 1; done"
    )


def audited_noop(submit: list[str], env: dict[str, str], pipe: Path, watched: list[Path], root: Path) -> list[str]:
    """One no-op ``amlpipe submit`` (untimed) that reports the files it opened under ``watched``."""
    report = root / "opened.txt"
    cmd = [
        PYTHON,
        "-c",
        AUDITED_CLI,
        os.pathsep.join(str(w) for w in watched),
        str(report),
        *submit[len(amlpipe_command()) :],
    ]
    subprocess.run(cmd, cwd=pipe, env=env, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    text = report.read_text(encoding="utf-8")
    return text.splitlines() if text else []


if __name__ == "__main__":
    sys.exit(main())
