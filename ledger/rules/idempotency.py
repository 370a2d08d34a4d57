"""Idempotency: every movement has a key, and a key stands for one request body.

A key seen again with the same body is a replay (the original result, nothing written);
with another body it is a conflict. The body is compared through a fingerprint (sha256 of
its length-prefixed parts) stored with the journal row. Movements a request causes on
its own (the auto-recharge of a debit, the refund of a message) get keys derived from
the request's, with the prefixes below, so they are exactly-once too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ledger.models import DebitRequest, EntryKind, OutboundMessage

#: Prefix of the idempotency key of a recharge fired by the debit whose key follows it.
RECHARGE_KEY_PREFIX = "recharge:"
#: Prefix of the idempotency key of the refund of the message whose id follows it.
REFUND_KEY_PREFIX = "refund:"
#: Prefix of the key of a transfer's entry on the target; the source's entry has the
#: transfer's own key.
TRANSFER_IN_KEY_PREFIX = "transfer-in:"


def fingerprint(*parts: str | bytes) -> str:
    """sha256 of ``parts``, length-prefixed so ("ab", "c") and ("a", "bc") differ."""
    chunks: list[bytes] = []
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        chunks.append(len(raw).to_bytes(8, "big"))
        chunks.append(raw)
    # One update of the joined parts: the same digest as an update per part, at half
    # the cost (a debit computes one per message on the hot path).
    return hashlib.sha256(b"".join(chunks)).hexdigest()


def debit_fingerprint(message: OutboundMessage) -> str:
    """Identity of a debit's body: account, cost, addresses and PDU body, NOT message_id.

    A client that resubmits after a lost response gets a new message_id from the gateway
    but sends the same content, so the message_id must not be part of the body. Nor is
    the owner: the retry may arrive through another gateway, and is still a replay.
    """
    return fingerprint(
        "debit",
        message.system_id,
        str(message.cost),
        message.source_addr,
        message.destination_addr,
        message.pdu_body,
    )


def credit_fingerprint(system_id: str, kind: EntryKind, amount: int) -> str:
    """Identity of a manual credit's body (the note is commentary, not body)."""
    return fingerprint("credit", system_id, kind.value, str(amount))


def recharge_fingerprint(system_id: str, amount: int) -> str:
    """Identity of an automatic recharge's body."""
    return fingerprint("recharge", system_id, str(amount))


def refund_fingerprint(message_id: str) -> str:
    """Identity of a refund's body: the message it gives back."""
    return fingerprint("refund", message_id)


def transfer_fingerprint(source: str, target: str, amount: int) -> str:
    """Identity of a transfer's body, shared by its two entries (the note is commentary)."""
    return fingerprint("transfer", source, target, str(amount))


def transfer_in_key(transfer_key: str) -> str:
    """The key of the target's entry of the transfer with ``transfer_key``."""
    return TRANSFER_IN_KEY_PREFIX + transfer_key


def recharge_key(debit_key: str) -> str:
    """The key of the recharge the debit with ``debit_key`` may fire."""
    return RECHARGE_KEY_PREFIX + debit_key


def refund_key(message_id: str) -> str:
    """The key of the refund of ``message_id`` (one refund per message, ever)."""
    return REFUND_KEY_PREFIX + message_id


def debit_lookup_keys(requests: Sequence[DebitRequest]) -> list[str]:
    """The journal keys a batch must look up: each request's key and its recharge key."""
    keys: list[str] = []
    for req in requests:
        keys.append(req.idempotency_key)
        keys.append(RECHARGE_KEY_PREFIX + req.idempotency_key)
    return keys
