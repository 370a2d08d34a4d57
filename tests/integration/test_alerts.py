"""Low-balance alerts end to end: SMPP submits debit a real gateway, a real SMTP server
(aiosmtpd) receives the alert mails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway import app
from gateway.app import Gateway
from ledger import Store, open_store
from ledger.models import credits_to_milli
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
    until,
)
from tests.mail.smtp_server import HOST, SmtpServer, smtp_server

FR = "33612345678"  # 1 credit a segment
SID = "smpp-alert"
CONTACT = "ops@example.invalid"


async def scanned(store: Store) -> None:
    """Wait until the alert task has walked every journal entry and sent what it queued."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        [last] = await store.journal(SID, limit=1)
        [alert] = await store.alerts(SID)
        if alert.checked_through == last.id and not await store.unsettled_alert_mails():
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("the alert task did not catch up")
        await asyncio.sleep(0.02)


async def send(gw: Gateway, count: int) -> None:
    esme = Esme(gw.endpoints.port)
    try:
        assert await in_thread(esme.bind, "tx", SID, PASSWORD) == 0
        for i in range(count):
            status, _ = await in_thread(esme.submit, f"msg {i}".encode(), destination=FR)
            assert status == 0
    finally:
        await in_thread(esme.client.disconnect)


async def test_one_mail_per_crossing_and_another_after_a_credit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "ALERT_INTERVAL", 0.05)
    url = f"sqlite:///{tmp_path}/ledger.db"
    store = await open_store(url)
    await store.upgrade()
    with smtp_server() as smtp:
        config = gateway_config(
            url,
            smtp={
                "enabled": True,
                "host": HOST,
                "port": smtp.port,
                "security": "none",
                "from_address": "alerts@gw.example",
            },
        )
        try:
            await make_account(store, SID, credits="10")
            await store.set_alert(SID, credits_to_milli("5"))
            async with running_gateway(config, store) as gw:
                await send(gw, 5)  # 10 -> 5: at the threshold, not below
                await scanned(store)
                assert smtp.received == []
                # Two debits below in a row (4, then 3): one crossing, one mail.
                await send(gw, 2)
                await until(lambda: len(smtp.received) >= 1, "the first alert mail")
                await scanned(store)
                assert len(smtp.received) == 1
                check_mail(smtp, balance="4")
                # A credit re-arms it (13), the next dip below 5 mails again.
                await store.credit(SID, credits_to_milli("10"), idempotency_key="top-up")
                await send(gw, 9)  # 13 -> 4
                await until(lambda: len(smtp.received) >= 2, "the second alert mail")
                await scanned(store)
                assert len(smtp.received) == 2
                check_mail(smtp, balance="4", index=1)
                sent = gw.metrics.registry.get_sample_value(
                    "smppgw_alerts_total", {"outcome": "sent"}
                )
                assert sent == 2
            assert await store.audit() == []
        finally:
            await store.close()


def check_mail(smtp: SmtpServer, *, balance: str, index: int = 0) -> None:
    mail = smtp.received[index]
    assert mail.rcpt_tos == [CONTACT]
    assert mail.message["Subject"] == f"Low balance on {SID}: {balance} credits left"
    flat = " ".join(mail.body.split())
    assert f"is {balance} credits, below the alert threshold of 5 credits." in flat
