"""Settings from AWS Secrets Manager, for installs that keep credentials there.

Set ``EDGEWATCH_AWS_SECRET_ID`` to the name or ARN of one secret whose value is a JSON object of
settings (``{"EDGEWATCH_SECRET_KEY": "…", "EDGEWATCH_DATABASE_URL": "…"}``; the prefix is
optional, case is ignored). Like the secrets directory, these bootstrap values are read from the
environment only: a secret cannot name the secret that holds it. ``EDGEWATCH_AWS_ENDPOINT_URL``
points at an AWS-compatible stand-in (LocalStack, moto) and ``EDGEWATCH_AWS_REGION`` (or the usual
``AWS_DEFAULT_REGION``) picks the region; credentials come from boto3's normal chain (instance
role, environment, profile), never from Edgewatch settings.

Environment variables override the secret, so one value can be changed for one process without
rewriting the shared secret.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from pydantic_settings.exceptions import SettingsError

ENV_PREFIX = "EDGEWATCH_"


def fetch_secret(secret_id: str) -> dict[str, Any]:
    """The secret's JSON object, or a ``SettingsError`` naming the secret and what went wrong."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    region = os.environ.get("EDGEWATCH_AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    client = boto3.client(
        "secretsmanager",
        region_name=region or "us-east-1",
        endpoint_url=os.environ.get("EDGEWATCH_AWS_ENDPOINT_URL") or None,
    )
    try:
        raw = client.get_secret_value(SecretId=secret_id)["SecretString"]
    except ClientError as exc:
        reason = exc.response.get("Error", {}).get("Code", "error")
        raise SettingsError(f"AWS Secrets Manager secret {secret_id!r}: {reason}") from None
    except (BotoCoreError, KeyError) as exc:
        raise SettingsError(f"AWS Secrets Manager secret {secret_id!r}: {exc}") from None
    try:
        values = json.loads(raw)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise SettingsError(
            f"AWS Secrets Manager secret {secret_id!r} must be a JSON object of settings"
        )
    return {key.lower().removeprefix(ENV_PREFIX.lower()): value for key, value in values.items()}


class SecretsManagerSource(PydanticBaseSettingsSource):
    """A settings source over one Secrets Manager secret, fetched once per settings load."""

    def __init__(self, settings_cls: type[BaseSettings], secret_id: str) -> None:
        super().__init__(settings_cls)
        self._values = fetch_secret(secret_id)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        known = self.settings_cls.model_fields
        return {name: value for name, value in self._values.items() if name in known}
