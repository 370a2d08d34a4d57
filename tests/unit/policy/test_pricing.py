"""Segments and prices: every boundary, every refusal, and the same price however a long
text is sent (UDH parts, SAR parts or one message_payload)."""

from __future__ import annotations

import struct

import gsm0338
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from gateway.policy.pricing import (
    MAX_PARTS,
    PricingError,
    Quote,
    count_segments,
    quote,
)
from gateway.policy.tariff import Rate, Tariff
from gateway.smpp import CommandStatus, SubmitSm, Tag, Tlv

S = CommandStatus
GSM = gsm0338.Codec()
TARIFF = Tariff(
    [
        Rate("33", "FR", 1000),
        Rate("44", "GB", 500),
        Rate("91", "IN", 100),
        Rate("1", "US CA", 500),
        Rate("1876", "JM", 1200),
    ]
)
FRANCE, UK, INDIA = "33612345678", "447911123456", "919876543210"
EURO = "€".encode("gsm03.38")  # ESC 0x65
assert EURO == b"\x1b\x65"


def gsm(text: str) -> bytes:
    return bytes(GSM.encode(text)[0])


def ucs2(text: str) -> bytes:
    return text.encode("utf-16-be")


def submit(
    content: bytes = b"",
    *,
    dc: int = 0,
    dest: str = FRANCE,
    esm_class: int = 0,
    tlvs: tuple[Tlv, ...] = (),
) -> SubmitSm:
    return SubmitSm(
        sequence_number=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=dest,
        esm_class=esm_class,
        data_coding=dc,
        short_message=content,
        tlvs=tlvs,
    )


def payload(content: bytes, **kw: object) -> SubmitSm:
    return submit(b"", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, content),), **kw)  # type: ignore[arg-type]


def udh8(ref: int, total: int, seq: int) -> bytes:
    return bytes((0x05, 0x00, 0x03, ref, total, seq))


def udh16(ref: int, total: int, seq: int) -> bytes:
    return bytes((0x06, 0x08, 0x04)) + struct.pack(">H", ref) + bytes((total, seq))


def sar(ref: int, total: int, seq: int) -> tuple[Tlv, ...]:
    return (
        Tlv(Tag.SAR_MSG_REF_NUM, struct.pack(">H", ref)),
        Tlv(Tag.SAR_TOTAL_SEGMENTS, bytes((total,))),
        Tlv(Tag.SAR_SEGMENT_SEQNUM, bytes((seq,))),
    )


#: UDH with 16-bit port addressing then an 8-bit-reference concatenation IE: 12 octets.
PORTS_AND_CONCAT = b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x01\x02\x01"


def refusal(pdu: SubmitSm, **kw: int) -> CommandStatus:
    with pytest.raises(PricingError) as info:
        quote(pdu, TARIFF, **kw)
    return info.value.status


# ---------------------------------------------------------------------------------------
# Boundaries


