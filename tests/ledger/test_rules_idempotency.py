"""The idempotency fingerprint: its digest must never change (journal rows store it)."""

from __future__ import annotations

import hashlib

from ledger.rules.idempotency import debit_fingerprint, fingerprint
from tests.ledger.ledger_helpers import message


def _reference(*parts: str | bytes) -> str:
    # The definition: sha256 over each part's 8-byte big-endian length, then the part.
    h = hashlib.sha256()
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(raw).to_bytes(8, "big"))
        h.update(raw)
    return h.hexdigest()


def test_fingerprint_is_the_length_prefixed_sha256() -> None:
    for parts in [(), ("",), ("ab", "c"), ("a", "bc"), ("débit", b"\x00\xff" * 300)]:
        assert fingerprint(*parts) == _reference(*parts)
    assert fingerprint("ab", "c") != fingerprint("a", "bc")


def test_debit_fingerprint_of_a_stored_row_is_unchanged() -> None:
    # A value computed by the per-part implementation before it was rewritten: a replay
    # of a message debited then must still be recognised.
    m = message("m-1", text="hello")
    assert debit_fingerprint(m) == _reference(
        "debit", m.system_id, str(m.cost), m.source_addr, m.destination_addr, m.pdu_body
    )
    assert debit_fingerprint(m) == (
        "ee3083833a873f8e1884edc275d2f90a67e67425fbbb3d90afe836648bb91e1e"
    )
