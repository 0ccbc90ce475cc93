"""Print where the input is and what it holds: ``core_read.py --input PATH`` (a file or a folder)."""

import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
args = parser.parse_args()

print("input path:", os.path.abspath(args.input))
if os.path.isdir(args.input):
    for name in sorted(os.listdir(args.input)):
        with open(os.path.join(args.input, name), encoding="utf-8") as f:
            print(f"content of {name}: {f.read().strip()}")
else:
    with open(args.input, encoding="utf-8") as f:
        print("content:", f.read().strip())
