"""Following files a step process writes: its logs and its run-context file."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

MAX_CHUNK = 64 * 1024


class FileTail:
    """Reads what was appended to a file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""

    def read_text(self, limit: int = MAX_CHUNK) -> str:
        """New complete text (a trailing partial line waits for the next read)."""
        data = self._read(limit)
        if not data:
            return ""
        data = self._partial + data
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        if len(self._partial) > limit:  # a very long line without newline: emit it anyway
            cut, self._partial = len(data), b""
        return data[:cut].decode("utf-8", errors="replace")

    def flush_text(self, limit: int = MAX_CHUNK) -> str:
        """The next chunk including a last line without newline (once the writer has ended)."""
        text = self.read_text(limit)
        if text:
            return text
        rest, self._partial = self._partial, b""
        return rest.decode("utf-8", errors="replace")

    def skip_to_end(self) -> None:
        """Forget what is unread (the file itself keeps it)."""
        with contextlib.suppress(FileNotFoundError):
            self.offset = self.path.stat().st_size
        self._partial = b""

    def read_records(self) -> list[dict[str, Any]]:
        """New complete JSON lines."""
        text = self.read_text(limit=1 << 30)
        out = []
        for line in text.splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def _read(self, limit: int) -> bytes:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(limit)
        except FileNotFoundError:
            return b""
        self.offset += len(data)
        return data


def last_lines(path: Path, count: int = 15, max_bytes: int = 16 * 1024) -> str:
    """The last lines of a file (for error messages)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except FileNotFoundError:
        return ""
    lines = data.decode("utf-8", errors="replace").rstrip().splitlines()
    return "\n".join(lines[-count:])
