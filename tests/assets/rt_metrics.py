"""Step: log metrics and a file on its run through Run.get_context(), and a metric on the pipeline run."""

from __future__ import annotations

from pathlib import Path

from jupyter_amlpipe import Run

run = Run.get_context()
run.log("accuracy", 0.75)
run.log("loss", 3)
run.log("loss", 2)
run.log_list("sizes", [1, 2, 3])
run.log_row("table", epoch=1, score=0.5)
run.log_row("table", epoch=2, score=0.25)
Path("note.txt").write_text("uploaded by rt_metrics\n", encoding="utf-8")
run.upload_file("extras/note.txt", "note.txt")
run.parent.log("from_child", "yes")
print("metrics logged")