@pytest.mark.parametrize(
    ("content", "dc", "segments"),
    [
        # GSM 03.38, one septet per octet: 160 single, 153 per part.
        (b"", 0, 1),
        (b"a", 0, 1),
        (b"a" * 160, 0, 1),
        (b"a" * 161, 0, 2),
        (b"a" * 306, 0, 2),
        (b"a" * 307, 0, 3),
        (b"a" * 459, 0, 3),
        (b"a" * 460, 0, 4),
        (b"a" * 918, 0, 6),
        (b"a" * 919, 0, 7),
        (b"a" * 153 * 255, 0, 255),
        # Extension characters cost two septets.
        (EURO * 80, 0, 1),
        (EURO * 80 + b"a", 0, 2),
        (b"a" * 159 + EURO, 0, 2),
        (gsm("{}[]~|^\\\f€"), 0, 1),
        # An escape pair at a part boundary moves whole to the next part...
        (b"a" * 152 + EURO + b"a" * 152, 0, 3),  # 306 octets, yet 3 parts, not 2
        (b"a" * 152 + EURO + b"a" * 151, 0, 2),
        # ...but one that ends exactly on the boundary stays.
        (b"a" * 151 + EURO + b"a" * 153, 0, 2),
        (b"a" * 153 + EURO + b"a" * 151, 0, 2),
        (EURO * 153, 0, 3),  # 306 septets, but 76 pairs per part: 76 + 76 + 1
        # IA5: ASCII, 7-bit on the air; {}[]~|^\ become GSM escape pairs.
        (b"a" * 160, 1, 1),
        (b"a" * 161, 1, 2),
        (b"{" * 80, 1, 1),
        (b"{" * 81, 1, 2),
        (b"a" * 152 + b"[" + b"a" * 152, 1, 3),
        (b"\x1b" * 160, 1, 1),  # an IA5 ESC control is one septet, not a pair
        (b"`@$_" * 40, 1, 1),
        # UCS-2: 70 single, 67 per part.
        (ucs2("é" * 70), 8, 1),
        (ucs2("é" * 71), 8, 2),
        (ucs2("é" * 134), 8, 2),
        (ucs2("é" * 135), 8, 3),
        (ucs2("😀" * 35), 8, 1),
        (ucs2("😀" * 35 + "a"), 8, 2),
        # A surrogate pair at a part boundary moves whole to the next part.
        (ucs2("a" * 66 + "😀" + "a" * 66), 8, 3),  # 134 units, yet 3 parts
        (ucs2("a" * 66 + "😀" + "a" * 65), 8, 2),
        (ucs2("a" * 65 + "😀" + "a" * 67), 8, 2),
        # A lone high surrogate followed by a non-surrogate is just a unit: 67 + 67.
        (b"\x00a" * 66 + b"\xd8\x3d" + b"\x00a" * 67, 8, 2),
        # 8-bit binary (2, 4) and Latin-1 (3): 140 single, 134 per part.
        (b"\xff" * 140, 2, 1),
        (b"\xff" * 141, 2, 2),
        (b"\xff" * 268, 4, 2),
        (b"\xff" * 269, 4, 3),
        (b"\xe9" * 140, 3, 1),
        (b"\xe9" * 141, 3, 2),
    ],
)
def test_count_segments(content: bytes, dc: int, segments: int) -> None:
    assert count_segments(content, dc) == segments


@pytest.mark.parametrize(
    ("content", "dc", "udh_len", "segments"),
    [
        (b"a" * 153, 0, 6, 1),
        (b"a" * 154, 0, 6, 2),
        (b"a" * 152, 0, 7, 1),  # 16-bit reference: 152 septets
        (b"a" * 153, 0, 7, 2),
        (b"a" * 158, 0, 1, 1),  # 1 octet of UDH costs 2 septets (fill bits)
        (b"a" * 159, 0, 1, 2),
        (ucs2("é" * 67), 8, 6, 1),
        (ucs2("é" * 68), 8, 6, 2),
        (ucs2("é" * 66), 8, 7, 1),
        (ucs2("é" * 67), 8, 7, 2),
        (b"\x00" * 134, 4, 6, 1),
        (b"\x00" * 135, 4, 6, 2),
        (b"\x00" * 133, 4, 7, 1),
    ],
)
def test_count_segments_with_a_udh(content: bytes, dc: int, udh_len: int, segments: int) -> None:
    assert count_segments(content, dc, udh_len=udh_len) == segments


@pytest.mark.parametrize(
    ("content", "dc", "status"),
    [
        (b"abc", 5, S.ESME_RINVDCS),
        (b"abc", 0xF0, S.ESME_RINVDCS),
        (b"abc", 0x10, S.ESME_RINVDCS),
        (b"abc\x80", 0, S.ESME_RINVGSM7),
        (b"\xc3\xa9", 0, S.ESME_RINVGSM7),  # UTF-8 sent as GSM
        (b"a\x1bA", 0, S.ESME_RINVGSM7),  # escape + non-extension character
        (b"a\x1b", 0, S.ESME_RINVGSM7),  # dangling escape
        (b"\x1b\x1b\x65", 0, S.ESME_RINVGSM7),
        (b"caf\xe9", 1, S.ESME_RINVGSM7),  # not IA5
        (b"\x00a\x00", 8, S.ESME_RINVMSGLEN),  # odd UCS-2
    ],
)
def test_count_segments_refusals(content: bytes, dc: int, status: CommandStatus) -> None:
    with pytest.raises(PricingError) as info:
        count_segments(content, dc)
    assert info.value.status == status


