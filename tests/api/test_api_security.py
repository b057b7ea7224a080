"""Security headers, the content security policy (and that the dashboard's pages obey it), CORS
only for configured origins, and the request body size limit."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from edgewatch.api.app import create_app
from edgewatch.config import Settings

BASIC = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.mark.parametrize(
    "path", ["/api/v1/markets", "/", "/health", "/api/v1/no-such-thing", "/static/dashboard.css"]
)
def test_every_response_carries_the_security_headers(client: Any, path: str) -> None:
    response = client.get(path)

    for name, value in BASIC.items():
        assert response.headers[name] == value, name
    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "strict-transport-security" not in response.headers


def test_refusals_from_the_middleware_carry_them_too(
    client_class: type[Any], settings: Settings
) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 1})
    with client_class(create_app(limited)) as client:
        client.get("/api/v1/disclaimers")
        refused = client.get("/api/v1/disclaimers")

    assert refused.status_code == 429
    assert refused.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in refused.headers


def test_scripts_and_styles_come_from_this_origin_or_carry_the_nonce(client: Any) -> None:
    first = _directives(client.get("/").headers["content-security-policy"])
    second = _directives(client.get("/").headers["content-security-policy"])

    nonce = first["script-src"][1]
    assert first["script-src"][0] == "'self'" and re.fullmatch(r"'nonce-[\w-]{20,}'", nonce)
    assert first["style-src"] == ["'self'", nonce]
    assert second["script-src"][1] != nonce  # a fresh nonce per response
    assert not any("unsafe" in value for values in first.values() for value in values)


def test_the_dashboard_pages_have_no_inline_code_the_policy_would_block(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    nonce = _directives(response.headers["content-security-policy"])["script-src"][1]
    nonce_value = nonce.removeprefix("'nonce-").removesuffix("'")

    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        assert 'src="/' in tag or f'nonce="{nonce_value}"' in tag, tag
    assert not re.search(r"\sstyle\s*=", html), "inline style attributes are blocked by the CSP"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers are blocked by the CSP"
    assert not re.search(r"""(?:src|href)\s*=\s*["']https?://""", html), "no third-party assets"


def test_swagger_ui_gets_a_policy_allowing_its_cdn_and_exactly_its_inline_script(
    client: Any,
) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    policy = _directives(response.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert inline

    expected = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in inline
    }
    assert set(policy["script-src"]) == {"'self'", "https://cdn.jsdelivr.net", *expected}
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"


def test_hsts_is_sent_over_tls(client_class: type[Any], settings: Settings) -> None:
    with client_class(create_app(settings), base_url="https://testserver") as client:
        response = client.get("/health")

    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_hsts_can_be_forced_when_tls_ends_at_a_proxy(
    client_class: type[Any], settings: Settings
) -> None:
    with client_class(create_app(settings.model_copy(update={"hsts": True}))) as client:
        response = client.get("/health")

    assert "max-age=" in response.headers["strict-transport-security"]


# CORS ------------------------------------------------------------------------------------------


def test_no_cors_headers_without_configured_origins(client: Any) -> None:
    response = client.get("/api/v1/disclaimers", headers={"Origin": "https://evil.example"})
    preflight = client.options(
        "/api/v1/markets",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )

    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


@pytest.fixture
def cors_client(client_class: type[Any], settings: Settings) -> Iterator[Any]:
    origins = settings.model_copy(update={"cors_origins": ["https://dash.example"]})
    with client_class(create_app(origins)) as client:
        yield client


def test_a_configured_origin_may_call_and_read_the_limits(cors_client: Any) -> None:
    response = cors_client.get("/api/v1/markets", headers={"Origin": "https://dash.example"})
    preflight = cors_client.options(
        "/api/v1/markets",
        headers={
            "Origin": "https://dash.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )

    assert response.headers["access-control-allow-origin"] == "https://dash.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "ratelimit-remaining" in exposed and "etag" in exposed
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://dash.example"


def test_other_origins_are_not_allowed(cors_client: Any) -> None:
    response = cors_client.get("/api/v1/markets", headers={"Origin": "https://evil.example"})
    preflight = cors_client.options(
        "/api/v1/markets",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )

    assert "access-control-allow-origin" not in response.headers
    assert preflight.status_code == 400


def test_origins_must_be_plain_origins() -> None:
    from edgewatch.config import load_settings
    from edgewatch.errors import ConfigError

    with pytest.raises(ConfigError, match="EDGEWATCH_CORS_ORIGINS"):
        load_settings(cors_origins="https://dash.example/path")
    assert load_settings(cors_origins="https://a.example, http://localhost:3000").cors_origins == [
        "https://a.example",
        "http://localhost:3000",
    ]


# Body size -------------------------------------------------------------------------------------


@pytest.fixture
def small_body_client(client_class: type[Any], settings: Settings) -> Iterator[Any]:
    with client_class(create_app(settings.model_copy(update={"max_body_bytes": 2048}))) as client:
        yield client


def test_a_body_declared_too_large_is_refused_with_413(small_body_client: Any, problem: Any):
    body = {"strategy": "cross_venue_arbitrage", "params": {"padding": "x" * 4000}}

    response = small_body_client.post("/api/v1/backtests", json=body)

    problem(response, status=413, code="payload-too-large")
    assert "2048" in response.json()["detail"]


def test_a_streamed_body_is_cut_off_at_the_limit(small_body_client: Any, problem: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"strategy": "cross_venue_arbitrage", "params": {"padding": "'
        for _ in range(10):
            yield b"x" * 512
        yield b'"}}'

    response = small_body_client.post(
        "/api/v1/backtests", content=chunks(), headers={"Content-Type": "application/json"}
    )

    problem(response, status=413, code="payload-too-large")


def test_a_body_under_the_limit_reaches_the_route(small_body_client: Any) -> None:
    response = small_body_client.post("/api/v1/backtests", json={"strategy": "nope"})

    assert response.status_code == 422


# Input the database would choke on ---------------------------------------------------------------


def test_nul_characters_in_body_text_are_a_422_not_a_500(
    client: Any, seed: Any, problem: Any
) -> None:
    a, b = seed.market("A", venue="kalshi"), seed.market("B", venue="polymarket")
    link = seed.link(a, b, status="proposed")

    response = client.post(f"/api/v1/links/{link.id}/reject", json={"reason": "bad\u0000reason"})

    problem(response, status=422, code="validation-error")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/markets/2147483648",
        "/api/v1/links/9223372036854775806",
        "/api/v1/backtests/2147483648",
        "/api/v1/signals?market_id=2147483648",
    ],
)
def test_ids_beyond_the_integer_keys_are_a_422(client: Any, problem: Any, path: str) -> None:
    problem(client.get(path), status=422, code="validation-error")


@pytest.mark.parametrize(
    "query", ["/api/v1/signals?until=0.5", "/api/v1/markets/1/ticks?from=1700000000"]
)
def test_times_must_be_iso_8601_not_bare_numbers(client: Any, problem: Any, query: str) -> None:
    body = problem(client.get(query), status=422, code="validation-error")
    assert "ISO 8601" in body["errors"][0]["msg"]
