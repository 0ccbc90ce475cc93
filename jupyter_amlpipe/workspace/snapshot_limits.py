"""Azure ML v1's snapshot limits (2,000 files, 300 MB) and the warning that names what to leave out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_amlpipe.workspace.snapshot import FileEntry

__all__ = ["MAX_BYTES", "MAX_FILES", "format_size", "size_warning"]

MAX_FILES = 2_000
MAX_BYTES = 300 * 1024 * 1024


def format_size(num_bytes: float) -> str:
    """A byte count for people: ``512 B``, ``1.5 KiB``, ``301.0 MiB``, ``2.0 GiB``."""
    if num_bytes < 1024:
        return f"{int(num_bytes)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        num_bytes /= 1024
        if num_bytes < 1024 or unit == "TiB":
            break
    return f"{num_bytes:.1f} {unit}"


def size_warning(source: Path, files: dict[str, FileEntry]) -> str | None:
    """Why a snapshot is over :data:`MAX_FILES` or :data:`MAX_BYTES`, and what to leave out; None when it is not."""
    total = sum(entry.size for entry in files.values())
    if len(files) <= MAX_FILES and total <= MAX_BYTES:
        return None
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    for rel, entry in files.items():
        head, sep, _ = rel.partition("/")
        top = head + "/" if sep else head
        sizes[top] = sizes.get(top, 0) + entry.size
        counts[top] = counts.get(top, 0) + 1
    by_size = sorted(sizes, key=lambda name: (-sizes[name], name))[:5]
    by_count = sorted(counts, key=lambda name: (-counts[name], name))[:5]
    over = []
    if len(files) > MAX_FILES:
        over.append(f"{len(files):,} files (limit {MAX_FILES:,})")
    if total > MAX_BYTES:
        over.append(f"{format_size(total)} (limit {format_size(MAX_BYTES)})")
    example = (by_size if total > MAX_BYTES else by_count)[0]
    replaces = " (it replaces .gitignore: copy the rules you keep)" if (source / ".gitignore").is_file() else ""
    return "\n".join(
        [
            f"The snapshot of source directory {str(source)!r} is large: {' and '.join(over)}. It still works, "
            "but every submission walks all of it and any change in it reruns the steps that use it.",
            "Biggest by size: " + ", ".join(f"{name} ({format_size(sizes[name])})" for name in by_size),
            "Most files: "
            + ", ".join(f"{name} ({counts[name]:,} file{'s' if counts[name] != 1 else ''})" for name in by_count),
            f"Leave out what the steps do not need: list it in {str(source / '.amlignore')!r}{replaces}, "
            f"in .gitignore syntax, e.g. a line: /{example}",
        ]
    )
