"""The flow's script step: clean the raw reviews (strip spaces around fields, drop empty lines)."""

import argparse
import os

from jupyter_amlpipe import Run

parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
args = parser.parse_args()

run = Run.get_context()
with open(args.input, encoding="utf-8") as f:
    lines = [",".join(field.strip() for field in line.split(",")) for line in f if line.strip()]
os.makedirs(args.output, exist_ok=True)
with open(os.path.join(args.output, "clean.csv"), "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")

run.log("rows", 123)
print("parent:", run.parent)
if run.parent is not None:
    run.parent.log("prep_rows", len(lines) - 1)
    print("experiment.workspace.name =", run.experiment.workspace.name)
print(f"wrote {len(lines) - 1} rows to {args.output}")
