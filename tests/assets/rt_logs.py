"""Step: write known lines to stdout and to stderr."""

from __future__ import annotations

import sys

print("rt out line 1")
print("rt out line 2")
print("rt err line", file=sys.stderr)
