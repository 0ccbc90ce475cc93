"""Prints the greeting it is given (stdout) and a note (stderr)."""

import sys

print(f"greeting={sys.argv[sys.argv.index('--greeting') + 1]}", flush=True)
print("greet wrote this to stderr", file=sys.stderr)
