"""An HTTP send as the submit_sm an ESME would send: coding, sender, PDU form (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.policy.jobs import encode_text, sender_of, submit_pdu
from gateway.policy.pricing import DC_DEFAULT, DC_UCS2, quote
from gateway.policy.tariff import Rate, Tariff
from gateway.smpp import SubmitSm, Tag, Tlv, codec
from ledger.models import Account, AccountStatus, Sender

TARIFF = Tariff([Rate("33", "FR", 1000)])


def account(*senders: Sender) -> Account:
    """An account with these senders (nothing else matters here)."""
    return Account(
        system_id="smpp-a",
        owner="",
        contact_email="",
        status=AccountStatus.ACTIVE,
        balance=0,
        password_hash="x",
        allowed_ips=(),
        senders=senders,
        recharge=None,
        max_binds=1,
        throughput=0,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("text", "coding", "expected"),
    [
        ("hello", None, (DC_DEFAULT, b"hello")),
        ("héllo €", None, (DC_DEFAULT, b"h\x05llo \x1be")),  # é is basic, € an escape pair
        ("hello", "gsm7", (DC_DEFAULT, b"hello")),
        ("привет", None, (DC_UCS2, "привет".encode("utf-16-be"))),
        ("hello", "ucs2", (DC_UCS2, b"\x00h\x00e\x00l\x00l\x00o")),
        ("😀", None, (DC_UCS2, b"\xd8\x3d\xde\x00")),
    ],
)
def test_encode_text(text: str, coding: str | None, expected: tuple[int, bytes]) -> None:
    assert encode_text(text, coding) == expected


def test_encode_text_refuses_what_gsm7_cannot_carry_and_unknown_codings() -> None:
    with pytest.raises(ValueError, match=r"'п' is not in GSM 03\.38"):
        encode_text("привет", "gsm7")
    with pytest.raises(ValueError, match="coding is one of gsm7, ucs2"):
        encode_text("hello", "latin1")


def test_sender_of_takes_the_registered_triple_else_the_form() -> None:
    shop = account(Sender(5, 0, "MyShop"), Sender(1, 1, "33612345678"), Sender(3, 0, "12345"))
    assert sender_of(shop, "MyShop") == (5, 0)
    assert sender_of(shop, "33612345678") == (1, 1)
    assert sender_of(shop, "12345") == (3, 0)
    # Not registered: the TON of the form, for the Submitter to refuse as it would.
    assert sender_of(shop, "Other") == (5, 0)
    assert sender_of(shop, "4567") == (3, 0)
    assert sender_of(shop, "447911123456") == (1, 1)


def test_a_short_text_is_short_message_and_survives_the_codec() -> None:
    pdu = submit_pdu(sender=(5, 0, "MyShop"), receiver="33612345678", data_coding=0, content=b"hi")
    assert (pdu.short_message, pdu.tlvs, pdu.registered_delivery) == (b"hi", (), 0)
    assert (pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.esm_class) == (1, 1, 0)
    decoded = codec.decode(codec.encode(pdu))
    assert decoded == pdu


def test_a_long_text_goes_in_message_payload_and_costs_what_parts_cost() -> None:
    content = b"a" * 400
    pdu = submit_pdu(
        sender=(5, 0, "MyShop"),
        receiver="33612345678",
        data_coding=0,
        content=content,
        receipt=True,
    )
    assert (pdu.short_message, pdu.tlv(Tag.MESSAGE_PAYLOAD), pdu.registered_delivery) == (
        b"",
        content,
        1,
    )
    assert codec.decode(codec.encode(pdu)) == pdu
    # What an ESME sending the same payload pays: 3 parts of 153 septets.
    esme = SubmitSm(
        sequence_number=9,
        source_addr_ton=5,
        source_addr="MyShop",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="33612345678",
        tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, content),),
    )
    assert quote(pdu, TARIFF) == quote(esme, TARIFF)
    assert quote(pdu, TARIFF).segments == 3


def test_254_octets_still_fit_short_message() -> None:
    pdu = submit_pdu(
        sender=(5, 0, "S"), receiver="33612345678", data_coding=8, content=b"\0a" * 127
    )
    assert len(pdu.short_message) == 254 and pdu.tlvs == ()
    assert codec.decode(codec.encode(pdu)) == pdu
