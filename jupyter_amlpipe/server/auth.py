"""Bearer tokens: every route but ``/health`` depends on :func:`require_token`.

The token is checked against the workspace database on every request
(``PublishService.check_token``), so a token created or revoked while the
server runs counts at once. A missing, unknown, revoked or expired token gets
401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

__all__ = ["TokenName", "require_token", "service_of"]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    description="A workspace token: `amlpipe token create` or `ws.create_token()`.",
)

_MISSING = (
    "This route needs a token: send the header 'Authorization: Bearer TOKEN' (create one with: amlpipe token create)."
)
_INVALID = (
    "The bearer token is not valid: it is unknown, revoked or expired. "
    "Create a new one with: amlpipe token create (list them with: amlpipe token list)."
)


def service_of(request: Request) -> Any:
    """The app's PublishService."""
    return request.app.state.service


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    """The name of the caller's valid token; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(status_code=401, detail=_MISSING, headers={"WWW-Authenticate": "Bearer"})
    name = service_of(request).check_token(credentials.credentials)
    if name is None:
        raise HTTPException(
            status_code=401, detail=_INVALID, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return str(name)


TokenName = Annotated[str, Depends(require_token)]
