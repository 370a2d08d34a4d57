"""delivery.receipt_pdus: receipts we make, upstream receipts read and rewritten, stored bodies."""

from __future__ import annotations

from gateway.delivery.receipt_pdus import (
    Address,
    client_receipt,
    from_stored_body,
    read_upstream_receipt,
    receipt_pdu,
    receipt_tlvs,
    stored_body,
)
from gateway.delivery.receipts import parse_receipt
from gateway.smpp import ESM_CLASS_DELIVERY_RECEIPT, DeliverSm, Tag, Tlv

UPSTREAM_TEXT = (
    b"id:ab12 sub:001 dlvrd:001 submit date:2401311200 done date:2401311201 "
    b"stat:DELIVRD err:000 text:Hello"
)


def _upstream(text: bytes, *tlvs: Tlv) -> DeliverSm:
    return DeliverSm(
        sequence_number=77,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="33612345678",
        destination_addr="SMPPGW",
        esm_class=ESM_CLASS_DELIVERY_RECEIPT,
        short_message=text,
        tlvs=tlvs,
    )


def test_receipt_pdu_travels_back_the_way_the_message_came() -> None:
    pdu = receipt_pdu(
        "m1",
        "REJECTD",
        source=Address(1, 1, "33612345678"),
        destination=Address(5, 0, "SMPPGW"),
        text="hi",
    )
    assert (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr) == (1, 1, "33612345678")
    assert (pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr) == (5, 0, "SMPPGW")
    assert pdu.is_receipt and pdu.sequence_number == 0
    text = parse_receipt(pdu.short_message)
    assert (text.id, text.stat, text.text) == ("m1", "REJECTD", "hi")
    assert pdu.tlvs == receipt_tlvs("m1", "REJECTD")


def test_read_prefers_the_tlv_id_and_the_text_stat() -> None:
    pdu = _upstream(
        UPSTREAM_TEXT, Tlv(Tag.RECEIPTED_MESSAGE_ID, b"AB12\x00"), *receipt_tlvs("x", "ENROUTE")[1:]
    )
    receipt = read_upstream_receipt(pdu)
    assert receipt.upstream_id == "AB12"
    assert receipt.stat == "DELIVRD"
    assert receipt.parsed is not None and receipt.parsed.text == "Hello"


def test_read_falls_back_to_the_text_id_then_the_state_tlv() -> None:
    assert read_upstream_receipt(_upstream(UPSTREAM_TEXT)).upstream_id == "ab12"
    only_tlvs = _upstream(b"garbage", *receipt_tlvs("u9", "UNDELIV"))
    receipt = read_upstream_receipt(only_tlvs)
    assert (receipt.upstream_id, receipt.stat, receipt.parsed) == ("u9", "UNDELIV", None)
    nothing = read_upstream_receipt(_upstream(b"garbage"))
    assert (nothing.upstream_id, nothing.stat) == (None, "UNKNOWN")


def test_client_receipt_is_rewritten_under_our_id_keeping_the_rest() -> None:
    other = Tlv(Tag.NETWORK_ERROR_CODE, b"\x03\x00\x01")
    pdu = _upstream(UPSTREAM_TEXT, other, *receipt_tlvs("ab12", "DELIVRD"))
    ours = client_receipt(pdu, read_upstream_receipt(pdu), "our-id")
    text = parse_receipt(ours.short_message)
    assert (text.id, text.stat, text.text) == ("our-id", "DELIVRD", "Hello")
    assert ours.sequence_number == 0
    assert ours.tlvs == (other, *receipt_tlvs("our-id", "DELIVRD"))
    assert (ours.source_addr, ours.destination_addr) == (pdu.source_addr, pdu.destination_addr)


def test_client_receipt_fills_missing_dates_and_unparsable_text() -> None:
    no_dates = _upstream(b"id:ab12 stat:EXPIRED")
    text = parse_receipt(
        client_receipt(no_dates, read_upstream_receipt(no_dates), "m").short_message
    )
    assert text.submit_date is not None and text.done_date is not None
    assert text.stat == "EXPIRED"
    opaque = _upstream(b"\x00\x01", *receipt_tlvs("u1", "DELIVRD"))
    rebuilt = parse_receipt(
        client_receipt(opaque, read_upstream_receipt(opaque), "m").short_message
    )
    assert (rebuilt.id, rebuilt.stat) == ("m", "DELIVRD")


def test_stored_bodies_come_back_as_the_same_pdu() -> None:
    pdu = receipt_pdu("m1", "DELIVRD", source=Address(1, 1, "1"), destination=Address(0, 0, "2"))
    assert from_stored_body(stored_body(pdu)) == pdu
