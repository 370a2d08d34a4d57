"""After a crash: compare what clients were told with the ledger and with the upstream."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence

from ledger import Store
from ledger.models import EntryKind, MessageState


async def assert_nothing_lost(
    store: Store,
    system_id: str,
    acked: Mapping[bytes, str],
    upstream_received: Sequence[bytes],
    *,
    max_resent: int,
) -> None:
    """The crash-matrix promises, given ``acked`` (text -> message id of every ESME_ROK).

    Waits for the outbox to drain, then: every acknowledged message has exactly one
    debit; every debit has its message row, forwarded; balances equal journal sums; the
    upstream received every acknowledged text, and at most ``max_resent`` twice
    (at-least-once: only what was in flight when a gateway died).
    """
    for _ in range(500):
        if not await store.unforwarded(limit=1):
            break
        await asyncio.sleep(0.02)
    assert await store.unforwarded(limit=1) == [], "the outbox drained"
    journal = await store.journal(system_id, limit=10_000_000)
    debits = Counter(e.message_id for e in journal if e.kind == EntryKind.DEBIT)
    for text, mid in acked.items():
        assert debits[mid] == 1, f"{text!r} acknowledged as {mid}: exactly one debit"
    for mid in debits:  # no debit without its message row (they share a transaction)
        record = await store.get_message(mid)
        assert record.state in (MessageState.FORWARDED, MessageState.DELIVERED)
    assert await store.audit() == []
    seen = Counter(upstream_received)
    missing = [t for t in acked if seen[t] == 0]
    assert missing == [], f"acknowledged but never forwarded: {missing[:5]}"
    resent = sum(c - 1 for c in seen.values() if c > 1)
    assert resent <= max_resent, f"{resent} sent twice upstream"
