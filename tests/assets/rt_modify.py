"""Step: for the file given as argument 1, print RT_PATH <path>; with --append, append a line and print RT_AFTER <json text>."""

from __future__ import annotations

import json
import sys

path = sys.argv[1]
print(f"RT_PATH {path}")
if "--append" in sys.argv[2:]:
    with open(path, "a", encoding="utf-8") as f:
        f.write("changed by the step\n")
    with open(path, encoding="utf-8") as f:
        print("RT_AFTER " + json.dumps(f.read()))
