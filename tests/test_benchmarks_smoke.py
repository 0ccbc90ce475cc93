"""Each benchmark runs in its tiny ``--quick`` mode and prints its ratio and target lines.

No timing is asserted here: the figures live in benchmarks/README.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RATIO = re.compile(r"^ratio .+: \d+\.\d\dx \(ours .+, .+\)$", re.MULTILINE)
TARGET = re.compile(r"^target .+: -?\d+(\.\d+)?.* \(target (<=|<) .+\) (pass|MISS)$", re.MULTILINE)


def run_benchmark(module: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the benchmark's scratch folder goes under tmp_path
    return subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "ratios", "targets"),
    [
        ("bench_overhead", 1, 1),
        ("bench_fanout", 2, 2),
        ("bench_scale", 4, 3),
        ("bench_import", 1, 2),
        ("bench_reuse", 3, 3),
        ("bench_hashing", 4, 3),
        ("bench_notebooks", 4, 2),
        pytest.param("bench_docker", 1, 1, marks=pytest.mark.docker),
        pytest.param("bench_docker_build", 3, 1, marks=pytest.mark.docker),
        ("bench_server", 6, 1),
        ("bench_transfer", 1, 1),
        pytest.param("bench_sql", 1, 1, marks=pytest.mark.sql),
        pytest.param("bench_dask", 1, 1, marks=pytest.mark.dask),
    ],
)
def test_benchmark_quick_prints_its_ratios(module: str, ratios: int, targets: int, tmp_path: Path) -> None:
    proc = run_benchmark(module, tmp_path)
    assert proc.returncode == 0, f"{module} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.startswith(f"== {module}:"), proc.stdout
    assert len(RATIO.findall(proc.stdout)) == ratios, proc.stdout
    assert len(TARGET.findall(proc.stdout)) == targets, proc.stdout
    assert "[quick]" in proc.stdout
    # the scratch folder (workspace, data) is removed afterwards
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("amlpipe-bench-")]


def test_run_all_quick_summarises_every_benchmark(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_all", "--quick", "--only", "bench_overhead", "bench_import"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.split("== summary ==", 1)[1]
    assert re.search(r"^bench_overhead: ratio ", summary, re.MULTILINE), summary
    assert re.search(r"^bench_import: target jupyter_amlpipe import time: ", summary, re.MULTILINE), summary
    assert "0 benchmark(s) failed" in summary
