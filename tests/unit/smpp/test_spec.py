"""Tests generated from the field specs: every declared PDU, round trip and truncation.

A PDU declared in ``gateway.smpp.pdus`` is covered here without writing a test for it:
its fields at their empty and their longest values, with TLVs, encode and decode back
exactly; cut at every offset (command_length kept consistent) it fails with the status
the spec gives for the field cut, or decodes as the shorter PDU it then is; each field
one octet too long is refused with its own status. The expected statuses are derived
from the spec's kinds by the SMPP 3.4 rules (§3.1, §3.2.4), not read from the decoder.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

import pytest

from gateway.smpp import (
    NO_RESPONSE,
    PDU_CLASSES,
    RESPONSE_BIT,
    RESPONSE_FOR,
    CommandStatus,
    GenericNack,
    Pdu,
    PduError,
    Tlv,
    decode,
    encode,
    error_answer,
)
from gateway.smpp.buffer import DestAddress, UnsuccessSme
from gateway.smpp.fields import FieldSpec, Kind, is_list

S = CommandStatus
CLASSES = sorted(PDU_CLASSES.values(), key=lambda c: int(c.command_id))
TLVS = (Tlv(0x0204, b"\x00\x07"), Tlv(0x1400, b"vendor"), Tlv(0x1501, b""))


def _id(cls: type[Pdu]) -> str:
    return cls.__name__


def longest(spec: FieldSpec) -> Any:
    """The longest legal value of a field (a C-octet string's NUL counts in its length).

    A counted list gets three items, each of the longest: every item form once, not
    the most items (the truncation walk would cost a count of items per cut).
    """
    if spec.kind is Kind.DEST_ADDRESSES:
        name = "d" * (spec.item_length - 1)
        return (DestAddress(1, 0xFF, 0xFF, name), DestAddress(2, 0, 0, name), DestAddress(1))
    if spec.kind is Kind.UNSUCCESS_SMES:
        name = "u" * (spec.item_length - 1)
        return (UnsuccessSme(0xFF, 0xFF, name, 0xFFFFFFFF), UnsuccessSme())
    if spec.kind is Kind.U8:
        return 0xFF
    if spec.kind is Kind.CSTRING:
        return "x" * (spec.max_length - 1)
    return bytes(range(spec.max_length % 256)) if spec.max_length < 256 else b"z" * 254


def full(cls: type[Pdu], tlvs: tuple[Tlv, ...] = TLVS) -> Pdu:
    values = {s.name: longest(s) for s in cls.spec.fields}
    return cls(sequence_number=0x7FFFFFFF, command_status=0, tlvs=tlvs, **values)


def layout(pdu: Pdu) -> list[tuple[FieldSpec, int, int]]:
    """(field, first octet, end) of each mandatory field, as offsets into the body."""
    out = []
    pos = 0
    for spec in pdu.spec.fields:
        value = getattr(pdu, spec.name)
        if is_list(spec.kind):
            size = len(list_octets(spec, value))
        else:
            size = 1 if spec.kind is Kind.U8 else len(value) + 1  # NUL, or the length octet
        out.append((spec, pos, pos + size))
        pos += size
    return out


def list_octets(spec: FieldSpec, items: Any) -> bytes:
    """A counted list as SMPP 3.4 §4.5 lays it out, written here, not by the codec."""
    out = bytes([len(items)])
    for item in items:
        if isinstance(item, DestAddress):
            head = (
                bytes([1, item.dest_addr_ton, item.dest_addr_npi])
                if item.dest_flag == 1
                else b"\x02"
            )
            out += head + item.address.encode("latin-1") + b"\0"
        else:
            out += bytes([item.dest_addr_ton, item.dest_addr_npi])
            out += (
                item.address.encode("latin-1") + b"\0" + struct.pack(">I", item.error_status_code)
            )
    return out


def with_length(frame: bytes) -> bytes:
    return struct.pack(">I", len(frame)) + frame[4:]


def expected_cut(pdu: Pdu, cut: int) -> S | tuple[Tlv, ...] | None:
    """What decoding the body cut at ``cut`` gives: a status, the TLVs left, or None for
    an optional body left out."""
    if cut == 0 and pdu.spec.omitted_on_error is not None:
        return None
    for spec, start, end in layout(pdu):
        if start <= cut < end:
            if spec.kind is Kind.SIZED_OCTETS and cut > start:
                return spec.status  # the length octet says more than there is
            return S.ESME_RINVCMDLEN  # a mandatory field is missing
    pos = layout(pdu)[-1][2] if pdu.spec.fields else 0
    for i, tlv in enumerate((*pdu.tlvs, None)):
        if cut == pos:
            return pdu.tlvs[:i]
        if tlv is None:
            break
        pos += 4 + len(tlv.value)
        if cut < pos:
            return S.ESME_RINVOPTPARSTREAM
    raise AssertionError(f"cut {cut} past the body")


def answer_class(cls: type[Pdu]) -> type[Pdu]:
    if cls.command_id & RESPONSE_BIT or cls.command_id in NO_RESPONSE:
        return GenericNack
    return RESPONSE_FOR[cls.command_id]


def test_every_request_has_its_response_declared() -> None:
    requests = [c for c in CLASSES if not c.command_id & RESPONSE_BIT]
    assert requests
    for cls in requests:
        if cls.command_id in NO_RESPONSE:
            # outbind and alert_notification have none: their errors are generic_nack.
            assert cls.command_id not in RESPONSE_FOR
            assert cls.command_id | RESPONSE_BIT not in PDU_CLASSES
            continue
        assert RESPONSE_FOR[cls.command_id].command_id == cls.command_id | RESPONSE_BIT


@pytest.mark.parametrize("cls", CLASSES, ids=_id)
def test_declaration_is_complete(cls: type[Pdu]) -> None:
    assert cls.__doc__
    names = {f.name for f in dataclasses.fields(cls)}
    spec_names = {s.name for s in cls.spec.fields}
    assert spec_names <= names
    extra = names - spec_names - {"sequence_number", "command_status", "tlvs"}
    assert extra == ({"omit_body"} if cls.spec.omitted_on_error is not None else set())


@pytest.mark.parametrize("cls", CLASSES, ids=_id)
@pytest.mark.parametrize("style", ["empty", "empty+tlvs", "longest", "longest+tlvs"])
def test_round_trip(cls: type[Pdu], style: str) -> None:
    tlvs = TLVS if style.endswith("+tlvs") else ()
    pdu = full(cls, tlvs) if style.startswith("longest") else cls(sequence_number=1, tlvs=tlvs)
    frame = encode(pdu)
    assert struct.unpack_from(">IIII", frame) == (
        len(frame),
        cls.command_id,
        pdu.command_status,
        pdu.sequence_number,
    )
    back = decode(frame)
    assert type(back) is cls
    assert back == pdu
    assert encode(back) == frame
    assert back.body() == frame[16:]


@pytest.mark.parametrize("cls", CLASSES, ids=_id)
def test_truncated_at_every_offset(cls: type[Pdu]) -> None:
    pdu = full(cls)
    frame = encode(pdu)
    seen: set[object] = set()
    for cut in range(len(frame) - 16):
        short = with_length(frame[: 16 + cut])
        want = expected_cut(pdu, cut)
        seen.add(want if not isinstance(want, tuple) else "shorter")
        if want is None or isinstance(want, tuple):
            got = decode(short)
            assert type(got) is cls, cut
            assert got.tlvs == (want or ()), cut
            assert encode(got) == short, cut
            continue
        with pytest.raises(PduError) as info:
            decode(short)
        err = info.value
        assert (err.status, err.command_id, err.sequence_number, err.fatal) == (
            want,
            cls.command_id,
            pdu.sequence_number,
            False,
        ), f"cut at {cut}"
        answer = error_answer(err)
        assert type(answer) is answer_class(cls)
        assert (answer.sequence_number, answer.command_status) == (pdu.sequence_number, want)
    # Every way of being cut that the spec allows was met.
    kinds = {spec.kind for spec in cls.spec.fields}
    assert "shorter" in seen
    assert S.ESME_RINVOPTPARSTREAM in seen
    assert (S.ESME_RINVCMDLEN in seen) is bool(kinds)
    for spec in cls.spec.fields:
        if spec.kind is Kind.SIZED_OCTETS:
            assert spec.status in seen


def _too_long(spec: FieldSpec) -> Any:
    if spec.kind is Kind.CSTRING:
        return "y" * spec.max_length  # no NUL within max_length octets
    return None


@pytest.mark.parametrize("cls", CLASSES, ids=_id)
def test_each_field_too_long_is_refused_with_its_own_status(cls: type[Pdu]) -> None:
    checked = 0
    for spec in cls.spec.fields:
        if spec.kind is Kind.CSTRING:
            frame = encode(dataclasses.replace(full(cls), **{spec.name: _too_long(spec)}))
        elif spec.kind is Kind.SIZED_OCTETS:
            with pytest.raises(ValueError, match=spec.name):
                encode(dataclasses.replace(full(cls), **{spec.name: b"o" * (spec.max_length + 1)}))
            # The length octet alone can say more than the limit.
            base = full(cls, ())
            start = next(s for f, s, _ in layout(base) if f is spec)
            body = encode(base)[16:]
            frame = with_length(
                encode(base)[:16] + body[:start] + bytes([spec.max_length + 1]) + b"o" * 255
            )
        elif is_list(spec.kind):
            base = full(cls, ())
            start = next(s for f, s, _ in layout(base) if f is spec)
            body = encode(base)[16:]
            # An item's address one octet too long: the item's own status.
            item: Any = (
                DestAddress(1, 1, 1, "y" * spec.item_length)
                if spec.kind is Kind.DEST_ADDRESSES
                else UnsuccessSme(1, 1, "y" * spec.item_length)
            )
            bad = list_octets(spec, (item,)) + bytes(8)
            frame = with_length(encode(base)[:16] + body[:start] + bad)
            with pytest.raises(PduError) as info:
                decode(frame)
            assert info.value.status == spec.item_status, spec.name
            if spec.max_length < 255:
                # A count over the limit: the list's own status.
                frame = with_length(encode(base)[:16] + body[:start] + bytes([spec.max_length + 1]))
                with pytest.raises(PduError) as info:
                    decode(frame)
                assert info.value.status == spec.status, spec.name
            checked += 1
            continue
        else:
            continue
        with pytest.raises(PduError) as info:
            decode(frame)
        assert info.value.status == spec.status, spec.name
        assert type(error_answer(info.value)) is answer_class(cls)
        checked += 1
    assert checked == sum(s.kind is not Kind.U8 for s in cls.spec.fields)


@pytest.mark.parametrize("cls", CLASSES, ids=_id)
def test_one_octet_fields_out_of_range_do_not_encode(cls: type[Pdu]) -> None:
    for spec in cls.spec.fields:
        if spec.kind is Kind.U8:
            for bad in (256, -1):
                with pytest.raises(ValueError, match="range"):
                    encode(dataclasses.replace(full(cls), **{spec.name: bad}))
