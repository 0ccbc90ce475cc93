"""Git facts about a source directory, recorded as v1's ``azureml.git.*`` properties."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(folder: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def in_work_tree(folder: Path) -> bool:
    """Whether a ``.git`` folder or file is in ``folder`` or a parent (checked without starting git)."""
    folder = folder.resolve()
    return any((parent / ".git").exists() for parent in (folder, *folder.parents))


def git_properties(folder: Path) -> dict[str, str]:
    """``azureml.git.*`` properties when ``folder`` is in a git work tree, else ``{}``."""
    if not in_work_tree(folder):
        return {}
    heads = _git(folder, "rev-parse", "HEAD", "--abbrev-ref", "HEAD")
    if heads is None:  # not a work tree after all, or a repository without commits
        if _git(folder, "rev-parse", "--is-inside-work-tree") != "true":
            return {}
        heads = ""
    props = {"azureml.git.repository_uri": _git(folder, "config", "--get", "remote.origin.url") or ""}
    lines = heads.splitlines()
    if len(lines) == 2:
        props["azureml.git.commit"], props["azureml.git.branch"] = lines
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    props["azureml.git.dirty"] = "True" if status else "False"
    return props
