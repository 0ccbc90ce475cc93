"""Append a line NAME to the file LOG: ``core_append.py NAME LOG``."""

import sys

name, log = sys.argv[1], sys.argv[2]
with open(log, "a", encoding="utf-8") as f:
    f.write(name + "\n")
