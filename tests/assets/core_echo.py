"""Print the command line and the step's parameter and data-path environment variables."""

import os
import sys

print("argv:", " | ".join(sys.argv[1:]))
for key in sorted(os.environ):
    if key.startswith(("AML_PARAMETER_", "AZUREML_DATAREFERENCE_")):
        print(f"env: {key}={os.environ[key]}")