@pytest.mark.parametrize(("dc", "udh_len"), [(0, 139), (0, 140), (8, 137), (4, 140), (0, 300)])
def test_a_udh_that_leaves_no_room_is_refused(dc: int, udh_len: int) -> None:
    with pytest.raises(PricingError) as info:
        count_segments(b"\x00" * 400, dc, udh_len=udh_len)
    assert info.value.status == S.ESME_RINVMSGLEN


def test_negative_udh_len_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="udh_len"):
        count_segments(b"a", 0, udh_len=-1)


@given(st.binary(max_size=40))
@example(b"a\x1b")
@example(b"\x1b\x65\x1b")
@example(b"\x1b\x1b")
def test_gsm7_validation_agrees_with_the_gsm0338_codec(content: bytes) -> None:
    try:
        GSM.decode(content)
        # gsm0338 silently drops a trailing escape; it is not text, we refuse it.
        library_ok = not content.endswith(b"\x1b")
    except UnicodeDecodeError:
        library_ok = False
    assert gsm7_refusal(content) == (None if library_ok else S.ESME_RINVGSM7)


def gsm7_refusal(content: bytes) -> CommandStatus | None:
    try:
        count_segments(content, 0)
    except PricingError as e:
        return e.status
    return None


# ---------------------------------------------------------------------------------------
# Prices


@pytest.mark.parametrize(
    ("pdu", "segments", "milli"),
    [
        (submit(b"a" * 160, dest=FRANCE), 1, 1000),
        (submit(b"a" * 160, dest=UK), 1, 500),
        (submit(b"a" * 160, dest=INDIA), 1, 100),
        (payload(b"a" * 161, dest=FRANCE), 2, 2000),
        (payload(b"a" * 161, dest=UK), 2, 1000),
        (payload(b"a" * 161, dest=INDIA), 2, 200),
        (payload(b"a" * 300, dest=FRANCE), 2, 2000),  # "300 GSM chars = 2 credits"
        (payload(b"a" * 918, dest=FRANCE), 6, 6000),
        (payload(ucs2("é" * 71), dc=8, dest=INDIA), 2, 200),
        (submit(ucs2("é" * 70), dc=8, dest=UK), 1, 500),
        (submit(b"", dest=FRANCE), 1, 1000),
        (payload(b"", dest=FRANCE), 1, 1000),
        (submit(b"hi", dest="18765551234"), 1, 1200),
        (submit(b"hi", dest="12025550123"), 1, 500),
    ],
)
def test_quote_costs(pdu: SubmitSm, segments: int, milli: int) -> None:
    q = quote(pdu, TARIFF)
    assert q == Quote(segments, TARIFF.rate_for(pdu.destination_addr), milli)  # type: ignore[arg-type]
    assert isinstance(q.cost, int)


def test_max_parts_caps_a_long_message() -> None:
    assert quote(payload(b"a" * 918), TARIFF, max_parts=6).segments == 6
    assert refusal(payload(b"a" * 919), max_parts=6) == S.ESME_RINVMSGLEN
    assert refusal(payload(b"a" * 161), max_parts=1) == S.ESME_RINVMSGLEN
    assert quote(payload(b"a" * 153 * 255), TARIFF).segments == 255
    assert refusal(payload(b"a" * (153 * 255 + 1))) == S.ESME_RINVMSGLEN


def test_a_64k_payload_is_refused_without_scanning_it() -> None:
    # 0x80 octets would be ESME_RINVGSM7 if scanned: the length guard answers first.
    assert refusal(payload(b"\x80" * 65535)) == S.ESME_RINVMSGLEN


