"""Step: copy every --src (a file, or the files of a folder) into the --dest folder, byte for byte."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--src", action="append", required=True)
parser.add_argument("--dest", required=True)
args = parser.parse_args()
dest = Path(args.dest)
dest.mkdir(parents=True, exist_ok=True)
for src in map(Path, args.src):
    files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
    for f in files:
        shutil.copyfile(f, dest / f.name)
        print(f"copied {f.name}")
