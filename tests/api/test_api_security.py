"""Issue 12 in the HTTP API: an encrypted TLS key unlocked by ``api.tls_key_password``, and
allowlist input through POST /sms/{account}/ips."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import structlog
import trustme
from cryptography.hazmat.primitives import serialization

from tests.api.conftest import Api, api_config, running_api, seeded
from tests.api.test_api_accounts import error

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


async def test_allowlist_input_host_bits_and_catch_alls(api: Api) -> None:
    h = api.as_shop

    async def post(body: dict[str, object]) -> httpx.Response:
        return await api.http.post("/sms/smpp-shop/ips", json=body, headers=h)

    assert error(await post({"ip": "10.0.0.5/24"}), 400, "invalid_input") == (
        '10.0.0.5/24 has host bits set: did you mean 10.0.0.0/24? use "normalise": true'
        " to store that"
    )
    assert error(await post({"ip": "::/0"}), 400, "invalid_input") == (
        '::/0 allows binds from every IPv6 address: use "any": true if that is what you mean'
    )
    assert (await api.store.get_account("smpp-shop")).allowed_ips == ("127.0.0.1/32",)
    assert (await post({"ip": "10.0.0.5/24", "normalise": True})).status_code == 201
    assert (await post({"ip": "0.0.0.0/0", "any": True})).status_code == 201
    assert error(await post({"ip": "::/0", "any": "yes"}), 400, "invalid_input")
    listed = await api.http.get("/sms/smpp-shop/ips", headers=h)
    assert listed.json()["allowed_ips"] == ["127.0.0.1/32", "10.0.0.0/24", "0.0.0.0/0"]


def _encrypted_pair(ca: trustme.CA, directory: Path) -> tuple[Path, Path]:
    """A certificate of ``ca`` and its key encrypted with PASSPHRASE, under ``directory``."""
    cert = ca.issue_cert("127.0.0.1")
    directory.mkdir(exist_ok=True)
    cert_file, key_file = directory / "api.crt", directory / "api.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), password=None)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    return cert_file, key_file


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


async def test_sighup_reloads_the_api_certificate(tmp_path: Path) -> None:
    old_ca, new_ca = trustme.CA(), trustme.CA()
    cert_file, key_file = _encrypted_pair(old_ca, tmp_path / "live")
    async with seeded(tmp_path) as s:
        config = api_config(
            s.url, tls_cert=cert_file, tls_key=key_file, tls_key_password=PASSPHRASE
        )
        async with running_api(config, s.store) as gw:
            url = f"https://127.0.0.1:{gw.endpoints.api_port}"

            async def healthz(ctx: ssl.SSLContext) -> int:
                async with httpx.AsyncClient(base_url=url, verify=ctx, timeout=10) as c:
                    return (await c.get("/healthz")).status_code

            async with httpx.AsyncClient(base_url=url, verify=_trusting(old_ca)) as before:
                assert (await before.get("/healthz")).status_code == 200
                # A broken renewal (a certificate without its key) keeps the old pair.
                other_cert, _ = _encrypted_pair(new_ca, tmp_path / "other")
                cert_file.write_bytes(other_cert.read_bytes())
                with structlog.testing.capture_logs() as logs:
                    gw.reload()
                assert [(e["event"], e.get("listener")) for e in logs] == [
                    ("tls.reload_failed", "api")
                ]
                assert await healthz(_trusting(old_ca)) == 200

                renewed_cert, renewed_key = _encrypted_pair(new_ca, tmp_path / "renewed")
                cert_file.write_bytes(renewed_cert.read_bytes())
                key_file.write_bytes(renewed_key.read_bytes())
                with structlog.testing.capture_logs() as logs:
                    gw.reload()
                assert [(e["event"], e.get("listener")) for e in logs] == [("tls.reloaded", "api")]
                assert await healthz(_trusting(new_ca)) == 200
                with pytest.raises(httpx.ConnectError):
                    await healthz(_trusting(old_ca))
                # The connection opened before the renewal goes on (keep-alive).
                assert (await before.get("/healthz")).status_code == 200
