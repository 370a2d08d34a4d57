"""Issue 12 in the HTTP API: an encrypted TLS key unlocked by ``api.tls_key_password``, and
allowlist input through POST /sms/{account}/ips."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from tests.api.conftest import api_config, running_api, seeded

PASSPHRASE = "correct horse"


def encrypted_key_pair(tmp_path: Path) -> tuple[Path, Path, ssl.SSLContext]:
    """A certificate and its private key encrypted with PASSPHRASE, and a client trusting it."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "api.crt", tmp_path / "api.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), password=None)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    return cert_file, key_file, trust


async def test_an_encrypted_key_is_unlocked_by_its_passphrase(tmp_path: Path) -> None:
    cert_file, key_file, trust = encrypted_key_pair(tmp_path)
    assert b"ENCRYPTED" in key_file.read_bytes()
    async with seeded(tmp_path) as s:
        config = api_config(
            s.url, tls_cert=cert_file, tls_key=key_file, tls_key_password=PASSPHRASE
        )
        async with running_api(config, s.store) as gw:
            url = f"https://127.0.0.1:{gw.endpoints.api_port}"
            async with httpx.AsyncClient(base_url=url, verify=trust, timeout=10) as https:
                assert (await https.get("/healthz")).json() == {"status": "ok"}


async def test_a_wrong_passphrase_fails_the_start(tmp_path: Path) -> None:
    cert_file, key_file, _ = encrypted_key_pair(tmp_path)
    async with seeded(tmp_path) as s:
        config = api_config(s.url, tls_cert=cert_file, tls_key=key_file, tls_key_password="nope")
        with pytest.raises(ssl.SSLError):
            async with running_api(config, s.store):
                pass  # pragma: no cover - the start fails
