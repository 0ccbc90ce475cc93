"""Everything a step records about itself through ``Run.get_context()``: ``core_track.py --output FOLDER``."""

import argparse
import os
import struct
import sys
import zlib

from jupyter_amlpipe import Run


def png_bytes() -> bytes:
    """A 1x1 red PNG image, written byte by byte."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


parser = argparse.ArgumentParser()
parser.add_argument("--output", required=True)
args = parser.parse_args()

run = Run.get_context()
run.log("once", 1)
run.log("twice", 1)
run.log("twice", 2)
run.log_list("losses", [0.5, 0.25, 0.125])
run.log_row("scores", epoch=1, f1=0.5)
run.log_row("scores", epoch=2, f1=0.75)
run.log_table("confusion", {"label": ["cat", "dog"], "count": [3, 4]})
with open("plot.png", "wb") as f:
    f.write(png_bytes())
run.log_image("plot", path="plot.png")
run.tag("team", "nlp")
run.add_properties({"model": "bert"})

with open("report.txt", "w", encoding="utf-8") as f:
    f.write("accuracy: 0.9\n")
run.upload_file("reports/report.txt", "report.txt")

os.makedirs("outputs", exist_ok=True)
with open(os.path.join("outputs", "model.bin"), "wb") as f:
    f.write(b"\x00weights\x01")

os.makedirs(args.output, exist_ok=True)
with open(os.path.join(args.output, "result.txt"), "w", encoding="utf-8") as f:
    f.write("42\n")

run.parent.log("pipeline_metric", 7)
run.parent.tag("stage", "test")
print("to stdout")
print("to stderr", file=sys.stderr)
