"""The one exception root of jupyter_amlpipe and its families.

Every error the package raises on purpose is an :class:`AmlpipeError`. Families
group them by what went wrong, so callers (the CLI, the REST server, a
notebook) can decide what to show and which exit code or HTTP status to use:

- :class:`DefinitionError`: a pipeline, step, data link or parameter is wrong;
  fix the definition and submit again.
- :class:`LookupFailed`: a named object (workspace, datastore, run, compute
  target) does not exist.
- :class:`ExecutionError`: a run or step failed while running.
- :class:`ComputeError`: a compute backend or its engine is missing or broken.
- :class:`PublishingError`: published pipelines, endpoints, schedules, tokens.

Errors are plain data (a message and a few fields) so they pickle across
process boundaries; ``__reduce__`` rebuilds them from their constructor
arguments.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "ActivityFailedException",
    "AmlpipeError",
    "ComputeError",
    "ComputeTargetException",
    "ComputeTargetNotFound",
    "DefinitionError",
    "ExecutionError",
    "LookupFailed",
    "MissingExtraError",
    "PipelineDisabledError",
    "PublishingError",
    "RunFailedError",
    "UserErrorException",
    "did_you_mean",
]


class AmlpipeError(Exception):
    """Root of every error jupyter_amlpipe raises on purpose."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields)
        for key, value in fields.items():
            setattr(self, key, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.fields))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[AmlpipeError], message: str, fields: dict[str, Any]) -> AmlpipeError:
    err = cls.__new__(cls)
    AmlpipeError.__init__(err, message, **fields)
    return err


class DefinitionError(AmlpipeError, ValueError):
    """A pipeline, step, data link or parameter is defined wrongly."""


class UserErrorException(DefinitionError):
    """The name Azure ML SDK v1 gives to errors in a user's input."""


class LookupFailed(AmlpipeError, KeyError):
    """A named object does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class ExecutionError(AmlpipeError, RuntimeError):
    """A run or one of its steps failed while running."""


class RunFailedError(ExecutionError):
    """A run ended Failed or Canceled and the caller asked to be told."""


# Azure ML SDK v1 raises ActivityFailedException from wait_for_completion.
ActivityFailedException = RunFailedError


class ComputeError(AmlpipeError, RuntimeError):
    """A compute target or its engine is missing, refused the work or broke."""


class ComputeTargetException(ComputeError):
    """v1's name for compute target errors (``except ComputeTargetException:`` around a lookup)."""


class ComputeTargetNotFound(LookupFailed, ComputeTargetException):
    """No compute target of that name in the workspace."""


class MissingExtraError(ComputeError, ImportError):
    """An optional engine library is not installed."""

    @classmethod
    def for_module(cls, module: str, extra: str, feature: str) -> MissingExtraError:
        return cls(
            f"{feature} needs the Python package '{module}', which is not installed. "
            f'Install it with: pip install "jupyter_amlpipe[{extra}]"',
            module=module,
            extra=extra,
        )


class PublishingError(AmlpipeError):
    """Published pipelines, endpoints, schedules and tokens."""


class PipelineDisabledError(PublishingError):
    """A disabled published pipeline or endpoint was asked to run; enable it first."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ' Did you mean ...?' for the closest known names, or ''."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    if known:
        return " Known: " + ", ".join(sorted(repr(k) for k in known)) + "."
    return ""
