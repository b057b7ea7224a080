"""Every error the API returns is an RFC 9457 problem document (``application/problem+json``).

The shape is stable: ``type``, ``title``, ``status``, ``detail``, ``instance`` and ``request_id``;
validation failures add ``errors``, one entry per bad field. ``type`` is
``https://edgewatch.dev/problems/<code>`` where ``code`` is the ``EdgewatchError.code`` of the
error (or ``validation-error``, ``not-found``, ``method-not-allowed``, ``internal-error``).
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import Scope

from edgewatch.errors import EdgewatchError
from edgewatch.observability.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://edgewatch.dev/problems/"

_HTTP_CODES = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
}

log = get_logger(__name__)


class FieldError(BaseModel):
    """One invalid input: where it is (``["query", "limit"]``), what is wrong, and a kind."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the problem document for each status."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


def request_id_of(scope: Scope) -> str | None:
    state = scope.get("state") or {}
    request_id = state.get("request_id")
    return request_id if isinstance(request_id, str) else None


def problem_response(
    scope: Scope,
    *,
    status: int,
    code: str,
    detail: str,
    errors: Sequence[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=str(scope.get("path", "")),
        request_id=request_id_of(scope),
        errors=list(errors) if errors is not None else None,
    )
    body = problem.model_dump(mode="json")
    if body["errors"] is None:
        del body["errors"]
    return JSONResponse(
        body,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def internal_error_response(scope: Scope) -> JSONResponse:
    """The 500 answer: says nothing about the failure beyond the id to quote to an operator."""
    return problem_response(
        scope,
        status=500,
        code="internal-error",
        detail="An unexpected error occurred; quote the request id when reporting it.",
    )


def _field_errors(raw: Sequence[Any]) -> list[FieldError]:
    errors = []
    for error in raw:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        errors.append(FieldError(loc=loc, msg=message, type=str(error.get("type", "value_error"))))
    return errors


async def _edgewatch_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EdgewatchError)
    if exc.status_code >= 500:
        # Server-side failures carry hosts and driver messages: log them, answer with the code.
        log.error("request failed", error_code=exc.code, error=exc.message)
        if exc.status_code == 503:
            detail = f"A service Edgewatch depends on is unavailable ({exc.code}); retry later."
        else:
            detail = "An unexpected error occurred; quote the request id when reporting it."
    else:
        detail = exc.message
    return problem_response(
        request.scope,
        status=exc.status_code,
        code=exc.code,
        detail=detail,
        headers=getattr(exc, "headers", None),
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    fields = ", ".join(".".join(str(part) for part in error.loc) for error in errors)
    return problem_response(
        request.scope,
        status=422,
        code="validation-error",
        detail=f"Invalid request: {fields}" if fields else "Invalid request.",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404 and exc.detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"No resource at {request.url.path}."
    else:
        detail = str(exc.detail)
    return problem_response(
        request.scope,
        status=status,
        code=_HTTP_CODES.get(status, "http-error"),
        detail=detail,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    # Reached only when an exception escapes the request middleware itself; the middleware logs
    # and answers everything raised below it.
    log.error("unhandled error outside the request middleware", exc_info=exc)
    return internal_error_response(request.scope)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EdgewatchError, _edgewatch_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)


def invalid_query(field: str, message: str) -> RequestValidationError:
    """A validation error for one query parameter, answered like any other 422."""
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error"}]
    )
