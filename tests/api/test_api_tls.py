"""``edgewatch serve`` speaks HTTPS itself when given a certificate and key."""

from __future__ import annotations

import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from certs import self_signed
from edgewatch.api.app import create_app
from edgewatch.api.server import base_url, server_config
from edgewatch.config import Settings
from edgewatch.errors import ConfigError
from liveserver import free_port


def test_serve_answers_over_https_with_the_configured_certificate(
    settings: Settings, tmp_path: Path
) -> None:
    cert_file, key_file = self_signed(tmp_path)
    tls = settings.model_copy(
        update={"tls_cert_file": cert_file, "tls_key_file": key_file, "port": free_port()}
    )
    server = uvicorn.Server(server_config(create_app(tls), tls))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        url = base_url(tls)
        assert url.startswith("https://")
        response = httpx.get(
            f"{url}/health", verify=ssl.create_default_context(cafile=str(cert_file))
        )
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"http://{tls.host}:{tls.port}/health")
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"EDGEWATCH_TLS_CERT_FILE": "cert.pem"}, "go together"),
        (
            {"EDGEWATCH_TLS_CERT_FILE": "nope.pem", "EDGEWATCH_TLS_KEY_FILE": "nope.key"},
            "EDGEWATCH_TLS_CERT_FILE: no such file",
        ),
    ],
)
def test_incomplete_tls_configuration_is_one_clear_error(
    env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from edgewatch.config import load_settings

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cert.pem").write_text("x")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=expected):
        load_settings()
