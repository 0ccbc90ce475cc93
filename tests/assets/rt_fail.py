"""Step: write to stderr and exit with a non-zero code (argument 1, default 3).

With ``--marker PATH`` it first creates PATH, so another step can tell it is about to fail.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("code", type=int, nargs="?", default=3)
parser.add_argument("--marker")
args = parser.parse_args()
print("rt_fail starting")
print("rt_fail: some detail", file=sys.stderr)
print("rt_fail: the last stderr line", file=sys.stderr)
if args.marker:
    Path(args.marker).write_text("failing\n", encoding="utf-8")
sys.exit(args.code)
