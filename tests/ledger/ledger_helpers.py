"""Builders shared by the ledger tests (pytest runs with pythonpath ".")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.migrate import load_migrations
from ledger.models import DebitRequest, JournalEntry, NewAccount, OutboundMessage, Sender
from ledger.store import Store

#: A password hash the ledger stores as given (hashing is not under test here).
HASH = "scrypt$16384$8$1$c2FsdA==$ZGlnZXN0"
SENDER = Sender(ton=5, npi=0, address="Shop")


@dataclass
class FakeClock:
    """A clock tests move by hand; calling it returns the current time."""

    now: datetime = field(default_factory=lambda: datetime(2024, 5, 1, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        """Move forward by ``timedelta(**kwargs)``."""
        self.now += timedelta(**kwargs)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment``."""
        self.now = moment


def message(
    message_id: str,
    system_id: str = "smpp-acme",
    *,
    cost: int = 100,
    text: str | None = None,
    destination: str = "447700900123",
    source: str = "Shop",
) -> OutboundMessage:
    """A message whose body (and so idempotency fingerprint) follows ``text``."""
    body = (text if text is not None else f"hello {message_id}").encode()
    return OutboundMessage(
        message_id=message_id,
        system_id=system_id,
        source_addr=source,
        destination_addr=destination,
        segments=1,
        cost=cost,
        registered_delivery=1,
        pdu_body=hashlib.sha256(body).digest() + body,
    )


def request(
    key: str,
    system_id: str = "smpp-acme",
    *,
    cost: int = 100,
    message_id: str | None = None,
    text: str | None = None,
) -> DebitRequest:
    """A debit request; the message id defaults to ``m-<key>``, the text to the key."""
    mid = message_id if message_id is not None else f"m-{key}"
    return DebitRequest(key, message(mid, system_id, cost=cost, text=text or f"text {key}"))


async def make_account(
    store: Store, system_id: str = "smpp-acme", *, balance: int = 0, **kwargs: Any
) -> None:
    """Create an account and, if ``balance``, credit it once."""
    await store.create_account(
        NewAccount(system_id=system_id, password_hash=HASH, senders=(SENDER,), **kwargs)
    )
    if balance:
        await store.credit(system_id, balance, idempotency_key=f"seed:{system_id}")


async def full_journal(store: Store, system_id: str) -> list[JournalEntry]:
    """Every journal entry of an account, oldest (lowest id) first."""
    entries = await store.journal(system_id, limit=1_000_000)
    return list(reversed(entries))


def migrations_from(first: str) -> list[str]:
    """The names of the migrations from ``first`` on, as an upgrade applies them.

    The files themselves are checked once (ordered, paired, no gap but the reserved
    versions) in test_ledger_rules.py; upgrade tests compare with this list so that a new
    migration does not have to be added to each of them.
    """
    names = [m.name for m in load_migrations("sqlite")]
    assert first in names, f"no migration {first}"
    return names[names.index(first) :]
