"""Step: import a package no environment has (its traceback must reach the step's stderr)."""

from __future__ import annotations

import amlpipe_not_installed_pkg  # type: ignore[import-not-found]  # noqa: F401
