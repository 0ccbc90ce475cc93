"""The REST server of published pipelines (``amlpipe serve``).

A FastAPI application over the framework-free publish service: callers POST
Azure ML v1's request body to a published pipeline's endpoint (or to v1's own
URL shapes, so a v1 caller only changes its host) and follow the runs they
started through read routes. Every route but ``/health`` needs
``Authorization: Bearer TOKEN`` (tokens from ``ws.create_token()`` or
``amlpipe token create``). The OpenAPI document is at ``/openapi.json``.

FastAPI and uvicorn come with the ``[server]`` extra; importing this package
without them raises :class:`~jupyter_amlpipe.errors.MissingExtraError` naming
the exact ``pip install`` to run.
"""

from __future__ import annotations

from jupyter_amlpipe.server._deps import require_server_extra

require_server_extra()

from jupyter_amlpipe.server.app import create_app  # noqa: E402

__all__ = ["create_app"]
