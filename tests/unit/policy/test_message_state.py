"""query_sm's message_state of each ledger state and outcome (pure, table-tested)."""

from __future__ import annotations

import pytest

from gateway.delivery.receipt_pdus import Address, receipt_pdu, stored_body
from gateway.policy.message_state import SmppState, is_final, needs_outcome, smpp_state
from gateway.smpp import DeliverSm, Tag, Tlv
from ledger.models import MessageState
from ledger.models.outcome import MessageOutcome

L = MessageState


def _receipt(stat: str) -> bytes:
    pdu = receipt_pdu(
        "M1", stat, source=Address(1, 1, "33612345678"), destination=Address(0, 0, "X")
    )
    return stored_body(pdu)


def _refunded(note: str | None) -> MessageOutcome:
    return MessageOutcome(refund_note=note, receipt_body=None)


@pytest.mark.parametrize(
    ("state", "outcome", "expected"),
    [
        (L.ACCEPTED, None, SmppState.ENROUTE),
        (L.FORWARDED, None, SmppState.ENROUTE),
        (L.DELIVERED, None, SmppState.DELIVERED),
        # Refunded: the refund's reason tells which.
        (L.REJECTED, _refunded("cancel_sm"), SmppState.DELETED),
        (L.REJECTED, _refunded("expired"), SmppState.EXPIRED),
        (L.REJECTED, _refunded("upstream main 0x45"), SmppState.REJECTED),
        (L.REJECTED, _refunded("undelivered EXPIRED"), SmppState.EXPIRED),
        (L.REJECTED, _refunded("undelivered UNDELIV"), SmppState.UNDELIVERABLE),
        (L.REJECTED, _refunded("undelivered REJECTD"), SmppState.REJECTED),
        (L.REJECTED, _refunded("undelivered WEIRD"), SmppState.UNDELIVERABLE),
        (L.REJECTED, _refunded(None), SmppState.REJECTED),
        (L.REJECTED, None, SmppState.REJECTED),
        # Failed: the final receipt's message_state.
        (L.FAILED, MessageOutcome(None, _receipt("EXPIRED")), SmppState.EXPIRED),
        (L.FAILED, MessageOutcome(None, _receipt("DELETED")), SmppState.DELETED),
        (L.FAILED, MessageOutcome(None, _receipt("UNDELIV")), SmppState.UNDELIVERABLE),
        (L.FAILED, MessageOutcome(None, _receipt("ACCEPTD")), SmppState.ACCEPTED),
        (L.FAILED, MessageOutcome(None, _receipt("UNKNOWN")), SmppState.UNKNOWN),
        (L.FAILED, MessageOutcome(None, _receipt("REJECTD")), SmppState.REJECTED),
        (L.FAILED, MessageOutcome(None, None), SmppState.UNDELIVERABLE),
        (L.FAILED, MessageOutcome(None, b"\x00garbage"), SmppState.UNDELIVERABLE),
        (L.FAILED, None, SmppState.UNDELIVERABLE),
    ],
)
def test_message_state(state: MessageState, outcome: MessageOutcome | None, expected: int) -> None:
    assert smpp_state(state, outcome) == expected


def test_a_receipt_with_an_out_of_range_state_is_undeliverable() -> None:
    pdu = DeliverSm(sequence_number=0, tlvs=(Tlv(Tag.MESSAGE_STATE, b"\x09"),))
    outcome = MessageOutcome(None, stored_body(pdu))
    assert smpp_state(L.FAILED, outcome) == SmppState.UNDELIVERABLE


def test_only_refunded_and_failed_messages_need_their_outcome_read() -> None:
    assert [s for s in L if needs_outcome(s)] == [L.FAILED, L.REJECTED]
    assert [s for s in L if not is_final(s)] == [L.ACCEPTED, L.FORWARDED]
