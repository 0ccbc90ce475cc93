"""Prints a line, then exits non-zero with a reason on stderr."""

import sys

print("checking the input", flush=True)
sys.exit("input is empty: nothing to train on")
