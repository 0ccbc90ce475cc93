"""Turning metric records into what ``get_metrics()`` returns (v1 shapes).

Standard library only: the offline run (``Run.get_context()`` outside a
pipeline) aggregates what it logged in-process with the same rules as the
runner uses for the records in the workspace.
"""

from __future__ import annotations

from typing import Any


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A name logged once gives its value; logged again, or with ``log_list``, a list.

    ``log_row`` gives a dict of columns, ``log_table`` the table, ``log_image``
    the stored image's artifact path.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        grouped.setdefault(rec["name"], []).append(rec)
    out: dict[str, Any] = {}
    for name, recs in grouped.items():
        kind = recs[-1]["kind"]
        values = [r["value"] for r in recs]
        if kind == "scalar":
            out[name] = values[0] if len(values) == 1 else values
        elif kind == "list":
            flat: list[Any] = []
            for v in values:
                flat.extend(v if isinstance(v, list) else [v])
            out[name] = flat
        elif kind == "row":
            table: dict[str, list[Any]] = {}
            for row in values:
                for col, val in row.items():
                    table.setdefault(col, []).append(val)
            out[name] = table
        elif kind == "image":
            paths = [v["path"] if isinstance(v, dict) else v for v in values]
            out[name] = paths[0] if len(paths) == 1 else paths
        else:
            out[name] = values[-1]
    return out
