"""API models of accounts: the signed-in user, API keys, sessions, consent, sign-in bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from edgewatch.accounts.passwords import MAX_LENGTH as PASSWORD_MAX
from edgewatch.accounts.scopes import SCOPES

ScopeName = Literal[
    "read", "account", "backtests:run", "paper:trade", "links:review", "pipelines:run", "admin"
]
assert set(ScopeName.__args__) == set(SCOPES), "ScopeName must list every scope"  # type: ignore[attr-defined]
Text = r"^[^\x00]*$"


class LoginBody(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=Text, examples=["ada@example.com"])
    password: str = Field(min_length=1, max_length=PASSWORD_MAX, pattern=Text)


class MeOut(BaseModel):
    """The caller: who they are, their role, what this credential may do."""

    id: int
    email: str
    display_name: str | None
    role: str
    scopes: list[str] = Field(description="Effective scopes of the credential used.")
    authenticated_by: Literal["api_key", "session"]
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on state-changing requests made with this session."
    )
    created_at: datetime
    last_login_at: datetime | None


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=Text, examples=["grafana"])
    scopes: list[ScopeName] = Field(
        default=["read"],
        min_length=1,
        max_length=len(SCOPES),
        description="At most the scopes of your role.",
    )
    expires_at: AwareDatetime | None = Field(default=None, description="Unset: never expires.")


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The visible start of the key, to tell keys apart.")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The key itself. Shown this once; only its hash is stored.")


class SessionOut(BaseModel):
    id: int
    method: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool
    current: bool = Field(description="True for the session making this request.")
    ip_address: str | None
    user_agent: str | None


class ConsentOut(BaseModel):
    """Optional purposes the user agreed to. Not asked yet counts as not granted."""

    analytics: bool
    decided_at: datetime | None


class ConsentBody(BaseModel):
    analytics: bool


class PasswordChange(BaseModel):
    current_password: str | None = Field(
        default=None, max_length=PASSWORD_MAX, description="Required when a password is set."
    )
    new_password: str = Field(min_length=12, max_length=PASSWORD_MAX, pattern=Text)
