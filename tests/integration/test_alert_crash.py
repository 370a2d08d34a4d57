"""kill -9 a gateway between the commit that queued an alert (or a recharge notice) and
its mail: it is still mailed, exactly once, by the gateway started again under the same
id.

The gateway is a real process (`python -m gateway serve`); the SMTP server (aiosmtpd)
runs here and holds the first DATA until the test has killed the gateway, then answers
it with a temporary error nobody reads, so that first attempt delivers nothing.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from ledger import open_store
from ledger.models import DebitStatus, RechargePolicy, credits_to_milli
from tests.integration.harness import make_account
from tests.integration.procs import GatewayProcess, free_port, write_config
from tests.ledger.ledger_helpers import request
from tests.mail.smtp_server import HOST, ServerOptions, smtp_server

SID = "smpp-alert"


async def wait_for(event: threading.Event, what: str) -> None:
    if not await asyncio.to_thread(event.wait, 20):
        pytest.fail(f"timed out waiting for {what}")


#: The mail each kind of queued notice gives (the account: 10 credits, debited 6).
SUBJECTS = {
    "alert": f"Low balance on {SID}: 4 credits left",
    "recharge": f"Auto-recharge on {SID}: 100 credits added",
}


@pytest.mark.parametrize("kind", sorted(SUBJECTS))
async def test_kill_9_between_commit_and_mail_still_mails_once(tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    store = await open_store(url)
    await store.upgrade()
    await make_account(store, SID, credits="10")
    if kind == "alert":
        await store.set_alert(SID, credits_to_milli("5"))
    else:
        policy = RechargePolicy(threshold=5_000, amount=100_000, daily_cap=1)
        await store.set_recharge(SID, policy)
    [debit] = await store.debit_batch([request("d1", SID, cost=credits_to_milli("6"))])
    # Committed: 4 credits, below 5 (the alert), or recharged to 104 (its notice queued).
    assert debit.status is DebitStatus.OK

    entered, release = threading.Event(), threading.Event()
    calls = 0

    def hold_first(_envelope: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            release.wait(20)
            options.data_reply = "451 4.3.0 interrupted"
        else:
            options.data_reply = None

    options = ServerOptions(on_data=hold_first)
    port = free_port()
    config = write_config(
        tmp_path / "smppgw.toml", port=port, upstream_port=free_port(), ledger_url=url
    )
    with smtp_server(options) as smtp:
        config.write_text(
            config.read_text().replace("[server]\n", '[server]\ngateway_id = "gw-alerts"\n')
            + f'[smtp]\nenabled = true\nhost = "{HOST}"\nport = {smtp.port}\n'
            'security = "none"\nfrom_address = "alerts@gw.example"\n'
        )
        first = await GatewayProcess(config, port).start()
        try:
            await wait_for(entered, "the first gateway to start sending the alert")
        finally:
            await first.kill9()
        release.set()
        [queued] = await store.unsettled_alert_mails()  # claimed, never settled
        assert smtp.received == []

        second = await GatewayProcess(config, port).start()
        try:
            for _ in range(400):
                if await store.alert_mail_outcomes(SID) == [(queued.key, "sent")]:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the restarted gateway did not mail the alert")
        finally:
            assert await second.stop() == 0
    assert len(smtp.received) == 1
    assert smtp.received[0].message["Subject"] == SUBJECTS[kind]
    assert calls == 2
    assert await store.audit() == []
    await store.close()
