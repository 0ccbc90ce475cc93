"""Per-step overhead on DockerCompute: trivial script steps in containers versus bare ``docker run --rm``.

Ours: a pipeline of N independent trivial script steps (the script is empty)
on ``DockerCompute(max_concurrency=1)``, so they run one after the other, each
in its own container; the environment's image warm (built before timing);
timed from ``submit`` until ``wait_for_completion(show_output=False)`` returns.
Baseline: ``docker run --rm IMAGE python3 -c pass`` N times in a bash loop,
with the same image, in the same run.

The image is ``$AMLPIPE_BASE_IMAGE`` (default ``amlpipe-base:local``, see
``scripts/build-base-image``) with the environment layer DockerCompute adds.

    python -m benchmarks.bench_docker [--quick] [--repeat N]
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_docker.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
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

STEPS = 8
QUICK_STEPS = 2
TARGET_RATIO = 1.5


def build(ws: Any, compute: Any, src: Path, n: int) -> Any:
    from jupyter_amlpipe import Pipeline
    from jupyter_amlpipe.steps import PythonScriptStep

    steps = [
        PythonScriptStep(
            name=f"noop{i}",
            script_name="noop.py",
            compute_target=compute,
            source_directory=str(src),
            allow_reuse=False,
        )
        for i in range(n)
    ]
    return Pipeline(workspace=ws, steps=steps)


def main() -> int:
    args = parse_args("Per-step overhead of trivial script steps on DockerCompute.", repeat=5, quick_repeat=1)
    n = QUICK_STEPS if args.quick else STEPS
    os.environ.setdefault("AMLPIPE_BASE_IMAGE", "amlpipe-base:local")
    if shutil.which("docker") is None:
        raise SystemExit("bench_docker needs the docker command line client (the baseline is `docker run --rm`)")
    header(
        f"bench_docker: {n} trivial script steps on DockerCompute vs {n} x `docker run --rm IMAGE python3 -c pass`",
        args,
    )
    from jupyter_amlpipe import Workspace
    from jupyter_amlpipe.compute import DockerCompute
    from jupyter_amlpipe.core.environment import Environment

    with scratch("docker") as root:
        src = root / "src"
        src.mkdir()
        (src / "noop.py").write_text("", encoding="utf-8")
        ws = Workspace.create("bench", path=root / "ws", exist_ok=True)
        compute = DockerCompute(workspace=ws, name="docker", max_concurrency=1)
        from jupyter_amlpipe.compute.docker.client import get_client
        from jupyter_amlpipe.compute.docker.images import ensure_image

        image = ensure_image(Environment("default-environment"), compute.base_image, client=get_client())
        print(f"  image: {image} (on {compute.base_image})")
        bare = f"for i in $(seq 1 {n}); do docker run --rm {shlex.quote(image)} python3 -c pass || exit 1; done"

        def ours() -> float:
            pipeline = build(ws, compute, src, n)  # built outside the timed part
            elapsed, _ = time_pipeline(ws, pipeline)
            return elapsed

        samples = interleaved({"ours": ours, "bare": lambda: time_shell(bare)}, args.repeat, warmup=True)
    t_ours, t_bare = median(samples["ours"]), median(samples["bare"])
    print(f"  ours: submit -> wait_for_completion, {n} steps: {t_ours:.3f} s {fmt_samples(samples['ours'])}")
    print(f"  bare: {n} x docker run --rm: {t_bare:.3f} s {fmt_samples(samples['bare'])}")
    print(f"  per step: ours {t_ours / n * 1000:.0f} ms, bare {t_bare / n * 1000:.0f} ms")
    ratio = ratio_line(f"{n} docker steps, ours/bare docker run", t_ours, t_bare, "bare")
    target_line("DockerCompute step vs docker run --rm", ratio, "x", "<=", TARGET_RATIO)
    print(f"  after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
