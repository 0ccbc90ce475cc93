"""Step: fetch URL (argv[1]) and print ``FETCH ok <body>`` or ``FETCH failed <why>``."""

from __future__ import annotations

import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        print("FETCH ok", response.read().decode())
except OSError as exc:
    print("FETCH failed", type(exc).__name__, exc)
