"""Step: meet the others at a barrier. Arguments: FOLDER NAME COUNT [HOLD].

Logs metric ``rt_start`` (time.time()), creates FOLDER/NAME.start, waits until
COUNT ``.start`` files exist (at most 90 s), holds HOLD seconds (default 0.5),
then logs ``rt_end``. Steps that really run at the same time all pass the
barrier; steps run one at a time would wait out the 90 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from jupyter_amlpipe import Run

folder, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
run = Run.get_context()
run.log("rt_start", time.time())
(folder / f"{name}.start").write_text(name, encoding="utf-8")
deadline = time.monotonic() + 90
while len(list(folder.glob("*.start"))) < count and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(hold)
run.log("rt_end", time.time())
