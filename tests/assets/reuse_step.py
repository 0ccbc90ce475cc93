"""A counted step for the reuse and resume tests.

``reuse_step.py NAME COUNT_FILE [--in PATH]... [--out FOLDER] [--value V] [--fail-if FILE] [--hold FILE]
[--markers DIR]``

It appends NAME to COUNT_FILE (one line per execution: the tests count
executions with it), then writes ``FOLDER/data.txt``: the bytes of every input
followed by lines of its own (its NAME, VERSION, ``--value`` and
``AML_PARAMETER_*`` values), half of them first, the rest after a pause point.
At the pause point it writes its pid to ``DIR/NAME.half`` (with --markers);
with ``--fail-if FILE`` it exits with code 3 there when FILE exists; with
``--hold FILE`` it waits there while FILE exists. It logs the number of lines
it wrote as metric ``lines``, and as ``NAME_lines`` on the pipeline run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

VERSION = 1
FAIL = False
LINES = 40

parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("count")
parser.add_argument("--in", dest="inputs", action="append", default=[])
parser.add_argument("--out")
parser.add_argument("--value", default="-")
parser.add_argument("--fail-if")
parser.add_argument("--hold")
parser.add_argument("--markers")
args = parser.parse_args()

with open(args.count, "a", encoding="utf-8") as f:
    f.write(args.name + "\n")


def read(path: Path) -> bytes:
    if path.is_dir():
        return b"".join(read(p) for p in sorted(path.rglob("*")) if p.is_file())
    return path.read_bytes()


received = b"".join(read(Path(p)) for p in args.inputs)
params = ",".join(
    f"{k[len('AML_PARAMETER_') :]}={v}" for k, v in sorted(os.environ.items()) if k.startswith("AML_PARAMETER_")
)
own = [f"{args.name} v{VERSION} value={args.value} params={params} line {i}\n".encode() for i in range(LINES)]
print(f"{args.name}: received {len(received)} bytes, value {args.value}")

target = None
if args.out:
    Path(args.out).mkdir(parents=True, exist_ok=True)
    target = open(Path(args.out) / "data.txt", "wb")  # noqa: SIM115
    target.write(received + b"".join(own[: LINES // 2]))
    target.flush()
    os.fsync(target.fileno())

if args.markers:
    half = Path(args.markers) / f"{args.name}.half"
    half.with_suffix(".tmp").write_text(str(os.getpid()), encoding="utf-8")
    os.replace(half.with_suffix(".tmp"), half)
if FAIL or (args.fail_if and Path(args.fail_if).exists()):
    print(f"{args.name}: failing on purpose after writing half of its output", file=sys.stderr)
    sys.exit(3)
if args.hold:
    deadline = time.monotonic() + 120
    while Path(args.hold).exists() and time.monotonic() < deadline:
        time.sleep(0.05)

if target is not None:
    target.write(b"".join(own[LINES // 2 :]))
    target.close()

from jupyter_amlpipe import Run  # noqa: E402

run = Run.get_context()
run.log("lines", received.count(b"\n") + LINES)
run.parent.log(f"{args.name}_lines", received.count(b"\n") + LINES)
