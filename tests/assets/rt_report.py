"""Step: print one line, RT_REPORT <json>, with its arguments and the AML_* / AZUREML_* variables it sees."""

from __future__ import annotations

import json
import os
import sys

env = {k: v for k, v in os.environ.items() if k.startswith(("AML_PARAMETER_", "AZUREML_DATAREFERENCE_"))}
print("RT_REPORT " + json.dumps({"argv": sys.argv[1:], "env": env}))
