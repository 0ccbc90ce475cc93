"""The server's own routes: ``/health`` (no token) and ``/whoami`` (a no-op that checks the token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from jupyter_amlpipe.server.auth import TokenName

__all__ = ["router"]

router = APIRouter(tags=["server"])


@router.get("/health", summary="Whether the server is up (no token needed)")
def health(request: Request) -> dict[str, Any]:
    """``{"status": "ok", "workspace": NAME, "version": ...}``."""
    from jupyter_amlpipe import __version__

    return {"status": "ok", "workspace": request.app.state.workspace.name, "version": __version__}


@router.get("/whoami", summary="The name of the caller's token (checks the token, does nothing else)")
def whoami(token: TokenName) -> dict[str, str]:
    """``{"token": NAME}`` for a valid token; 401 otherwise."""
    return {"token": token}
