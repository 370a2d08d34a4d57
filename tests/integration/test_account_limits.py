"""An account's own submit window and maximum session age (``account set
--submit-window / --max-session-age``), against a live gateway over sockets (issue 9)."""

from __future__ import annotations

from pathlib import Path

import structlog

from gateway.smpp import CommandStatus, encode
from ledger import Store
from ledger.models import AccountChanges
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.raw_esme import RawEsme
from tests.integration.test_session_limits import _answers, _submit, _wait_unbind

S = CommandStatus


async def test_an_accounts_own_window_overrides_the_gateways(store: Store, tmp_path: Path) -> None:
    await make_account(store, "smpp-own-window", credits="10")
    await make_account(store, "smpp-no-window", credits="10")
    await store.update_account("smpp-own-window", AccountChanges(submit_window=1))
    await store.update_account("smpp-no-window", AccountChanges(submit_window=0))
    # The gateway's window: 1 000, far beyond two submits; the accounts' own decide.
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db", server={"account_submit_window": 1000}
    )
    async with running_gateway(config, store) as gw:
        assert gw.endpoints is not None
        esme = await in_thread(RawEsme, gw.endpoints.port)
        assert await in_thread(esme.bind, "tx", "smpp-own-window", PASSWORD) == S.ESME_ROK
        # Two submits in one write: the second arrives while the first is being debited.
        await in_thread(esme.sock.sendall, encode(_submit(10)) + encode(_submit(11)))
        assert await in_thread(_answers, esme, 2) == {10: S.ESME_ROK, 11: S.ESME_RTHROTTLED}
        await in_thread(esme.close)
        # 0 of its own: no window at all, whatever the gateway's.
        free = await in_thread(RawEsme, gw.endpoints.port)
        assert await in_thread(free.bind, "tx", "smpp-no-window", PASSWORD) == S.ESME_ROK
        await in_thread(free.sock.sendall, b"".join(encode(_submit(s)) for s in (20, 21, 22)))
        assert await in_thread(_answers, free, 3) == dict.fromkeys((20, 21, 22), S.ESME_ROK)
        await in_thread(free.close)
    assert (await store.get_account("smpp-own-window")).balance == 9_000
    assert (await store.get_account("smpp-no-window")).balance == 7_000


async def test_an_accounts_own_session_age_overrides_the_gateways(
    store: Store, tmp_path: Path
) -> None:
    await make_account(store, "smpp-short", credits="10")
    await store.update_account("smpp-short", AccountChanges(max_session_age_s=1))
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db", server={"max_session_age_s": 86_400.0}
    )
    async with running_gateway(config, store) as gw:
        assert gw.endpoints is not None
        esme = await in_thread(RawEsme, gw.endpoints.port)
        assert await in_thread(esme.bind, "trx", "smpp-short", PASSWORD) == S.ESME_ROK
        with structlog.testing.capture_logs() as logs:
            assert await in_thread(_wait_unbind, esme)
        [aged] = [e for e in logs if e["event"] == "session.max_age"]
        assert aged["after_s"] == 1.0
        await in_thread(esme.close)
