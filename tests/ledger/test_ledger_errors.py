"""Contract: one error hierarchy. Every error the store raises on purpose is a LedgerError;
the caller's mistakes are InvalidRequest subclasses (and ValueError), on every store."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.errors import (
    BindHeldElsewhere,
    ForeignMessage,
    GatewayNotRegistered,
    InvalidRequest,
    LedgerError,
    RefundRequired,
)
from ledger.models import MessageState, NewReceipt
from ledger.store import Store
from tests.ledger.ledger_helpers import make_account, request


async def test_programming_errors_are_named_ledger_errors(store: Store) -> None:
    await make_account(store, balance=1_000)
    await make_account(store, "smpp-other", balance=1_000)
    [ours, theirs] = await store.debit_batch([request("k1"), request("k2", "smpp-other")])
    kw: dict[str, Any] = {"session_id": "s1", "kind": "receiver", "max_binds": 2}

    with pytest.raises(GatewayNotRegistered) as unregistered:
        await store.acquire_bind("smpp-acme", gateway_id="gw-x", **kw)
    assert unregistered.value.gateway_id == "gw-x"
    with pytest.raises(GatewayNotRegistered):
        await store.adopt_unforwarded("gw-x")
    await store.register_gateway("gw-a", address="x")
    assert await store.acquire_bind("smpp-acme", gateway_id="gw-a", **kw)
    with pytest.raises(BindHeldElsewhere):
        await store.acquire_bind("smpp-other", gateway_id="gw-a", **kw)
    with pytest.raises(RefundRequired):
        await store.set_message_state(ours.message_id, MessageState.REJECTED)
    with pytest.raises(ForeignMessage):
        await store.add_receipts([NewReceipt("smpp-acme", theirs.message_id, b"dr", None, None)])
    calls = [
        store.credit("smpp-acme", 0, idempotency_key="k0"),
        store.debit_batch([request("k9", cost=0)]),
        store.adopt_unforwarded("gw-a", limit=0),
        store.claim_receipts("smpp-acme", gateway_id=""),
        store.receipts_delivered(["1"]),  # type: ignore[list-item]
        store.register_gateway("", address="x"),
    ]
    for call in calls:
        with pytest.raises(InvalidRequest) as caught:
            await call
        # One ``except LedgerError`` covers them, and they stay ValueErrors.
        assert isinstance(caught.value, LedgerError)
        assert isinstance(caught.value, ValueError)
    assert (await store.get_account("smpp-acme")).balance == 900  # nothing was written
