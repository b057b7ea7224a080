"""The OpenAPI document, completed in one place: auth, errors and caching of every operation.

Routers declare what is particular to them (their models, their own 404/409 with
``problems.problem_responses``). ``complete_openapi`` then adds what the app's layers do to every
route, so no router has to repeat it and a new route is documented the moment it is mounted:

- **auth**: public routes get ``security: []``; the others name their scope (from
  ``accounts/access.py``'s table) in ``x-required-scope`` and their description, and document 401
  and 403;
- **errors**: 429 (rate limit, with ``Retry-After`` and ``RateLimit-*`` headers) on every limited
  route, 413 and 400 (unreadable: not JSON, not UTF-8) on routes with a body, 422 where there
  is input; every 4xx/5xx is
  ``application/problem+json`` with the ``Problem`` schema and an example (routes that take HTML
  forms may also answer ``text/html``: the form page with the error on it);
- **caching**: routes with a ``cache.cached`` policy document ``ETag``/``Cache-Control`` on their
  200 and the 304 answer to ``If-None-Match``.

``docs/openapi.json`` is this document, exported by ``python -m edgewatch.api.openapi_export``.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from edgewatch.api.cache import CachePolicy, route_cache_policy
from edgewatch.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, FieldError, Problem
from edgewatch.api.ratelimit import EXEMPT_PREFIXES

#: ``(method, path template)`` → the scope it needs, ``"public"``, or None when unlisted.
AccessRule = Callable[[str, str], str | None]
PUBLIC = "public"
_METHODS = ("get", "put", "post", "delete", "patch")
_PROBLEM_CODES = {
    400: "bad-request",
    401: "not-authenticated",
    403: "permission-denied",
    404: "not-found",
    409: "conflict",
    413: "payload-too-large",
    422: "validation-error",
    429: "too-many-requests",
    503: "database-unavailable",
}
_PROBLEM_DETAILS = {
    401: "Authentication required: send an API key or sign in.",
    403: "This needs the 'backtests:run' scope, which your API key lacks.",
    404: "Market 42 does not exist.",
    409: "The request clashes with the current state.",
    413: "The request body is larger than the 1048576-byte limit.",
    422: "Invalid request: query.limit",
    429: "Rate limit of 100 requests per minute reached; retry in 12 s.",
    503: "A service Edgewatch depends on is unavailable (database-unavailable); retry later.",
}
_RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "Requests allowed per window by the tightest budget.",
    "RateLimit-Remaining": "Requests left in that budget.",
    "RateLimit-Reset": "Seconds until that budget has room again.",
    "RateLimit-Policy": "The budget as `<limit>;w=<window seconds>`.",
}


def _header(description: str, kind: str = "string") -> dict[str, Any]:
    return {"description": description, "schema": {"type": kind}}


def _problem_example(status: int) -> dict[str, Any]:
    code = _PROBLEM_CODES.get(status, "http-error")
    example: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": _PROBLEM_DETAILS.get(status, HTTPStatus(status).description),
        "instance": "/api/v1/markets",
        "request_id": "5f2b9c1e8d7a4b3c9e0f1a2b3c4d5e6f",
    }
    if status == 422:
        example["errors"] = [
            {
                "loc": ["query", "limit"],
                "msg": "Input should be less than or equal to 500",
                "type": "less_than_equal",
            }
        ]
    return example


def _problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or HTTPStatus(status).phrase,
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": _problem_example(status),
            }
        },
    }


def _is_problem(response: dict[str, Any]) -> bool:
    """True for problem documents (not, say, the readiness report /health/ready sends with 503).

    FastAPI's own 422 entry (``HTTPValidationError``) counts: the app answers those as problems.
    """
    content = response.get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return PROBLEM_MEDIA_TYPE in content or ref.endswith(("/Problem", "/HTTPValidationError"))


def _takes_a_form(operation: dict[str, Any]) -> bool:
    content = operation.get("requestBody", {}).get("content", {})
    return bool({"application/x-www-form-urlencoded", "multipart/form-data"} & set(content))


def _ensure_problem_schemas(schema: dict[str, Any]) -> None:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, FieldError):
        if model.__name__ not in schemas:
            generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(generated.pop("$defs", {}))
            schemas[model.__name__] = generated


def _cached_routes(app: FastAPI) -> dict[tuple[str, str], CachePolicy]:
    found: dict[tuple[str, str], CachePolicy] = {}
    for route in iter_route_contexts(app.routes):
        path = route.path
        if not isinstance(path, str):
            continue
        policy = route_cache_policy(route)
        if policy is not None:
            for method in route.methods or ():
                found[(method.lower(), path)] = policy
    return found


def _describe(operation: dict[str, Any], sentence: str) -> None:
    text = operation.get("description", "").rstrip()
    operation["description"] = f"{text}\n\n{sentence}" if text else sentence


def _document_auth(operation: dict[str, Any], rule: str | None) -> None:
    if rule == PUBLIC:
        operation["security"] = []
        _describe(operation, "**Auth:** public; no credentials needed.")
        return
    operation["x-required-scope"] = rule
    _describe(
        operation,
        f"**Auth:** needs the `{rule}` scope: an API key (`X-API-Key` or "
        "`Authorization: Bearer`) or a signed-in session (state-changing requests made with a "
        "session also need `X-CSRF-Token`).",
    )
    responses = operation["responses"]
    responses.setdefault("401", _problem_response(401, "No valid credentials"))
    responses.setdefault("403", _problem_response(403, "The credentials lack the scope"))


def _document_cache(operation: dict[str, Any], policy: CachePolicy) -> None:
    responses = operation["responses"]
    ok = responses.get("200")
    if ok is not None:
        ok.setdefault("headers", {}).update(
            {
                "ETag": _header("Hash of the body; send it back in `If-None-Match`."),
                "Cache-Control": _header(f"`private, max-age={policy.ttl_seconds}`."),
            }
        )
    responses["304"] = {"description": "Not Modified: `If-None-Match` matched the current ETag."}
    ttl = policy.ttl_seconds
    lifetime = f"{ttl // 60} minutes" if ttl % 60 == 0 else f"{ttl} seconds"
    _describe(
        operation,
        f"**Caching:** answers are cached for up to {lifetime} and refreshed as soon as new "
        "data is stored; conditional requests with `If-None-Match` get a 304.",
    )


def complete_openapi(
    schema: dict[str, Any], *, app: FastAPI, access_rule: AccessRule
) -> dict[str, Any]:
    """Add auth, error and caching documentation to every operation of ``schema`` (in place)."""
    _ensure_problem_schemas(schema)
    cached = _cached_routes(app)
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            _document_auth(operation, access_rule(method.upper(), path))
            if not path.startswith(EXEMPT_PREFIXES):
                responses["429"] = _problem_response(429, "Too many requests")
                responses["429"]["headers"] = {
                    "Retry-After": _header("Seconds to wait before retrying.", "integer"),
                    **{name: _header(text) for name, text in _RATE_LIMIT_HEADERS.items()},
                }
            if "requestBody" in operation:
                responses.setdefault("413", _problem_response(413, "Request body too large"))
                responses.setdefault("400", _problem_response(400, "The body could not be read"))
            if operation.get("parameters") or "requestBody" in operation:
                responses.setdefault("422", _problem_response(422, "Invalid input"))
            if (method, path) in cached:
                _document_cache(operation, cached[(method, path)])
            from_browser_form = _takes_a_form(operation)
            for status, response in responses.items():
                if status[0] in "45" and _is_problem(response):
                    response["content"] = _problem_response(int(status))["content"]
                    if from_browser_form:
                        # A browser's form post gets the page back with the error on it.
                        response["content"]["text/html"] = {"schema": {"type": "string"}}
    return schema


def install_openapi(app: FastAPI, *, access_rule: AccessRule) -> None:
    """Serve the completed document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_openapi(
                FastAPI.openapi(app), app=app, access_rule=access_rule
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
