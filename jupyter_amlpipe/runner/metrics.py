"""Turning stored metric records into what ``get_metrics()`` returns (v1 shapes).

The rules live in :mod:`jupyter_amlpipe.context.metrics`, so the offline run
(standard library only) reads its metrics back the same way.
"""

from __future__ import annotations

from jupyter_amlpipe.context.metrics import aggregate

__all__ = ["aggregate"]
