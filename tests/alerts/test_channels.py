"""Each channel delivers its own payload format to a real local server, and fails in one line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from alert_servers import HttpReceiver, SmtpServer
from edgewatch.alerts.channels import Notification, channel, configured_channels
from edgewatch.config import Settings
from edgewatch.errors import ConfigError, NotificationFailed

STARTED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FIRING = Notification(
    status="firing",
    rule="EdgewatchPipelineFailures",
    severity="critical",
    summary="Pipeline ingest-sim failed more than twice in an hour",
    description="3 runs of the ingest-sim pipeline failed in the last hour.",
    started_at=STARTED,
    labels={"pipeline": "ingest-sim"},
    value=3.0,
    runbook="https://example.test/runbooks/pipeline-failures.md",
)


def with_channels(settings: Settings, receiver: HttpReceiver, **extra: object) -> Settings:
    update: dict[str, object] = {
        "alert_webhook_url": SecretStr(f"{receiver.base_url}/hook"),
        "alert_slack_webhook_url": SecretStr(f"{receiver.base_url}/services/T0/B0/secret"),
        "alert_discord_webhook_url": SecretStr(f"{receiver.base_url}/api/webhooks/1/secret"),
        "alert_telegram_bot_token": SecretStr("123:bot-secret"),
        "alert_telegram_chat_id": "-1001",
        "alert_telegram_api_url": receiver.base_url,
    }
    update.update(extra)
    return settings.model_copy(update=update)


def test_no_channel_is_on_by_default(plain_settings: Settings) -> None:
    assert configured_channels(plain_settings) == {}


def test_an_unconfigured_channel_names_the_settings_it_needs(plain_settings: Settings) -> None:
    with pytest.raises(ConfigError, match="EDGEWATCH_ALERT_SLACK_WEBHOOK_URL"):
        channel(plain_settings, "slack")
    with pytest.raises(ConfigError, match="unknown alert channel 'pager'"):
        channel(plain_settings, "pager")


def test_webhook_posts_the_versioned_json_document(
    plain_settings: Settings, http_receiver: HttpReceiver
) -> None:
    channel(with_channels(plain_settings, http_receiver), "webhook").send(FIRING)
    [body] = http_receiver.to("/hook")
    assert body["version"] == "1" and body["source"] == "edgewatch"
    assert body["status"] == "firing" and body["kind"] == "condition"
    alert = body["alert"]
    assert alert["rule"] == "EdgewatchPipelineFailures"
    assert alert["labels"] == {"pipeline": "ingest-sim"}
    assert alert["value"] == 3.0 and alert["severity"] == "critical"
    assert alert["started_at"] == STARTED.isoformat() and alert["resolved_at"] is None
    assert alert["runbook_url"].endswith("pipeline-failures.md")


def test_slack_gets_a_title_and_a_coloured_attachment(
    plain_settings: Settings, http_receiver: HttpReceiver
) -> None:
    channel(with_channels(plain_settings, http_receiver), "slack").send(FIRING)
    [body] = http_receiver.to("/services/T0/B0/secret")
    assert body["text"] == "*[CRITICAL] Pipeline ingest-sim failed more than twice in an hour*"
    [attachment] = body["attachments"]
    assert attachment["color"] == "#d32f2f"
    assert "3 runs of the ingest-sim pipeline failed" in attachment["text"]
    assert "pipeline=ingest-sim" in attachment["text"]


def test_discord_gets_an_embed_and_mentions_nobody(
    plain_settings: Settings, http_receiver: HttpReceiver
) -> None:
    resolved = Notification(**_resolved_fields())  # type: ignore[arg-type]
    channel(with_channels(plain_settings, http_receiver), "discord").send(resolved)
    [body] = http_receiver.to("/api/webhooks/1/secret")
    assert body["content"].startswith("[RESOLVED] Pipeline ingest-sim")
    [embed] = body["embeds"]
    assert embed["color"] == 0x388E3C and "resolved 2026-06-01T13:00:00" in embed["description"]
    assert body["allowed_mentions"] == {"parse": []}


def test_telegram_calls_send_message_with_the_chat_id(
    plain_settings: Settings, http_receiver: HttpReceiver
) -> None:
    channel(with_channels(plain_settings, http_receiver), "telegram").send(FIRING)
    [body] = http_receiver.to("/bot123:bot-secret/sendMessage")
    assert body["chat_id"] == "-1001" and body["disable_web_page_preview"] is True
    assert body["text"].startswith("[CRITICAL] Pipeline ingest-sim failed")


def test_telegram_ok_false_is_a_failure(
    plain_settings: Settings, http_receiver: HttpReceiver
) -> None:
    http_receiver.answer = {"ok": False, "description": "Bad Request: chat not found"}
    with pytest.raises(NotificationFailed, match="chat not found"):
        channel(with_channels(plain_settings, http_receiver), "telegram").send(FIRING)


def test_email_goes_through_smtp_with_login(
    plain_settings: Settings, smtp_server: SmtpServer
) -> None:
    configured = plain_settings.model_copy(
        update={
            "alert_smtp_host": smtp_server.host,
            "alert_smtp_port": smtp_server.port,
            "alert_smtp_starttls": False,
            "alert_smtp_user": "edgewatch",
            "alert_smtp_password": SecretStr("smtp-secret"),
            "alert_email_from": "edgewatch@example.test",
            "alert_email_to": ["ops@example.test", "oncall@example.test"],
        }
    )
    channel(configured, "email").send(FIRING)
    [mail] = smtp_server.mails
    assert mail.sender == "edgewatch@example.test"
    assert mail.recipients == ["ops@example.test", "oncall@example.test"]
    assert mail.message["Subject"].strip() == (
        "[Edgewatch] [CRITICAL] Pipeline ingest-sim failed more than twice in an hour"
    )
    assert "3 runs of the ingest-sim pipeline failed" in mail.message.get_content()
    assert len(smtp_server.logins) == 1


def test_starttls_against_a_server_without_it_fails_in_one_line(
    plain_settings: Settings, smtp_server: SmtpServer
) -> None:
    configured = plain_settings.model_copy(
        update={
            "alert_smtp_host": smtp_server.host,
            "alert_smtp_port": smtp_server.port,
            "alert_email_from": "edgewatch@example.test",
            "alert_email_to": ["ops@example.test"],
        }
    )
    with pytest.raises(NotificationFailed, match=r"^email: cannot send through 127\.0\.0\.1"):
        channel(configured, "email").send(FIRING)
    assert smtp_server.mails == []


def test_an_http_error_names_the_host_but_not_the_secret_path(
    plain_settings: Settings, http_receiver: HttpReceiver
) -> None:
    http_receiver.status = 500
    with pytest.raises(NotificationFailed) as failure:
        channel(with_channels(plain_settings, http_receiver), "slack").send(FIRING)
    message = failure.value.message
    assert message.startswith(f"slack: {http_receiver.base_url} answered HTTP 500")
    assert "secret" not in message and "\n" not in message


def test_an_unreachable_server_is_one_line(plain_settings: Settings) -> None:
    configured = plain_settings.model_copy(
        update={"alert_webhook_url": SecretStr("http://127.0.0.1:9/hook")}
    )
    with pytest.raises(NotificationFailed, match=r"^webhook: cannot reach http://127\.0\.0\.1:9"):
        channel(configured, "webhook").send(FIRING)


def _resolved_fields() -> dict[str, object]:
    return {
        "status": "resolved",
        "rule": FIRING.rule,
        "severity": FIRING.severity,
        "summary": FIRING.summary,
        "description": FIRING.description,
        "started_at": STARTED,
        "labels": FIRING.labels,
        "resolved_at": datetime(2026, 6, 1, 13, 0, tzinfo=UTC),
    }
