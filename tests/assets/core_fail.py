"""A step that reports a problem on stderr and exits with code 3."""

import sys

print("starting", flush=True)
print("cannot parse row 7 of the input", file=sys.stderr)
sys.exit(3)
