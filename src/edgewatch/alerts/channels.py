"""Where notifications go: webhook, Slack, Discord, Telegram and email.

A channel is on when its destination is configured (``EDGEWATCH_ALERT_*``; the URLs and tokens
are secrets and may come from the secrets directory). HTTP channels use the one HTTP client
factory (``venues.http.create_http_client``), so every call has a timeout; email uses
``smtplib`` with optional STARTTLS and login. A delivery that fails raises
``NotificationFailed`` with one line naming the channel and the reason; the notifier retries it
on the next evaluation.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from typing import Any, Literal, Protocol

import httpx

from edgewatch.config import Settings
from edgewatch.errors import ConfigError, NotificationFailed
from edgewatch.venues.http import create_http_client

CHANNEL_NAMES = ("webhook", "slack", "discord", "telegram", "email")
#: Telegram rejects messages over 4096 characters, Discord embeds over 4096 and content over 2000.
TELEGRAM_LIMIT = 4096
DISCORD_LIMIT = 2000
PAYLOAD_VERSION = "1"
_COLOURS = {"firing": {"critical": 0xD32F2F, "warning": 0xF9A825, "info": 0x1976D2}}
_RESOLVED_COLOUR = 0x388E3C


@dataclass(frozen=True, slots=True)
class Notification:
    """What a channel is asked to say about one alert."""

    status: Literal["firing", "resolved"]
    rule: str
    severity: str
    summary: str
    description: str
    started_at: datetime
    labels: dict[str, Any] = field(default_factory=dict)
    value: float | None = None
    resolved_at: datetime | None = None
    runbook: str | None = None
    #: ``event`` notifications (a high-confidence signal) are never followed by a resolve.
    kind: Literal["condition", "event"] = "condition"

    @property
    def title(self) -> str:
        state = "RESOLVED" if self.status == "resolved" else self.severity.upper()
        return f"[{state}] {self.summary}"

    def text(self) -> str:
        """Plain text: title, description, labels, times and runbook, one per line."""
        lines = [self.title, self.description]
        if self.labels:
            lines.append(", ".join(f"{key}={value}" for key, value in sorted(self.labels.items())))
        lines.append(f"since {self.started_at.isoformat(timespec='seconds')}")
        if self.resolved_at is not None:
            lines.append(f"resolved {self.resolved_at.isoformat(timespec='seconds')}")
        if self.runbook:
            lines.append(f"runbook: {self.runbook}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """The generic webhook body (documented in docs/alerting.md; ``version`` 1)."""
        return {
            "version": PAYLOAD_VERSION,
            "source": "edgewatch",
            "status": self.status,
            "kind": self.kind,
            "alert": {
                "rule": self.rule,
                "severity": self.severity,
                "summary": self.summary,
                "description": self.description,
                "labels": dict(self.labels),
                "value": self.value,
                "started_at": self.started_at.isoformat(),
                "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
                "runbook_url": self.runbook,
            },
        }


class Channel(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver or raise ``NotificationFailed``."""
        ...


class HttpPost:
    """POSTs JSON to one URL and checks the answer; shared by the HTTP channels."""

    def __init__(
        self, *, name: str, url: str, timeout: float, transport: httpx.BaseTransport | None
    ) -> None:
        self.name = name
        self._url = url
        self._timeout = timeout
        self._transport = transport

    def post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            with create_http_client(
                base_url="", timeout=self._timeout, transport=self._transport
            ) as client:
                response = client.post(self._url, json=body)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise NotificationFailed(
                f"{self.name}: cannot reach {_host(self._url)}: {exc or type(exc).__name__}"
            ) from None
        if response.status_code >= 300:
            raise NotificationFailed(
                f"{self.name}: {_host(self._url)} answered HTTP {response.status_code}: "
                f"{response.text.strip()[:200]}"
            )
        return response


@dataclass(slots=True)
class WebhookChannel:
    http: HttpPost
    name: str = "webhook"

    def send(self, notification: Notification) -> None:
        self.http.post(notification.as_json())


@dataclass(slots=True)
class SlackChannel:
    """A Slack incoming webhook: ``text`` for notifications, an attachment for the colour bar."""

    http: HttpPost
    name: str = "slack"

    def send(self, notification: Notification) -> None:
        details = notification.text().split("\n", 1)[1]
        self.http.post(
            {
                "text": f"*{notification.title}*",
                "attachments": [
                    {
                        "color": f"#{_colour(notification):06x}",
                        "text": details,
                        "footer": f"Edgewatch · {notification.rule}",
                    }
                ],
            }
        )


@dataclass(slots=True)
class DiscordChannel:
    """A Discord webhook: one embed with the details, title in ``content`` for push previews."""

    http: HttpPost
    name: str = "discord"

    def send(self, notification: Notification) -> None:
        details = notification.text().split("\n", 1)[1]
        self.http.post(
            {
                "content": notification.title[:DISCORD_LIMIT],
                "embeds": [
                    {
                        "title": notification.title[:256],
                        "description": details[:TELEGRAM_LIMIT],
                        "color": _colour(notification),
                        "footer": {"text": f"Edgewatch · {notification.rule}"},
                    }
                ],
                "allowed_mentions": {"parse": []},
            }
        )


