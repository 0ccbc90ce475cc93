"""Run every benchmark, one after the other, each in its own process; then list every ratio and target.

    python -m benchmarks.run_all [--quick] [--only NAME ...]

Exit code: 0 when every benchmark ran (a missed target is reported, not an
error), 1 when one of them failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python benchmarks/run_all.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, REPO

BENCHMARKS = (
    "bench_import",
    "bench_overhead",
    "bench_fanout",
    "bench_scale",
    "bench_reuse",
    "bench_hashing",
    "bench_notebooks",
    "bench_docker",
    "bench_docker_build",
    "bench_server",
    "bench_transfer",
    "bench_sql",
    "bench_dask",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repetition (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    args = parser.parse_args()
    summary: list[str] = []
    failed: list[str] = []
    for name in args.only or BENCHMARKS:
        cmd = [PYTHON, "-m", f"benchmarks.{name}", *(["--quick"] if args.quick else [])]
        print(f"$ python -m benchmarks.{name}{' --quick' if args.quick else ''}", flush=True)
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
        sys.stdout.write(proc.stdout)
        print(flush=True)
        if proc.returncode != 0:
            failed.append(name)
            summary.append(f"{name}: FAILED (exit code {proc.returncode})")
            continue
        summary += [f"{name}: {line}" for line in proc.stdout.splitlines() if line.startswith(("ratio ", "target "))]
    print("== summary ==")
    print("\n".join(summary))
    misses = sum(line.endswith(" MISS") for line in summary)
    print(f"{len(summary)} lines, {misses} target(s) missed, {len(failed)} benchmark(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
