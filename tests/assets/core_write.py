"""Write TEXT into OUTPUT_FOLDER/data.txt: ``core_write.py --output OUTPUT_FOLDER --text TEXT``."""

import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--output", required=True)
parser.add_argument("--text", default="written")
args = parser.parse_args()

os.makedirs(args.output, exist_ok=True)
with open(os.path.join(args.output, "data.txt"), "w", encoding="utf-8") as f:
    f.write(args.text + "\n")
print("wrote", args.text)
