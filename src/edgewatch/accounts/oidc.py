"""Single sign-on with OAuth 2 / OpenID Connect, through Authlib's Starlette client.

Three providers can be configured (each is on when its client id and secret are set):

- ``github`` — GitHub OAuth apps (not OIDC: the profile and verified emails come from its API);
- ``google`` — Google, by its OIDC discovery document;
- ``oidc`` — any OpenID Connect issuer (Keycloak, Okta, Entra ID, Authentik…), by
  ``EDGEWATCH_OIDC_ISSUER``.

The flow's state, nonce and PKCE verifier live in a short-lived signed cookie scoped to
``/auth/sso`` (Starlette's ``SessionMiddleware``, installed by ``router.install``); the Edgewatch
session proper is made only after the provider's answer checks out.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from httpx import HTTPError
from starlette.responses import Response

from edgewatch.accounts.users import SsoProfile
from edgewatch.config import Settings
from edgewatch.errors import NotAuthenticated, NotFound
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import AUTH_FAILURES

# Authlib nudges towards a renamed httpx package at import; the project pins httpx for now.
# ``authlib.deprecate`` installs an "always" filter when imported, so import it before ours.
with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.starlette_client import OAuth

GITHUB_API = "https://api.github.com/"
GOOGLE_METADATA = "https://accounts.google.com/.well-known/openid-configuration"
OIDC_SCOPE = "openid email profile"

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    label: str
    openid: bool
    options: dict[str, Any] = field(default_factory=dict)


def configured_providers(settings: Settings) -> dict[str, Provider]:
    """The providers whose credentials are set, by the name used in ``/auth/sso/{provider}``."""
    providers: dict[str, Provider] = {}
    if settings.github_client_id and settings.github_client_secret:
        providers["github"] = Provider(
            name="github",
            label="GitHub",
            openid=False,
            options={
                "client_id": settings.github_client_id,
                "client_secret": settings.github_client_secret.get_secret_value(),
                "authorize_url": "https://github.com/login/oauth/authorize",
                "access_token_url": "https://github.com/login/oauth/access_token",
                "api_base_url": GITHUB_API,
                "client_kwargs": {"scope": "read:user user:email"},
            },
        )
    if settings.google_client_id and settings.google_client_secret:
        providers["google"] = Provider(
            name="google",
            label="Google",
            openid=True,
            options={
                "client_id": settings.google_client_id,
                "client_secret": settings.google_client_secret.get_secret_value(),
                "server_metadata_url": GOOGLE_METADATA,
                "client_kwargs": {"scope": OIDC_SCOPE, "code_challenge_method": "S256"},
            },
        )
    if settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret:
        providers["oidc"] = Provider(
            name="oidc",
            label=settings.oidc_name,
            openid=True,
            options={
                "client_id": settings.oidc_client_id,
                "client_secret": settings.oidc_client_secret.get_secret_value(),
                "server_metadata_url": settings.oidc_issuer.rstrip("/")
                + "/.well-known/openid-configuration",
                "client_kwargs": {"scope": OIDC_SCOPE, "code_challenge_method": "S256"},
            },
        )
    return providers


def _registry(request: Request) -> OAuth:
    """One Authlib registry per app (it caches each issuer's discovery document)."""
    registry: OAuth | None = getattr(request.app.state, "oauth", None)
    if registry is None:
        registry = OAuth()
        for provider in configured_providers(request.app.state.settings).values():
            registry.register(provider.name, **provider.options)
        request.app.state.oauth = registry
    return registry


def provider_named(request: Request, name: str) -> Provider:
    provider = configured_providers(request.app.state.settings).get(name)
    if provider is None:
        raise NotFound(f"no sign-in provider {name!r} is configured")
    return provider


async def begin(request: Request, provider: Provider, *, redirect_uri: str) -> Response:
    """The redirect to the provider's sign-in page."""
    client = _registry(request).create_client(provider.name)
    try:
        response: Response = await client.authorize_redirect(request, redirect_uri)
    except (OAuthError, HTTPError) as exc:
        log.warning("sso provider unreachable", provider=provider.name, error=str(exc))
        AUTH_FAILURES.labels(reason="sso_error").inc()
        raise NotAuthenticated(f"{provider.label} cannot be reached; try again later") from None
    return response


async def finish(request: Request, provider: Provider) -> SsoProfile:
    """Exchange the callback's code for tokens and read who signed in.

    ``NotAuthenticated`` when the provider refused, the state or nonce does not match (a forged or
    replayed callback), or the provider cannot be reached.
    """
    client = _registry(request).create_client(provider.name)
    try:
        token: dict[str, Any] = await client.authorize_access_token(request)
        if provider.openid:
            return await _openid_profile(client, provider, token)
        return await _github_profile(client, token)
    except (OAuthError, HTTPError, KeyError) as exc:
        log.warning("sso sign-in failed", provider=provider.name, error=str(exc))
        AUTH_FAILURES.labels(reason="sso_error").inc()
        raise NotAuthenticated(f"Sign-in with {provider.label} failed; try again.") from None


async def _openid_profile(client: Any, provider: Provider, token: dict[str, Any]) -> SsoProfile:
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    if not claims.get("email"):
        claims |= dict(await client.userinfo(token=token))
    return SsoProfile(
        provider=provider.name,
        subject=str(claims["sub"]),
        email=claims.get("email"),
        email_verified=claims.get("email_verified") is True,
        name=claims.get("name") or claims.get("preferred_username"),
    )


async def _github_profile(client: Any, token: dict[str, Any]) -> SsoProfile:
    profile = (await client.get("user", token=token)).json()
    emails = (await client.get("user/emails", token=token)).json()
    primary = next((item for item in emails if item.get("primary") and item.get("verified")), None)
    return SsoProfile(
        provider="github",
        subject=str(profile["id"]),
        email=primary["email"] if primary else profile.get("email"),
        email_verified=primary is not None,
        name=profile.get("name") or profile.get("login"),
    )
