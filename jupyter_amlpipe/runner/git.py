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


def git_properties(folder: Path) -> dict[str, str]:
    """``azureml.git.*`` properties when ``folder`` is in a git work tree, else ``{}``."""
    if _git(folder, "rev-parse", "--is-inside-work-tree") != "true":
        return {}
    props = {"azureml.git.repository_uri": _git(folder, "config", "--get", "remote.origin.url") or ""}
    commit = _git(folder, "rev-parse", "HEAD")
    if commit:
        props["azureml.git.commit"] = commit
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    if branch:
        props["azureml.git.branch"] = branch
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    props["azureml.git.dirty"] = "True" if status else "False"
    return props
