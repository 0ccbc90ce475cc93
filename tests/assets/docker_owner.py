"""Step: write ``written by uid <uid>`` into the output folder argv[1]."""

from __future__ import annotations

import os
import sys
from pathlib import Path

folder = Path(sys.argv[1])
folder.mkdir(parents=True, exist_ok=True)
(folder / "owned.txt").write_text(f"written by uid {os.getuid()}\n", encoding="utf-8")
print("owner step ran as", os.getuid(), os.getgid())
