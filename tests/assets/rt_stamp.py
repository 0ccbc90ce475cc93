"""Step: record when it ran. Arguments: FOLDER NAME [--out DIR].

Writes FOLDER/NAME.json with its start and end time (time.time()), 0.2 s
apart, and the names of the files in ``--in DIR`` (if given); with ``--out``
also writes DIR/NAME.txt.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("folder")
parser.add_argument("name")
parser.add_argument("--out")
parser.add_argument("--in", dest="inp")
args = parser.parse_args()
start = time.time()
seen = sorted(p.name for p in Path(args.inp).iterdir()) if args.inp else []
time.sleep(0.2)
if args.out:
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"{args.name}.txt").write_text(args.name, encoding="utf-8")
end = time.time()
Path(args.folder, f"{args.name}.json").write_text(
    json.dumps({"start": start, "end": end, "seen": seen}), encoding="utf-8"
)
