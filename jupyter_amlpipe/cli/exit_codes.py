"""Exit codes of ``amlpipe``, and how run statuses and errors map onto them.

=====  ===================================================================
0      the run Finished, or the command succeeded
1      the run Failed, or an error while running (execution, compute, ...)
2      a bad definition or a usage mistake (click's usage errors are 2 too)
3      something named was not found (a run, a step, a workspace)
4      the run was Canceled
=====  ===================================================================
"""

from __future__ import annotations

from jupyter_amlpipe.errors import AmlpipeError, DefinitionError, LookupFailed

OK = 0
FAILED = 1
USAGE = 2
NOT_FOUND = 3
CANCELED = 4

_BY_STATUS = {"Finished": OK, "Failed": FAILED, "Canceled": CANCELED}


def for_status(status: str) -> int:
    """The exit code for a run that ended with ``status`` (an unfinished run counts as failed)."""
    return _BY_STATUS.get(status, FAILED)


def for_error(error: AmlpipeError) -> int:
    """The exit code for an error the package raised on purpose."""
    if isinstance(error, LookupFailed):
        return NOT_FOUND
    if isinstance(error, DefinitionError):
        return USAGE
    status = getattr(error, "status", None)
    if isinstance(status, str) and status in _BY_STATUS:
        return for_status(status)
    return FAILED