@dataclass(slots=True)
class TelegramChannel:
    """The Bot API's ``sendMessage``; its body says ``ok: false`` on errors it answers 200 to."""

    http: HttpPost
    chat_id: str
    name: str = "telegram"

    def send(self, notification: Notification) -> None:
        response = self.http.post(
            {
                "chat_id": self.chat_id,
                "text": notification.text()[:TELEGRAM_LIMIT],
                "disable_web_page_preview": True,
            }
        )
        try:
            ok = response.json().get("ok") is True
        except ValueError:
            ok = False
        if not ok:
            raise NotificationFailed(f"telegram: sendMessage refused: {response.text[:200]}")


@dataclass(slots=True)
class EmailChannel:
    host: str
    port: int
    sender: str
    recipients: list[str]
    timeout: float
    starttls: bool = True
    user: str | None = None
    password: str | None = None
    name: str = "email"

    def send(self, notification: Notification) -> None:
        # The SMTP policy folds long subjects correctly (the default compat32 one does not).
        message = EmailMessage(policy=policy.SMTP)
        message["Subject"] = f"[Edgewatch] {notification.title}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(notification.text())
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user is not None and self.password is not None:
                    smtp.login(self.user, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            reason = str(exc).strip() or type(exc).__name__
            raise NotificationFailed(
                f"email: cannot send through {self.host}:{self.port}: {reason}"
            ) from None


def configured_channels(
    settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> dict[str, Channel]:
    """Every channel whose destination is set, by name, in ``CHANNEL_NAMES`` order."""
    timeout = settings.alert_timeout_seconds

    def http(name: str, url: str) -> HttpPost:
        return HttpPost(name=name, url=url, timeout=timeout, transport=transport)

    builders: dict[str, Callable[[], Channel] | None] = {
        "webhook": (
            (lambda: WebhookChannel(http("webhook", _secret(settings.alert_webhook_url))))
            if settings.alert_webhook_url
            else None
        ),
        "slack": (
            (lambda: SlackChannel(http("slack", _secret(settings.alert_slack_webhook_url))))
            if settings.alert_slack_webhook_url
            else None
        ),
        "discord": (
            (lambda: DiscordChannel(http("discord", _secret(settings.alert_discord_webhook_url))))
            if settings.alert_discord_webhook_url
            else None
        ),
        "telegram": (_telegram(settings, http) if settings.alert_telegram_bot_token else None),
        "email": (_email(settings) if settings.alert_smtp_host else None),
    }
    return {name: build() for name, build in builders.items() if build is not None}


def channel(
    settings: Settings, name: str, *, transport: httpx.BaseTransport | None = None
) -> Channel:
    """One configured channel; ``ConfigError`` naming the settings it needs if it is not set."""
    if name not in CHANNEL_NAMES:
        raise ConfigError(f"unknown alert channel {name!r} (channels: {', '.join(CHANNEL_NAMES)})")
    channels = configured_channels(settings, transport=transport)
    if name not in channels:
        raise ConfigError(f"alert channel {name!r} is not configured (set {_needs(name)})")
    return channels[name]


def _telegram(settings: Settings, http: Callable[[str, str], HttpPost]) -> Callable[[], Channel]:
    token = _secret(settings.alert_telegram_bot_token)
    base = settings.alert_telegram_api_url.rstrip("/")
    chat_id = settings.alert_telegram_chat_id or ""
    return lambda: TelegramChannel(http("telegram", f"{base}/bot{token}/sendMessage"), chat_id)


def _email(settings: Settings) -> Callable[[], Channel]:
    return lambda: EmailChannel(
        host=settings.alert_smtp_host or "",
        port=settings.alert_smtp_port,
        sender=settings.alert_email_from or "",
        recipients=list(settings.alert_email_to),
        timeout=settings.alert_timeout_seconds,
        starttls=settings.alert_smtp_starttls,
        user=settings.alert_smtp_user,
        password=_secret(settings.alert_smtp_password) if settings.alert_smtp_password else None,
    )


def _needs(name: str) -> str:
    return {
        "webhook": "EDGEWATCH_ALERT_WEBHOOK_URL",
        "slack": "EDGEWATCH_ALERT_SLACK_WEBHOOK_URL",
        "discord": "EDGEWATCH_ALERT_DISCORD_WEBHOOK_URL",
        "telegram": "EDGEWATCH_ALERT_TELEGRAM_BOT_TOKEN and EDGEWATCH_ALERT_TELEGRAM_CHAT_ID",
        "email": (
            "EDGEWATCH_ALERT_SMTP_HOST, EDGEWATCH_ALERT_EMAIL_FROM and EDGEWATCH_ALERT_EMAIL_TO"
        ),
    }[name]


def _secret(value: Any) -> str:
    return str(value.get_secret_value()) if value is not None else ""


def _host(url: str) -> str:
    """Scheme and host only: webhook paths and bot tokens are secrets and stay out of errors."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "the configured URL"
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")


def _colour(notification: Notification) -> int:
    if notification.status == "resolved":
        return _RESOLVED_COLOUR
    return _COLOURS["firing"].get(notification.severity, _COLOURS["firing"]["info"])
