"""Step: write its pid to the file named by argument 1, then sleep 300 s."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

tmp = Path(sys.argv[1] + ".tmp")
tmp.write_text(str(os.getpid()), encoding="utf-8")
os.replace(tmp, sys.argv[1])
time.sleep(300)
