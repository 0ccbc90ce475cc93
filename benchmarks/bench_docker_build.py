"""Environment images: the first build of an environment with one local wheel, and the second time (cache hit).

Each repetition makes a new environment (a wheels folder of its own with
``amlpipe_testpkg`` 1.0 from tests/assets/wheels and a marker file, so its hash
is new) on ``$AMLPIPE_BASE_IMAGE`` (default ``amlpipe-base:local``, see
``scripts/build-base-image``), installed with ``--no-index``: no network.

(a) first build, the engine's layer cache warm for the base and the venv
    layer (what a new environment costs once a first image exists), vs
(b) first build with no layer cache at all (``rebuild=True``: the venv is
    created anew too), and
(c) ``ensure_image`` the second time (found by tag and label, nothing built),
    vs a bare ``client.images.get(tag)`` (one inspect call) in the same run.

The images made are removed afterwards.

    python -m benchmarks.bench_docker_build [--quick] [--repeat N]
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_docker_build.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, fmt_samples, header, load, median, parse_args, ratio_line, scratch, target_line

WHEELS = REPO / "tests" / "assets" / "wheels"
TARGET_HIT_S = 1.0


def _environment(root: Path) -> Any:
    from jupyter_amlpipe.core.environment import CondaDependencies, Environment

    tag = uuid.uuid4().hex[:8]
    wheels = root / f"wheels-{tag}"
    shutil.copytree(WHEELS, wheels)
    (wheels / f"marker-{tag}.txt").write_text("a new environment hash\n", encoding="utf-8")
    env = Environment(f"bench-{tag}")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["--no-index", f"--find-links {wheels}", "amlpipe_testpkg==1.0"]
    )
    return env


def main() -> int:
    args = parse_args(__doc__.splitlines()[0], repeat=3)
    header("bench_docker_build: Docker environment images, first build and cache hit", args)
    try:
        from jupyter_amlpipe.compute.docker.client import get_client

        client = get_client("bench")
    except Exception as exc:  # no engine or no SDK: nothing to measure here
        print(f"skipped: {exc}")
        return 0
    from jupyter_amlpipe.compute.docker.images import BUILDS, ensure_image, environment_image_hash

    base = os.environ.get("AMLPIPE_BASE_IMAGE") or "amlpipe-base:local"
    built: list[str] = []
    first: list[float] = []
    cold: list[float] = []
    hit: list[float] = []
    inspect: list[float] = []
    with scratch("docker") as root:
        try:
            ensure_image(_environment(root), base, client=client)  # warm-up: the venv layer is in the cache
            for _ in range(args.repeat):
                env = _environment(root)
                start = time.perf_counter()
                tag = ensure_image(env, base, client=client)
                first.append(time.perf_counter() - start)
                built.append(tag)
                env2 = _environment(root)
                start = time.perf_counter()
                built.append(ensure_image(env2, base, client=client, rebuild=True))
                cold.append(time.perf_counter() - start)
                start = time.perf_counter()
                again = ensure_image(env, base, client=client)
                hit.append(time.perf_counter() - start)
                if again != tag or BUILDS[environment_image_hash(env, base)] != 1:
                    raise SystemExit(f"the second ensure_image of {env.name} built again")
                start = time.perf_counter()
                client.images.get(tag)
                inspect.append(time.perf_counter() - start)
        finally:
            for image in client.images.list(filters={"label": "org.amlpipe.env-name"}):
                if (image.labels or {}).get("org.amlpipe.env-name", "").startswith("bench-"):
                    client.images.remove(image.id, force=True)
    t_first, t_cold, t_hit, t_inspect = median(first), median(cold), median(hit), median(inspect)
    print(f"  first build, layer cache warm (base + venv): {t_first:.3f} s {fmt_samples(first)}")
    print(f"  first build, no layer cache: {t_cold:.3f} s {fmt_samples(cold)}")
    print(f"  second time (cache hit): {t_hit * 1000:.1f} ms {fmt_samples(hit, 1000)}")
    print(f"  bare client.images.get(tag): {t_inspect * 1000:.1f} ms {fmt_samples(inspect, 1000)}")
    ratio_line("cache hit/first build", t_hit, t_first, "first build")
    ratio_line("first build, layer cache warm/no layer cache", t_first, t_cold, "no layer cache")
    ratio_line("cache hit/bare images.get", t_hit, t_inspect, "images.get")
    target_line("environment build the second time (cache hit)", t_hit, " s", "<", TARGET_HIT_S)
    print(f"  after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
