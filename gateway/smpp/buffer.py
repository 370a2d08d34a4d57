"""Typed reads and writes of SMPP body fields (after aioquic's ``buffer.py``).

Each ``pull_*`` reads one field of ``data`` at ``pos`` (never past ``end``) and returns
``(value, new_pos)``; all take one last argument (a count, or a ``Limit``) so the codec
calls every step the same way; a body that ends before a mandatory field does raises
``BufferReadError`` (answered ESME_RINVCMDLEN), a value the spec forbids raises
``PduError`` with the field's own status. ``push_tlvs`` is the write side of the TLV area;
the mandatory fields are written by the per-PDU templates ``gateway.smpp.fields`` compiles.

Positions are plain ints rather than a cursor object: these run once per field of every
PDU on the submit path, and a function call on locals is the cheapest step Python has.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from gateway.smpp.constants import TLV_FIXED_LENGTH, CommandStatus
from gateway.smpp.errors import PduError

_TLV_HEADER = struct.Struct(">HH")
_pack_tlv_header = _TLV_HEADER.pack


class BufferReadError(Exception):
    """The body ended before a mandatory field did (answered ESME_RINVCMDLEN)."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter: tag, and the raw value octets."""

    tag: int
    value: bytes


def pull_u8s(data: bytes, pos: int, end: int, count: int) -> tuple[bytes, int]:
    """``count`` consecutive one-octet integers, as the octets (iterate for the ints)."""
    stop = pos + count
    if stop > end:
        raise BufferReadError
    return data[pos:stop], stop


#: (maximum length, status when a value breaks it, field name) of a variable-size field.
Limit = tuple[int, CommandStatus, str]


def pull_cstring(data: bytes, pos: int, end: int, limit: Limit) -> tuple[str, int]:
    """A C-octet string of at most ``max_length`` octets, NUL included (SMPP 3.4 §3.1).

    No NUL within ``max_length`` octets is the field's own error (``status``), unless the
    body ends first with no NUL at all: then the body is truncated.
    """
    max_length, status, name = limit
    nul = data.find(b"\x00", pos, min(end, pos + max_length))
    if nul < 0:
        if end - pos < max_length and data.find(b"\x00", pos, end) < 0:
            raise BufferReadError
        raise PduError(f"{name} longer than {max_length - 1} octets", status)
    # Latin-1 maps every octet to one code point, so the round trip is exact.
    return data[pos:nul].decode("latin-1"), nul + 1


def pull_sized_octets(data: bytes, pos: int, end: int, limit: Limit) -> tuple[bytes, int]:
    """A one-octet length then that many octets (sm_length + short_message, §4.4.1).

    A missing length octet is truncation; a length over ``max_length`` or past the end of
    the body is the field's own error (``status``).
    """
    max_length, status, name = limit
    if pos >= end:
        raise BufferReadError
    length = data[pos]
    pos += 1
    if length > max_length:
        raise PduError(f"{name} length {length} over {max_length}", status)
    stop = pos + length
    if stop > end:
        raise PduError(f"{name} length runs past the PDU", status)
    return data[pos:stop], stop


@dataclass(frozen=True, slots=True)
class DestAddress:
    """One dest_address of a submit_multi (SMPP 3.4 §4.5.1.1).

    ``dest_flag`` 1 is an SME address (``dest_addr_ton``, ``dest_addr_npi``,
    ``address``); 2 a distribution list, whose name is ``address`` (TON/NPI unused, 0).
    """

    dest_flag: int = 1
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    address: str = ""


@dataclass(frozen=True, slots=True)
class UnsuccessSme:
    """One unsuccess_sme of a submit_multi_resp (§4.5.2): an address the SMSC refused
    and the command_status (``error_status_code``) it refused it with."""

    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    address: str = ""
    error_status_code: int = 0


#: dest_flag values (§5.2.25).
SME_ADDRESS = 1
DISTRIBUTION_LIST = 2
#: (maximum count, status when over it, field name, maximum address length NUL included,
#: status of an address over it) of a counted list.
ListLimit = tuple[int, CommandStatus, str, int, CommandStatus]
_U32 = struct.Struct(">I")


def pull_dest_addresses(
    data: bytes, pos: int, end: int, limit: ListLimit
) -> tuple[tuple[DestAddress, ...], int]:
    """number_of_dests, then that many dest_address (§4.5.1): SME addresses (flag 1) and
    distribution list names (flag 2). Another flag is ESME_RINVDESTFLAG; a count over
    the limit ESME_RINVNUMDESTS; a name too long ESME_RINVDLNAME."""
    max_count, status, name, max_length, addr_status = limit
    if pos >= end:
        raise BufferReadError
    count = data[pos]
    pos += 1
    if count > max_count:
        raise PduError(f"{name}: {count} destinations, at most {max_count}", status)
    out: list[DestAddress] = []
    for _ in range(count):
        if pos >= end:
            raise BufferReadError
        flag = data[pos]
        pos += 1
        if flag == SME_ADDRESS:
            if pos + 2 > end:
                raise BufferReadError
            ton, npi = data[pos], data[pos + 1]
            address, pos = pull_cstring(data, pos + 2, end, (max_length, addr_status, name))
            out.append(DestAddress(flag, ton, npi, address))
        elif flag == DISTRIBUTION_LIST:
            dl_name, pos = pull_cstring(
                data, pos, end, (max_length, CommandStatus.ESME_RINVDLNAME, "dl_name")
            )
            out.append(DestAddress(flag, 0, 0, dl_name))
        else:
            raise PduError(f"dest_flag {flag}", CommandStatus.ESME_RINVDESTFLAG)
    return tuple(out), pos


