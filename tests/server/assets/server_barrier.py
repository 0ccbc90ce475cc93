"""A step that waits at a barrier: it marks itself started under --folder, then waits for --count marks.

Two runs of it both finish only when they run at the same time.
"""

import argparse
import sys
import time
import uuid
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--folder", required=True)
parser.add_argument("--count", type=int, required=True)
args = parser.parse_args()

folder = Path(args.folder)
folder.mkdir(parents=True, exist_ok=True)
(folder / f"{uuid.uuid4().hex}.started").write_text("started")
deadline = time.monotonic() + 90
while len(list(folder.glob("*.started"))) < args.count:
    if time.monotonic() > deadline:
        print(f"barrier: only {len(list(folder.glob('*.started')))} of {args.count} runs arrived")
        sys.exit(1)
    time.sleep(0.1)
print(f"barrier passed with {args.count} runs")
