"""The run-context client a step process uses (``Run.get_context()``).

Standard library only, so it works inside any container image or cluster
worker that can import this package.
"""

from jupyter_amlpipe.context.run import Run

__all__ = ["Run"]
