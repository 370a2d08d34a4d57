"""The API's one error shape and the one mapping from the service layer's errors.

Every error answer is ``{"error": {"code": ..., "message": ...}}``: ``code`` is the
:class:`~gateway.admin.errors.AdminError`'s stable code (or one of the HTTP layer's own
below), ``message`` the line the CLI would print. The status comes from the error's
class in the service layer's hierarchy, here and nowhere else; an action that refuses
has written nothing, so neither has the request.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from gateway.admin.errors import (
    AdminError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Refused,
    Unavailable,
)

#: The HTTP status of each kind of refusal (most specific class first).
STATUS: tuple[tuple[type[AdminError], int], ...] = (
    (InvalidInput, 400),
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Refused, 422),
    (Unavailable, 503),
)

#: Codes of the HTTP layer's own refusals.
HTTP_CODES = {
    400: "invalid_input",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_attempts",
}


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine code and the operator's one-line message."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


class TooManyAttempts(Exception):
    """A client address made too many requests with a bad token; retry after a while."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests with a bad token: retry in {retry_after} s")
        self.retry_after = retry_after


def status_of(e: AdminError) -> int:
    """The HTTP status of a service-layer refusal (500 for an unknown kind: a bug)."""
    for cls, status in STATUS:
        if isinstance(e, cls):
            return status
    return 500


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error shape."""
    body = {"error": {"code": code, "message": " ".join(message.split())}}
    return JSONResponse(body, status_code=status, headers=headers)


def _admin_error(_request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, AdminError)
    status = status_of(e)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, e.code, str(e) or type(e).__name__, headers)


def _validation_error(_request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, RequestValidationError)
    errors = e.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    loc = [str(p) for p in first.get("loc", ())]
    where = ".".join(loc[1:] if loc[:1] == ["body"] else loc) or "body"
    return error_response(400, "invalid_input", f"{where}: {first.get('msg', 'invalid')}")


def _http_error(_request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, HTTPException)
    code = HTTP_CODES.get(e.status_code, "error")
    return error_response(e.status_code, code, str(e.detail), dict(e.headers or {}) or None)


def _too_many(_request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, TooManyAttempts)
    headers = {"Retry-After": str(e.retry_after)}
    return error_response(429, HTTP_CODES[429], str(e), headers)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` in the one shape."""
    app.add_exception_handler(AdminError, _admin_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(TooManyAttempts, _too_many)


def responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` declaring the error shape for ``statuses``."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


_DESCRIPTIONS = {
    400: "malformed JSON or a field out of range; nothing written",
    401: "no token, or an unknown or revoked one",
    403: "the token is an owner's; this needs an admin token",
    404: "no such account, or one of another owner",
    409: "clashes with what exists; nothing written",
    422: "well formed, but a rule refuses it; nothing written",
    429: "too many requests with a bad token from this address",
    503: "the ledger cannot be reached; nothing written",
}
