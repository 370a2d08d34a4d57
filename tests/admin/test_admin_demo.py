"""The demo account of ``serve --demo``: created once with its credit, then left alone."""

from __future__ import annotations

from structlog.testing import capture_logs

from gateway import admin
from gateway.admin.demo import DEMO_PASSWORD, DEMO_SYSTEM_ID, DemoAccount, ensure_demo_account
from ledger.models import EntryKind, Sender
from ledger.passwords import verify_password
from ledger.store import Store


async def test_created_once_with_credit(store: Store) -> None:
    with capture_logs() as logs:
        first = await ensure_demo_account(store)
        again = await ensure_demo_account(store)
    assert first == DemoAccount(DEMO_SYSTEM_ID, created=True)
    assert again == DemoAccount(DEMO_SYSTEM_ID, created=False)
    assert [e["event"] for e in logs] == ["demo.account_created", "demo.account_present"]
    assert DEMO_PASSWORD not in repr(logs)

    account = await admin.show_account(store, DEMO_SYSTEM_ID)
    assert verify_password(DEMO_PASSWORD, account.password_hash)
    assert account.balance == 1_000_000
    assert account.senders == (Sender(5, 0, "SMPPGW"), Sender(1, 1, "33612345678"))
    assert account.allows_address("127.0.0.1") and account.allows_address("::1")
    (entry,) = (await admin.statement(store, DEMO_SYSTEM_ID)).entries
    assert (entry.kind, entry.idempotency_key) == (EntryKind.CREDIT, "demo:initial-credit")
