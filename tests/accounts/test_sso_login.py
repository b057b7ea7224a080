"""Sign-in through a real OpenID Connect provider (``oidc-provider-mock``, an Authlib-based
provider server) running on a local port, with our app on another: a real HTTP client follows
every redirect, as a browser would."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.accounts.sessions import SESSION_COOKIE
from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.models import AuditEntry, User, UserIdentity, UserSession
from liveserver import live_server

# The provider is built on Authlib's deprecated ``jose`` module; its warnings are not ours.
with warnings.catch_warnings():
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from oidc_provider_mock import User as ProviderUser
    from oidc_provider_mock import run_server_in_thread

pytestmark = [
    pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib.oidc.*"),
]

ADA = ProviderUser(
    sub="ada-subject-1815",
    claims={"email": "ada@example.com", "email_verified": True, "name": "Ada Lovelace"},
)


@pytest.fixture
def provider() -> Iterator[str]:
    with run_server_in_thread(user_claims=[ADA], require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def app_url(app_settings: Settings, provider: str) -> Iterator[str]:
    settings = app_settings.model_copy(
        update={
            "oidc_issuer": provider,
            "oidc_client_id": "edgewatch",
            "oidc_client_secret": SecretStr("provider-does-not-check"),
            "oidc_name": "Local IdP",
            "cookie_secure": False,  # plain http on localhost in this test
            "admin_emails": ["grace@example.com"],
        }
    )
    with live_server(create_app(settings)) as url:
        yield url


def _sign_in_at_provider(web: httpx.Client, app_url: str, subject: str) -> httpx.Response:
    """Start at our sign-in page, click the provider, authorise ``subject`` there, come back."""
    page = web.get(f"{app_url}/auth/login", params={"next": "/api/v1/me"})
    assert "Local IdP" in page.text
    link = re.search(r'href="(/auth/sso/oidc[^"]*)"', page.text)
    assert link is not None
    consent = web.get(app_url + link.group(1).replace("&amp;", "&"))
    assert consent.status_code == 200 and "Authorize" in consent.text, consent.text
    return web.post(str(consent.url), data={"sub": subject})


def test_first_sso_sign_in_creates_a_viewer_and_logout_revokes_the_session(
    app_url: str, session: Session
) -> None:
    with httpx.Client(follow_redirects=True, timeout=30) as web:
        me = _sign_in_at_provider(web, app_url, ADA.sub)

        assert me.status_code == 200, me.text
        assert str(me.url) == f"{app_url}/api/v1/me"
        body: dict[str, Any] = me.json()
        assert body["email"] == "ada@example.com" and body["role"] == "viewer"
        assert body["display_name"] == "Ada Lovelace"
        old_cookie = web.cookies[SESSION_COOKIE]

        out = web.post(f"{app_url}/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
        assert out.status_code == 204

    user = session.scalars(select(User).where(User.email == "ada@example.com")).one()
    identity = session.scalars(select(UserIdentity)).one()
    assert (identity.provider, identity.subject, identity.user_id) == ("oidc", ADA.sub, user.id)
    assert session.scalars(select(UserSession.method)).one() == "sso:oidc"
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-3:] == ["user.create", "auth.login", "auth.logout"]

    replay = httpx.get(f"{app_url}/api/v1/me", cookies={SESSION_COOKIE: old_cookie})
    assert replay.status_code == 401


def test_a_second_sign_in_finds_the_same_account_and_admin_emails_start_as_admins(
    app_url: str, provider: str, session: Session
) -> None:
    httpx.put(
        f"{provider}/users/grace-1906",
        json={"email": "grace@example.com", "email_verified": True, "name": "Grace Hopper"},
    ).raise_for_status()
    for _ in range(2):
        with httpx.Client(follow_redirects=True, timeout=30) as web:
            me = _sign_in_at_provider(web, app_url, "grace-1906")
            assert me.status_code == 200 and me.json()["role"] == "admin"

    assert session.scalars(select(User).where(User.email == "grace@example.com")).one()
    assert len(session.scalars(select(UserSession)).all()) == 2


def test_a_forged_callback_is_refused(app_url: str) -> None:
    with httpx.Client(follow_redirects=True, timeout=30) as web:
        response = web.get(f"{app_url}/auth/sso/oidc/callback?code=stolen&state=guessed")

    assert response.status_code == 401
    assert "failed" in response.text
    assert SESSION_COOKIE not in web.cookies


def test_an_unconfigured_provider_is_a_404(app_url: str) -> None:
    assert httpx.get(f"{app_url}/auth/sso/github").status_code == 404
