"""Prints a line, waits until the file named by --release exists (at most 120 s), prints another."""

import sys
import time
from pathlib import Path

release = Path(sys.argv[sys.argv.index("--release") + 1])
print("waiting for release", flush=True)
deadline = time.monotonic() + 120
while not release.exists():
    if time.monotonic() > deadline:
        sys.exit(f"{release} never appeared")
    time.sleep(0.05)
print("released, done", flush=True)
