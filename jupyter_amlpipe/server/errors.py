"""The one place that turns the package's errors into HTTP answers.

Every error answer has v1's shape, ``{"error": {"code": ..., "message": ...}}``,
with the package's own message (it names the object and says what to do next):

- ``LookupFailed`` → 404 (unknown pipeline, endpoint, run or version)
- ``PipelineDisabledError`` → 409 (the message says "disabled")
- ``DefinitionError`` → 400 (unknown parameter with "did you mean", wrong type,
  missing ExperimentName, malformed JSON)
- other ``PublishingError`` → 409
- ``ExecutionError`` → 409, ``ComputeError`` → 502
- request validation (a query value of the wrong type) → 400
- HTTP errors raised by the framework or the auth dependency keep their status (401, 404, 405, 413).

A caller's mistake never gets a 500.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from jupyter_amlpipe.errors import AmlpipeError
from jupyter_amlpipe.publish.http_status import status_for

__all__ = ["error_body", "install_error_handlers", "status_for"]


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """v1's error envelope: ``{"error": {"code": CODE, "message": MESSAGE, ...}}``."""
    return {"error": {"code": code, "message": message, **extra}}


async def _package_error(request: Request, exc: Exception) -> JSONResponse:
    status, code = status_for(exc)
    message = getattr(exc, "message", None) or str(exc)
    extra: dict[str, Any] = {}
    details = getattr(exc, "errors", None)
    if isinstance(details, list) and all(isinstance(d, str) for d in details):
        extra["details"] = details
    return JSONResponse(error_body(code, message, **extra), status_code=status)


def _field(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    problems = exc.errors() if isinstance(exc, RequestValidationError) else []
    lines = [f"{_field(p.get('loc', ()))}: {p.get('msg', 'invalid')}" for p in problems]
    message = "The request is not valid: " + ("; ".join(lines) if lines else str(exc))
    return JSONResponse(error_body("UserError", message), status_code=400)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else str(exc)
    try:
        code = HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        code = "Error"
    headers = getattr(exc, "headers", None)
    return JSONResponse(error_body(code, str(detail)), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping above on ``app``."""
    app.add_exception_handler(AmlpipeError, _package_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
