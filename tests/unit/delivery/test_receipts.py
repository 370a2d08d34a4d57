"""Delivery receipts: dialects seen in the wild, the standard form, states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.delivery.receipts import (
    MAX_TEXT,
    STAT_WORDS,
    MessageState,
    Receipt,
    ReceiptParseError,
    format_receipt,
    is_final,
    message_state_for,
    parse_receipt,
)

T0 = datetime(2024, 1, 31, 12, 0)
T1 = datetime(2024, 1, 31, 12, 1)
STANDARD = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2401311200 done date:2401311201 "
    "stat:DELIVRD err:000 text:Hello world"
)


def test_standard_form() -> None:
    r = parse_receipt(STANDARD)
    assert r == Receipt("0123456789", 1, 1, T0, T1, "DELIVRD", "000", "Hello world")
    assert format_receipt(r) == STANDARD
    assert r.message_state == MessageState.DELIVERED
    assert r.is_final


# Variants written after the dialects upstreams are known to send (none copied).
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Bytes, as they come out of deliver_sm.short_message.
        (STANDARD.encode(), Receipt("0123456789", 1, 1, T0, T1, "DELIVRD", "000", "Hello world")),
        # Dates with seconds.
        (
            "id:42 sub:001 dlvrd:001 submit date:240131120005 done date:240131120107 "
            "stat:DELIVRD err:000 text:x",
            Receipt("42", 1, 1, T0.replace(second=5), T1.replace(second=7), "DELIVRD", "000", "x"),
        ),
        # Hex id, lower-case keys and stat, no text: part.
        (
            "id:7f3a9c0b sub:001 dlvrd:000 submit date:2401311200 done date:2401311201 "
            "stat:undeliv err:001",
            Receipt("7f3a9c0b", 1, 0, T0, T1, "UNDELIV", "001", ""),
        ),
        # Upper-case keys, fields in another order, underscores in the date keys.
        (
            "STAT:EXPIRED ERR:027 ID:9000000001 DONE_DATE:2401311201 SUBMIT_DATE:2401311200 "
            "SUB:1 DLVRD:0",
            Receipt("9000000001", 1, 0, T0, T1, "EXPIRED", "027", ""),
        ),
        # Extra spaces around ':' and between fields, short err, trailing NUL and CRLF.
        (
            "id: 55  sub: 001   dlvrd : 001 submit date : 2401311200  done date:2401311201 "
            " stat : DELIVRD  err: 0  text : hi there \x00\r\n",
            Receipt("55", 1, 1, T0, T1, "DELIVRD", "0", "hi there"),
        ),
        # Long stat word, submitdate without space.
        (
            "id:1 submitdate:2401311200 donedate:2401311201 stat:DELIVERED err:000",
            Receipt("1", 1, 1, T0, T1, "DELIVRD", "000", ""),
        ),
        # Only id and stat: sub defaults to 1, dlvrd follows the stat, dates unknown.
        ("id:abc stat:REJECTD", Receipt("abc", 1, 0, None, None, "REJECTD", "000", "")),
        ("id:abc stat:DELIVRD", Receipt("abc", 1, 1, None, None, "DELIVRD", "000", "")),
        # text: before stat: (some upstreams); the text stops at the first new key.
        (
            "id:8 sub:001 dlvrd:001 text:Your code is 1234 submit date:2401311200 "
            "done date:2401311201 stat:DELIVRD err:000",
            Receipt("8", 1, 1, T0, T1, "DELIVRD", "000", "Your code is 1234"),
        ),
        # A text holding key-like words is not cut: id: and stat: were already read.
        (
            "id:9 sub:001 dlvrd:001 submit date:2401311200 done date:2401311201 "
            "stat:DELIVRD err:000 text:order id: 77 stat: ok",
            Receipt("9", 1, 1, T0, T1, "DELIVRD", "000", "order id: 77 stat: ok"),
        ),
        # Impossible dates are unknown rather than fatal.
        (
            "id:3 submit date:2413321200 done date:24013112 stat:DELIVRD",
            Receipt("3", 1, 1, None, None, "DELIVRD", "000", ""),
        ),
        # Vendor intermediate state.
        ("id:4 stat:BUFFRED err:000", Receipt("4", 1, 0, None, None, "BUFFRED", "000", "")),
        # Latin-1 octets in the text field are kept one character per octet.
        (
            b"id:5 stat:DELIVRD text:caf\xe9",
            Receipt("5", 1, 1, None, None, "DELIVRD", "000", "café"),
        ),
    ],
)
def test_parse_variants(raw: str | bytes, expected: Receipt) -> None:
    assert parse_receipt(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "hello, this is not a receipt",
        "sub:001 dlvrd:001 stat:DELIVRD",  # no id
        "id:123 sub:001 dlvrd:001 err:000",  # no stat
        "id: stat:DELIVRD",  # empty id
        "identifier:12 stat:DELIVRD",
    ],
)
def test_unusable_text_is_an_error(raw: str) -> None:
    with pytest.raises(ReceiptParseError):
        parse_receipt(raw)


def test_format_cuts_text_and_pads_numbers() -> None:
    r = Receipt("X1", 2, 1, T0, T1, "UNDELIV", "1", "a" * 30)
    assert format_receipt(r) == (
        "id:X1 sub:002 dlvrd:001 submit date:2401311200 done date:2401311201 "
        f"stat:UNDELIV err:001 text:{'a' * MAX_TEXT}"
    )


def test_format_drops_seconds_and_zone() -> None:
    aware = datetime(2024, 1, 31, 12, 0, 59, tzinfo=UTC)
    text = format_receipt(Receipt("1", 1, 1, aware, aware, "DELIVRD", "000", ""))
    assert "submit date:2401311200 done date:2401311200 " in text


def test_format_writes_the_known_date_for_a_missing_one() -> None:
    only_done = format_receipt(Receipt("1", 1, 1, None, T1, "DELIVRD", "000", ""))
    assert "submit date:2401311201 done date:2401311201 " in only_done
    only_submit = format_receipt(Receipt("1", 1, 1, T0, None, "DELIVRD", "000", ""))
    assert "submit date:2401311200 done date:2401311200 " in only_submit


def test_format_needs_a_date() -> None:
    with pytest.raises(ValueError, match="submit_date or done_date"):
        format_receipt(Receipt("1", 1, 1, None, None, "DELIVRD", "000", ""))


_ids = st.from_regex(r"[0-9A-Za-z]{1,64}", fullmatch=True)
_dates = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
# Text as format_receipt leaves it: at most 20 characters, no surrounding whitespace.
_texts = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=MAX_TEXT
).map(str.strip)


@given(
    rid=_ids,
    sub=st.integers(0, 999),
    dlvrd=st.integers(0, 999),
    submit_date=_dates,
    done_date=_dates,
    stat=st.sampled_from(STAT_WORDS),
    err=st.integers(0, 999).map(lambda n: f"{n:03d}"),
    text=_texts,
)
def test_format_then_parse_round_trips(
    rid: str,
    sub: int,
    dlvrd: int,
    submit_date: datetime,
    done_date: datetime,
    stat: str,
    err: str,
    text: str,
) -> None:
    r = Receipt(rid, sub, dlvrd, submit_date, done_date, stat, err, text)
    assert parse_receipt(format_receipt(r)) == r
    assert parse_receipt(format_receipt(r).encode("latin-1")) == r


@pytest.mark.parametrize(
    ("stat", "state", "final"),
    [
        ("ENROUTE", MessageState.ENROUTE, False),
        ("DELIVRD", MessageState.DELIVERED, True),
        ("EXPIRED", MessageState.EXPIRED, True),
        ("DELETED", MessageState.DELETED, True),
        ("UNDELIV", MessageState.UNDELIVERABLE, True),
        ("ACCEPTD", MessageState.ACCEPTED, True),
        ("UNKNOWN", MessageState.UNKNOWN, True),
        ("REJECTD", MessageState.REJECTED, True),
        ("delivrd", MessageState.DELIVERED, True),
        (" DELIVERED ", MessageState.DELIVERED, True),
        ("UNDELIVERABLE", MessageState.UNDELIVERABLE, True),
        ("FAILED", MessageState.UNDELIVERABLE, True),
        ("REJECTED", MessageState.REJECTED, True),
        ("BUFFRED", MessageState.ENROUTE, False),
        ("scheduled", MessageState.ENROUTE, False),
        ("WHATEVER", MessageState.UNKNOWN, True),
    ],
)
def test_states(stat: str, state: MessageState, final: bool) -> None:
    assert message_state_for(stat) == state
    assert is_final(stat) is final


def test_message_state_values_match_smpp() -> None:
    assert [(s.name, s.value) for s in MessageState] == [
        ("ENROUTE", 1),
        ("DELIVERED", 2),
        ("EXPIRED", 3),
        ("DELETED", 4),
        ("UNDELIVERABLE", 5),
        ("ACCEPTED", 6),
        ("UNKNOWN", 7),
        ("REJECTED", 8),
    ]


def test_stat_for_state_inverts_message_state_for() -> None:
    from gateway.delivery.receipts import STAT_WORDS, message_state_for, stat_for_state

    for word in STAT_WORDS:
        assert stat_for_state(message_state_for(word)) == word
    assert stat_for_state(99) == "UNKNOWN"


def test_new_receipt_formats_and_parses_back() -> None:
    from gateway.delivery.receipt_pdus import receipt_tlvs
    from gateway.delivery.receipts import format_receipt, new_receipt, parse_receipt
    from gateway.smpp import Tag

    failed = parse_receipt(format_receipt(new_receipt("abc123", "UNDELIV", text="hello")))
    assert (failed.id, failed.stat, failed.dlvrd, failed.err, failed.text) == (
        "abc123",
        "UNDELIV",
        0,
        "001",
        "hello",
    )
    ok = new_receipt("abc123", "DELIVRD")
    assert (ok.dlvrd, ok.err) == (1, "000")
    rid, state = receipt_tlvs("abc123", "DELIVRD")
    assert (rid.tag, rid.value) == (Tag.RECEIPTED_MESSAGE_ID, b"abc123\x00")
    assert (state.tag, state.value) == (Tag.MESSAGE_STATE, b"\x02")
