"""A plain script step after a Spark step: print the rows of the CSV part files Spark wrote."""

import argparse
import csv
import glob
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("--scaled", required=True)
args = parser.parse_args()
rows = []
for path in sorted(glob.glob(os.path.join(args.scaled, "part-*.csv"))):
    with open(path, newline="", encoding="utf-8") as f:
        rows.extend(csv.DictReader(f))
print("SCALED " + json.dumps(sorted(rows, key=lambda r: int(r["id"]))))
