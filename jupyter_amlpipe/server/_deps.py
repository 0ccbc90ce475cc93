"""The server's third-party libraries, checked once with a message that says what to install."""

from __future__ import annotations

import importlib.util

from jupyter_amlpipe.errors import MissingExtraError

# The packages of the ``[server]`` extra the server imports.
SERVER_MODULES = ("fastapi", "uvicorn")


def require_server_extra() -> None:
    """Raise MissingExtraError (with the exact pip command) when a package of the ``[server]`` extra is missing."""
    for module in SERVER_MODULES:
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError.for_module(module, "server", "The REST server (amlpipe serve)")
