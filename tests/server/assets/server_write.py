"""Write the step's parameters as JSON into OUTPUT/params.json; sleep SECONDS first; log COUNT as a metric.

``server_write.py --output OUTPUT --text TEXT --count COUNT --seconds SECONDS``
"""

import argparse
import json
import os
import time

from jupyter_amlpipe import Run

parser = argparse.ArgumentParser()
parser.add_argument("--output", required=True)
parser.add_argument("--text", default="")
parser.add_argument("--count", default="0")
parser.add_argument("--seconds", default="0")
args = parser.parse_args()

time.sleep(float(args.seconds))
os.makedirs(args.output, exist_ok=True)
with open(os.path.join(args.output, "params.json"), "w", encoding="utf-8") as f:
    env_count = os.environ.get("AML_PARAMETER_count")  # noqa: SIM112 (the parameter's own name)
    json.dump({"text": args.text, "count": args.count, "env_count": env_count}, f)
Run.get_context().log("count", float(args.count))
print("wrote", args.text, args.count)
