"""Plain-text rendering for the command line: tables, times, durations, key-value blocks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

NONE = "-"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces, with a header row; trailing spaces removed."""
    cells = [[str(h) for h in headers]] + [[NONE if c is None or c == "" else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """``Label:  value`` lines, values aligned; a multi-line value is indented under its label."""
    width = max((len(label) for label, _ in pairs), default=0) + 2
    lines = []
    for label, value in pairs:
        text = NONE if value is None or value == "" else str(value)
        first, *rest = text.splitlines() or [""]
        lines.append(f"{label + ':':<{width}}{first}".rstrip())
        lines.extend(f"{'':<{width}}{line}".rstrip() for line in rest)
    return "\n".join(lines)


def timestamp(ts: float | None) -> str | None:
    """A POSIX time as local ``YYYY-MM-DD HH:MM:SS``."""
    if not ts:
        return None
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str | None:
    """``0.42s``, ``12.3s``, ``2m05s``, ``1h02m``."""
    if seconds is None:
        return None
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes}m{secs:02d}s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m"


def run_duration(record: Mapping[str, Any]) -> str | None:
    """How long a run took (or has been running so far)."""
    started = record.get("started")
    if not started:
        return None
    return duration((record.get("ended") or time.time()) - started)


def first_line(text: str | None, limit: int = 100) -> str | None:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    if not text:
        return None
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def value(v: Any) -> str:
    """A parameter or property value: strings as they are, everything else as JSON."""
    if isinstance(v, str):
        return v
    try:
        return json.dumps(v, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(v)


def mapping(items: Mapping[str, Any]) -> str | None:
    """``key: value`` lines sorted by key, or None when empty."""
    if not items:
        return None
    return "\n".join(f"{k}: {value(items[k])}" for k in sorted(items))
