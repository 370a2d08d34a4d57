"""Delivery receipt PDUs: the one place that builds, reads, rewrites and stores them. Pure.

Receipts pass through the gateway in three shapes, each handled here:

- receipts we make: ``receipt_pdu`` (REJECTD for a message the upstream refused, and the
  built-in simulator's receipts);
- receipts the upstream sends: ``read_upstream_receipt`` finds the upstream's id and the
  stat (text first, TLVs as a fallback), ``client_receipt`` rewrites the PDU under our
  message id for the client;
- stored receipts: the ledger keeps a deliver_sm body, not a frame (``stored_body``), and
  ``from_stored_body`` turns it back into a PDU to push.

Every receipt a client gets carries the standard Appendix B text (``receipts.py``) and the
receipted_message_id and message_state TLVs (SMPP 3.4 §5.2.28-29), whatever the upstream's
dialect was.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import NamedTuple

from gateway.delivery.receipts import (
    Receipt,
    ReceiptParseError,
    format_receipt,
    message_state_for,
    new_receipt,
    parse_receipt,
    stat_for_state,
)
from gateway.smpp import (
    ESM_CLASS_DELIVERY_RECEIPT,
    HEADER,
    HEADER_SIZE,
    CommandId,
    DeliverSm,
    Tag,
    Tlv,
    decode,
)

#: The TLVs every receipt we send carries; an upstream's own copies are replaced.
_RECEIPT_TAGS = (Tag.RECEIPTED_MESSAGE_ID, Tag.MESSAGE_STATE)


class Address(NamedTuple):
    """An SMPP address: type of number, numbering plan indicator, digits or name."""

    ton: int
    npi: int
    addr: str


class UpstreamReceipt(NamedTuple):
    """What an upstream's receipt says: its id for the message (None if it gives none),
    the stat word, and the parsed text when the text could be parsed."""

    upstream_id: str | None
    stat: str
    parsed: Receipt | None


def receipt_tlvs(message_id: str, stat: str) -> tuple[Tlv, Tlv]:
    """receipted_message_id and message_state, which every receipt we send carries."""
    return (
        Tlv(Tag.RECEIPTED_MESSAGE_ID, message_id.encode("ascii") + b"\x00"),
        Tlv(Tag.MESSAGE_STATE, bytes((message_state_for(stat),))),
    )


def receipt_pdu(
    message_id: str, stat: str, *, source: Address, destination: Address, text: str = ""
) -> DeliverSm:
    """A new receipt for ``message_id`` reaching ``stat`` now.

    ``source`` is the handset the message went to and ``destination`` the sender it came
    from: a receipt travels back the way the message came.
    """
    return DeliverSm(
        sequence_number=0,
        source_addr_ton=source.ton,
        source_addr_npi=source.npi,
        source_addr=source.addr,
        dest_addr_ton=destination.ton,
        dest_addr_npi=destination.npi,
        destination_addr=destination.addr,
        esm_class=ESM_CLASS_DELIVERY_RECEIPT,
        short_message=format_receipt(new_receipt(message_id, stat, text=text)).encode("latin-1"),
        tlvs=receipt_tlvs(message_id, stat),
    )


def read_upstream_receipt(pdu: DeliverSm) -> UpstreamReceipt:
    """The upstream's id and stat from a receipt deliver_sm.

    The receipted_message_id TLV names the id when present, else the text's ``id:``; the
    stat comes from the text when it parses, else from the message_state TLV, else it is
    UNKNOWN.
    """
    parsed: Receipt | None
    try:
        parsed = parse_receipt(pdu.short_message)
    except ReceiptParseError:
        parsed = None
    tlv_id = pdu.tlv(Tag.RECEIPTED_MESSAGE_ID)
    upstream_id = _cstring(tlv_id) if tlv_id else (parsed.id if parsed else None)
    if parsed is not None:
        stat = parsed.stat
    else:
        tlv_state = pdu.tlv(Tag.MESSAGE_STATE)
        stat = stat_for_state(tlv_state[0]) if tlv_state else "UNKNOWN"
    return UpstreamReceipt(upstream_id, stat, parsed)


def client_receipt(pdu: DeliverSm, receipt: UpstreamReceipt, message_id: str) -> DeliverSm:
    """The upstream's receipt ``pdu`` rewritten for our client under ``message_id``.

    The text is rewritten in the standard form (its fields kept when it could be parsed)
    and the two receipt TLVs replaced; every other field and TLV is kept as it came.
    """
    if receipt.parsed is None:
        text = new_receipt(message_id, receipt.stat)
    else:
        # Upstreams omit dates now and then; the standard form needs both.
        now = datetime.now(UTC)
        text = replace(
            receipt.parsed,
            id=message_id,
            submit_date=receipt.parsed.submit_date or now,
            done_date=receipt.parsed.done_date or now,
        )
    kept = (t for t in pdu.tlvs if t.tag not in _RECEIPT_TAGS)
    return replace(
        pdu,
        sequence_number=0,
        short_message=format_receipt(text).encode("latin-1"),
        tlvs=(*kept, *receipt_tlvs(message_id, receipt.stat)),
    )


def stored_body(pdu: DeliverSm) -> bytes:
    """What the ledger keeps of a receipt: the deliver_sm body, without a header."""
    return pdu.body()


def from_stored_body(body: bytes) -> DeliverSm:
    """The receipt deliver_sm whose body the ledger kept (``stored_body``)."""
    frame = HEADER.pack(HEADER_SIZE + len(body), CommandId.DELIVER_SM, 0, 0) + body
    pdu = decode(frame)
    assert isinstance(pdu, DeliverSm)
    return pdu


def _cstring(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("latin-1")


__all__ = [
    "Address",
    "UpstreamReceipt",
    "client_receipt",
    "from_stored_body",
    "read_upstream_receipt",
    "receipt_pdu",
    "receipt_tlvs",
    "stored_body",
]
