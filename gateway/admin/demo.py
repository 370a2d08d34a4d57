"""The demo account of ``smppgw serve --demo`` (the README's quick start)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from gateway.admin import inputs
from gateway.admin.accounts import create_account
from gateway.admin.credits import add_credit
from gateway.admin.errors import AccountTaken
from ledger.models import credits_to_milli
from ledger.store import Store

#: The demo account the README documents (its password is never logged).
DEMO_SYSTEM_ID = "smpp-demo"
DEMO_PASSWORD = "demo1234"  # noqa: S105 — the demo account's published password (README), not a secret
DEMO_SENDER = "SMPPGW"
DEMO_CREDITS = "1000"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """The demo account, and whether this call created it."""

    system_id: str
    created: bool


async def ensure_demo_account(store: Store) -> DemoAccount:
    """Create the demo account with its credit if it is missing (idempotent)."""
    log = structlog.get_logger("smppgw")
    try:
        await create_account(
            store,
            DEMO_SYSTEM_ID,
            password=DEMO_PASSWORD,
            owner="demo",
            contact_email="demo@example.invalid",
            allowed_ips=("127.0.0.0/8", "::1/128"),
            senders=(inputs.sender(5, DEMO_SENDER), inputs.sender(1, "33612345678")),
        )
    except AccountTaken:
        log.info("demo.account_present", system_id=DEMO_SYSTEM_ID)
        return DemoAccount(DEMO_SYSTEM_ID, created=False)
    await add_credit(
        store,
        DEMO_SYSTEM_ID,
        credits_to_milli(DEMO_CREDITS),
        key="demo:initial-credit",
        note="demo account initial credit",
    )
    log.info("demo.account_created", system_id=DEMO_SYSTEM_ID, credits=DEMO_CREDITS)
    return DemoAccount(DEMO_SYSTEM_ID, created=True)
