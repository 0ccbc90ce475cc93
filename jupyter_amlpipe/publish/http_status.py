"""Which HTTP status answers which package error: one table for both web front-ends.

The REST server (``amlpipe serve``) and the JupyterLab panel's server extension
answer a caller's mistake with a 4xx, never a 500; the most specific class in an
error's MRO wins. Kept here, in the framework-free service layer, because the two
front-ends do not import each other.
"""

from __future__ import annotations

from jupyter_amlpipe.errors import (
    AmlpipeError,
    ComputeError,
    DefinitionError,
    ExecutionError,
    LookupFailed,
    PipelineDisabledError,
    PublishingError,
)

__all__ = ["STATUS", "status_for"]

# Error family → (HTTP status, v1 error code).
STATUS: dict[type[BaseException], tuple[int, str]] = {
    LookupFailed: (404, "NotFound"),
    PipelineDisabledError: (409, "PipelineDisabled"),
    DefinitionError: (400, "UserError"),
    PublishingError: (409, "Conflict"),
    ExecutionError: (409, "Conflict"),
    ComputeError: (502, "ComputeError"),
    AmlpipeError: (500, "InternalError"),
}


def status_for(error: BaseException) -> tuple[int, str]:
    """The HTTP status and v1 error code for a package error (500 only for an error that is not the caller's)."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500, "InternalError"
