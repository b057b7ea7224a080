"""Accounts and authorisation: users and roles, passwords, browser sessions, SSO, API keys, the
route → scope table, privacy (export and erasure).

Map: ``scopes`` (roles → scopes) · ``access`` (THE route table and the app-wide check) ·
``principal`` (who is calling; ``CurrentUserDep``) · ``passwords`` · ``sessions`` · ``csrf`` ·
``api_keys`` · ``users`` (creation, sign-in, roles) · ``oidc`` (SSO providers) · ``privacy`` ·
``auth_router`` (``/auth``) · ``me_router`` (``/api/v1/me``) · ``router`` (``install``) ·
``bootstrap`` (the demo's admin) · ``cli`` (``edgewatch users``, ``edgewatch audit``).
"""