@pytest.mark.parametrize("bad", [0, -1, MAX_PARTS + 1])
def test_max_parts_out_of_range_is_a_programming_error(bad: int) -> None:
    with pytest.raises(ValueError, match="max_parts"):
        quote(submit(b"a"), TARIFF, max_parts=bad)


@pytest.mark.parametrize(
    ("pdu", "status"),
    [
        (submit(b"hello", dest="999123"), S.ESME_RINVDSTADR),
        (submit(b"hello", dest=""), S.ESME_RINVDSTADR),
        (submit(b"hello", dc=9), S.ESME_RINVDCS),
        (payload(b"\x80" * 65535, dc=9), S.ESME_RINVDCS),
        (submit(b"\x80"), S.ESME_RINVGSM7),
        (submit(b"\x00a\x00", dc=8), S.ESME_RINVMSGLEN),
        # short_message and message_payload together (sm_length must be 0).
        (submit(b"a", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"b"),)), S.ESME_RINVMSGLEN),
        (submit(b"a", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b""),)), S.ESME_RINVMSGLEN),
        # Malformed UDH.
        (submit(b"", esm_class=0x40), S.ESME_RINVMSGLEN),
        (submit(b"\x05\x00\x03\x01", esm_class=0x40), S.ESME_RINVMSGLEN),
        (submit(b"\x05\x00\x04\x01\x02\x01hello", esm_class=0x40), S.ESME_RINVMSGLEN),
        (submit(b"\x01\x00hello", esm_class=0x40), S.ESME_RINVMSGLEN),
        (submit(bytes((200,)) + b"\x00" * 210, dc=4, esm_class=0x40), S.ESME_RINVMSGLEN),
        # Declared totals over the cap.
        (submit(udh8(1, 7, 1) + b"hello", esm_class=0x40), S.ESME_RINVMSGLEN),
        (submit(udh16(1, 7, 1) + b"hello", esm_class=0x40), S.ESME_RINVMSGLEN),
        (submit(b"hello", tlvs=sar(1, 7, 1)), S.ESME_RINVMSGLEN),
    ],
)
def test_quote_refusals(pdu: SubmitSm, status: CommandStatus) -> None:
    assert refusal(pdu, max_parts=6) == status


@pytest.mark.parametrize(
    ("pdu", "segments"),
    [
        (submit(udh8(1, 2, 1) + b"a" * 153, esm_class=0x40), 1),
        (submit(udh8(1, 2, 1) + b"a" * 154, esm_class=0x40), 2),  # over-full part
        (submit(udh8(1, 2, 1), esm_class=0x40), 1),  # header only
        (submit(udh16(1, 2, 1) + b"a" * 152, esm_class=0x40), 1),
        (submit(udh16(1, 2, 1) + b"a" * 153, esm_class=0x40), 2),
        (submit(udh8(1, 2, 1) + ucs2("é" * 67), dc=8, esm_class=0x40), 1),
        (submit(udh8(1, 2, 1) + b"\x00" * 134, dc=4, esm_class=0x40), 1),
        # A concatenation IE after another IE is found too.
        (submit(PORTS_AND_CONCAT + b"\x00" * 128, dc=4, esm_class=0x40), 1),
        (submit(PORTS_AND_CONCAT + b"\x00" * 129, dc=4, esm_class=0x40), 2),
        # Port addressing only (no concatenation IE): 7-octet UDH, 133 octets fit...
        (submit(b"\x06\x05\x04\x0b\x84\x23\xf0" + b"\x00" * 133, dc=4, esm_class=0x40), 1),
        # ...one more and every part needs the UDH plus a concatenation IE: 128 a part.
        (submit(b"\x06\x05\x04\x0b\x84\x23\xf0" + b"\x00" * 134, dc=4, esm_class=0x40), 2),
        (payload(b"\x06\x05\x04\x0b\x84\x23\xf0" + b"\x00" * 256, dc=4, esm_class=0x40), 2),
        (payload(b"\x06\x05\x04\x0b\x84\x23\xf0" + b"\x00" * 257, dc=4, esm_class=0x40), 3),
        # SAR parts have the room of a concatenated part (153), not of a single SMS.
        (submit(b"a" * 153, tlvs=sar(9, 2, 1)), 1),
        (submit(b"a" * 154, tlvs=sar(9, 2, 1)), 2),
        (submit(b"a" * 160, tlvs=sar(9, 1, 1)), 1),  # a "1 of 1" SAR is a single SMS
    ],
)
def test_client_segmented_parts_are_billed_on_their_own(pdu: SubmitSm, segments: int) -> None:
    assert quote(pdu, TARIFF, max_parts=6).segments == segments


