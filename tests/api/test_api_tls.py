"""``edgewatch serve`` speaks HTTPS itself when given a certificate and key."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edgewatch.api.app import create_app
from edgewatch.api.server import base_url, server_config
from edgewatch.config import Settings
from edgewatch.errors import ConfigError
from liveserver import free_port


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_serve_answers_over_https_with_the_configured_certificate(
    settings: Settings, tmp_path: Path
) -> None:
    cert_file, key_file = _self_signed(tmp_path)
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
