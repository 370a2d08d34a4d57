"""Health, readiness, the served OpenAPI description and its checked-in copy, mail resets."""

from __future__ import annotations

import json
import ssl
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import trustme

from gateway.api.openapi import render
from gateway.app import Gateway
from ledger.passwords import verify_password
from tests.api.conftest import Api, api_config, base_url, mail_settings, running_api, seeded
from tests.api.test_api_accounts import error
from tests.cli.test_cli_reset_password import mailed_password
from tests.integration.harness import REPO
from tests.mail.smtp_server import smtp_server


async def test_healthz_and_readyz(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "ledger": True, "upstream": True}


async def test_readyz_and_the_api_when_the_ledger_is_down(tmp_path: Path) -> None:
    async with (
        seeded(tmp_path) as s,
        running_api(api_config(s.url), s.store) as gw,
        httpx.AsyncClient(base_url=base_url(gw), timeout=10) as http,
    ):
        shop = s.shop_token
        await s.store.close()  # the ledger goes away under the running gateway
        down = await http.get("/readyz")
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "ledger": False, "upstream": True}
        assert (await http.get("/healthz")).status_code == 200
        unavailable = await http.get("/sms/smpp-shop", headers={"Authorization": f"Bearer {shop}"})
        error(unavailable, 503, "unavailable")


async def test_readyz_without_a_bound_upstream(tmp_path: Path) -> None:
    async with seeded(tmp_path) as s:
        config = api_config(s.url)
        # A real upstream that is not there: nothing listens on port 1.
        config = replace(
            config,
            simulator=replace(config.simulator, enabled=False),
            upstream=replace(config.upstream, port=1),
        )
        gw = Gateway(config, store=s.store)
        await gw.start()
        try:
            async with httpx.AsyncClient(base_url=base_url(gw), timeout=10) as http:
                answer = await http.get("/readyz")
        finally:
            await gw.stop()
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "ledger": True, "upstream": False}


async def test_the_served_description_is_the_checked_in_one(api: Api) -> None:
    served = (await api.http.get("/openapi.json")).json()
    assert served["openapi"].startswith("3.")
    checked_in = json.loads((REPO / "docs" / "openapi.json").read_text())
    # Regenerate with `make openapi` after changing a route or a view.
    assert served == checked_in
    assert (REPO / "docs" / "openapi.json").read_text() == render()
    assert served["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_password_reset_mails_the_contact(tmp_path: Path) -> None:
    async with seeded(tmp_path) as s:
        old = (await s.store.get_account("smpp-shop")).password_hash
        with smtp_server() as server:
            smtp = mail_settings(server.port, bind_address="smpp.gw.example:2775")
            async with (
                running_api(api_config(s.url, smtp), s.store) as gw,
                httpx.AsyncClient(base_url=base_url(gw), timeout=10) as http,
            ):
                answer = await http.post(
                    "/sms/smpp-shop/password", headers={"Authorization": f"Bearer {s.shop_token}"}
                )
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"system_id": "smpp-shop", "mailed_to": "ops@smpp-shop.example"}
            (mail,) = server.received
            assert mail.rcpt_tos == ["ops@smpp-shop.example"]
            assert "smpp.gw.example:2775" in mail.body
        stored = (await s.store.get_account("smpp-shop")).password_hash
        assert stored != old
        # The mailed password is 8 random characters, only its hash is kept, and the
        # answer never holds it.
        password = mailed_password(mail)
        assert len(password) == 8
        assert verify_password(password, stored)
        assert password not in answer.text and password not in stored


async def test_https_with_a_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "api.crt", tmp_path / "api.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    async with seeded(tmp_path) as s:
        config = api_config(s.url, tls_cert=cert_file, tls_key=key_file)
        async with running_api(config, s.store) as gw:
            url = f"https://127.0.0.1:{gw.endpoints.api_port}"
            async with httpx.AsyncClient(base_url=url, verify=trust, timeout=10) as https:
                assert (await https.get("/healthz")).json() == {"status": "ok"}
                mine = await https.get("/sms", headers={"Authorization": f"Bearer {s.shop_token}"})
                assert len(mine.json()["accounts"]) == 2
            async with httpx.AsyncClient(base_url=url.replace("https", "http")) as plain:
                with pytest.raises(httpx.TransportError):
                    await plain.get("/healthz")  # no clear-text answer on an HTTPS port