# ---------------------------------------------------------------------------------------
# Same price however a long text is sent


GSM_ALPHABET = GSM.decode(bytes(i for i in range(128) if i != 0x1B))[0] + "^{}\\[~]|€\f"


def split_like_a_handset(units: list[bytes], per_part: int) -> list[bytes]:
    """Independent oracle: pack whole characters (1-2 septets, 2-4 UCS-2 octets) greedily."""
    parts: list[bytes] = []
    current = b""
    for unit in units:
        if len(current) + len(unit) > per_part:
            parts.append(current)
            current = b""
        current += unit
    parts.append(current)
    return parts


def the_three_ways(units: list[bytes], dc: int, single: int, per_part: int) -> None:
    whole = b"".join(units)
    as_payload = quote(payload(whole, dc=dc), TARIFF)
    if len(whole) <= single:
        parts = [whole]  # a client does not segment what fits in one SMS
        assert as_payload.segments == 1
    else:
        parts = split_like_a_handset(units, per_part)
    total = len(parts)
    event(f"{total} part(s)")
    assert as_payload.segments == total
    if total == 1:
        return
    via_udh = [
        quote(submit(udh8(42, total, i + 1) + p, dc=dc, esm_class=0x40), TARIFF)
        for i, p in enumerate(parts)
    ]
    via_sar = [
        quote(submit(p, dc=dc, tlvs=sar(4242, total, i + 1)), TARIFF) for i, p in enumerate(parts)
    ]
    for way in (via_udh, via_sar):
        assert all(q.segments == 1 for q in way)
        assert sum(q.cost for q in way) == as_payload.cost
    if len(whole) <= 254:
        assert quote(submit(whole, dc=dc), TARIFF) == as_payload


def sized_text(alphabet: st.SearchStrategy[str] | str, max_size: int) -> st.SearchStrategy[str]:
    # Draw the length first: plain st.text() rarely goes past one SMS, and the parts
    # boundaries are what this is about.
    return st.integers(0, max_size).flatmap(
        lambda n: st.text(alphabet=alphabet, min_size=n, max_size=n)
    )


@given(sized_text(GSM_ALPHABET, 1200))
@example("a" * 152 + "€" + "a" * 152)
@example("€" * 153)
def test_same_price_for_gsm_text_however_sent(text: str) -> None:
    units = [gsm(c) for c in text]
    the_three_ways(units, dc=0, single=160, per_part=153)


@given(
    sized_text(
        st.one_of(
            st.characters(max_codepoint=0x7F),
            st.characters(exclude_categories=["Cs"], min_codepoint=0x10000, max_codepoint=0x1FFFF),
            st.characters(exclude_categories=["Cs"]),
        ),
        500,
    )
)
@example("a" * 66 + "😀" + "a" * 66)
@example("😀" * 40)
def test_same_price_for_ucs2_text_however_sent(text: str) -> None:
    units = [ucs2(c) for c in text]
    the_three_ways(units, dc=8, single=140, per_part=134)


@given(
    st.integers(0, 1000).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    st.sampled_from([2, 3, 4]),
)
def test_same_price_for_8bit_data_however_sent(data: bytes, dc: int) -> None:
    the_three_ways([bytes((b,)) for b in data], dc=dc, single=140, per_part=134)