def pull_unsuccess_smes(
    data: bytes, pos: int, end: int, limit: ListLimit
) -> tuple[tuple[UnsuccessSme, ...], int]:
    """no_unsuccess, then that many unsuccess_sme (§4.5.2)."""
    _max_count, _status, name, max_length, addr_status = limit
    if pos >= end:
        raise BufferReadError
    count = data[pos]
    pos += 1
    out: list[UnsuccessSme] = []
    for _ in range(count):
        if pos + 2 > end:
            raise BufferReadError
        ton, npi = data[pos], data[pos + 1]
        address, pos = pull_cstring(data, pos + 2, end, (max_length, addr_status, name))
        if pos + 4 > end:
            raise BufferReadError
        (code,) = _U32.unpack_from(data, pos)
        out.append(UnsuccessSme(ton, npi, address, code))
        pos += 4
    return tuple(out), pos


def push_dest_addresses(items: tuple[DestAddress, ...], max_count: int) -> bytes:
    """The write side of ``pull_dest_addresses`` (ValueError for what it would refuse)."""
    if len(items) > max_count:
        raise ValueError(f"dest_addresses: {len(items)} over {max_count}")
    parts = [bytes((len(items),))]
    for d in items:
        if d.dest_flag == SME_ADDRESS:
            parts.append(bytes((SME_ADDRESS, d.dest_addr_ton, d.dest_addr_npi)))
        elif d.dest_flag == DISTRIBUTION_LIST:
            parts.append(bytes((DISTRIBUTION_LIST,)))
        else:
            raise ValueError(f"dest_flag {d.dest_flag} is neither 1 nor 2: out of range")
        parts.append(d.address.encode("latin-1") + b"\x00")
    return b"".join(parts)


def push_unsuccess_smes(items: tuple[UnsuccessSme, ...], max_count: int) -> bytes:
    """The write side of ``pull_unsuccess_smes``."""
    if len(items) > max_count:
        raise ValueError(f"unsuccess_smes: {len(items)} over {max_count}")
    parts = [bytes((len(items),))]
    for u in items:
        parts.append(bytes((u.dest_addr_ton, u.dest_addr_npi)))
        parts.append(u.address.encode("latin-1") + b"\x00")
        parts.append(_U32.pack(u.error_status_code))
    return b"".join(parts)


def pull_tlvs(data: bytes, pos: int, end: int) -> tuple[tuple[Tlv, ...], int]:
    """Every TLV up to ``end``, in order, unknown tags included (SMPP 3.4 §3.2.4).

    A TLV cut short is ESME_RINVOPTPARSTREAM; a known fixed-size TLV of another length is
    ESME_RINVPARLEN.
    """
    if pos >= end:
        return (), pos
    out: list[Tlv] = []
    unpack = _TLV_HEADER.unpack_from
    while pos < end:
        if end - pos < 4:
            raise PduError("truncated TLV header", CommandStatus.ESME_RINVOPTPARSTREAM)
        tag, length = unpack(data, pos)
        pos += 4
        if pos + length > end:
            raise PduError(
                f"TLV 0x{tag:04x} runs past the PDU", CommandStatus.ESME_RINVOPTPARSTREAM
            )
        want = TLV_FIXED_LENGTH.get(tag)
        if want is not None and want != length:
            raise PduError(
                f"TLV 0x{tag:04x} has length {length}, expected {want}",
                CommandStatus.ESME_RINVPARLEN,
            )
        out.append(Tlv(tag, data[pos : pos + length]))
        pos += length
    return tuple(out), pos


def push_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    """The TLV area: tag, length and value of each, in order."""
    parts: list[bytes] = []
    append = parts.append
    for tlv in tlvs:
        value = tlv.value
        append(_pack_tlv_header(tlv.tag, len(value)))
        append(value)
    return b"".join(parts)


__all__ = [
    "DISTRIBUTION_LIST",
    "SME_ADDRESS",
    "BufferReadError",
    "DestAddress",
    "Limit",
    "ListLimit",
    "Tlv",
    "UnsuccessSme",
    "pull_cstring",
    "pull_dest_addresses",
    "pull_sized_octets",
    "pull_tlvs",
    "pull_u8s",
    "pull_unsuccess_smes",
    "push_dest_addresses",
    "push_tlvs",
    "push_unsuccess_smes",
]
