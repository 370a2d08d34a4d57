"""SMPP 3.4 PDU codec: bytes in, typed PDUs out, and back. No I/O.

Every PDU is a frozen, slotted dataclass. ``decode(frame)`` turns one whole frame
(header included) into a PDU; ``encode(pdu)`` is its exact inverse, so
``encode(decode(b)) == b`` for every well-formed frame, TLVs included (unknown TLVs are
kept in order, never dropped). ``PduReader`` cuts a byte stream into frames.

Errors carry what to answer: ``PduError.status`` is the ``command_status`` of the
``generic_nack`` (header problems, unknown command) or ``*_resp`` (body problems) that a
server sends back, and ``PduError.fatal`` says whether the byte stream can still be framed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import ClassVar, TypeVar

HEADER = struct.Struct(">IIII")
HEADER_SIZE = 16
#: The spec sets no maximum; this is the customary cap and our default.
DEFAULT_MAX_PDU_SIZE = 4096
#: short_message is at most 254 octets (SMPP 3.4 §5.2.22); longer text goes in message_payload.
MAX_SHORT_MESSAGE = 254
INTERFACE_VERSION = 0x34
RESPONSE_BIT = 0x80000000
MAX_SEQUENCE = 0x7FFFFFFF


class CommandId(IntEnum):
    """command_id values (SMPP 3.4 §5.1.2.1)."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103

    @property
    def is_response(self) -> bool:
        """True for ``*_resp`` and ``generic_nack``."""
        return bool(self & RESPONSE_BIT)


class CommandStatus(IntEnum):
    """command_status values (SMPP 3.4 §5.1.3) plus smppgw's vendor range 0x400-0x4FF."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF
    # --- smppgw vendor statuses (0x400-0x4FF are reserved for vendors by SMPP 3.4) ---
    #: Too many failed bind attempts from this address or for this system_id.
    ESME_RBINDTHROTTLED = 0x400
    #: data_coding the gateway does not carry.
    ESME_RINVDCS = 0x401
    #: short_message is not valid GSM 03.38 (unpacked) although data_coding says it is.
    ESME_RINVGSM7 = 0x402
    #: Not enough credit for this message, auto-recharge absent, capped or insufficient.
    ESME_RNOCREDIT = 0x403
    #: The ledger cannot be reached: nothing was debited, nothing will be forwarded.
    ESME_RLEDGERDOWN = 0x404


class Tag(IntEnum):
    """TLV tags the gateway reads or writes (SMPP 3.4 §5.3.2). Others are carried as-is."""

    DEST_ADDR_SUBUNIT = 0x0005
    RECEIPTED_MESSAGE_ID = 0x001E
    USER_MESSAGE_REFERENCE = 0x0204
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


#: Fixed value lengths of the TLVs we interpret; a wrong length is ESME_RINVPARLEN.
_TLV_FIXED_LENGTH: dict[int, int] = {
    Tag.USER_MESSAGE_REFERENCE: 2,
    Tag.SOURCE_PORT: 2,
    Tag.DESTINATION_PORT: 2,
    Tag.SAR_MSG_REF_NUM: 2,
    Tag.SAR_TOTAL_SEGMENTS: 1,
    Tag.SAR_SEGMENT_SEQNUM: 1,
    Tag.SC_INTERFACE_VERSION: 1,
    Tag.NETWORK_ERROR_CODE: 3,
    Tag.MESSAGE_STATE: 1,
}

#: esm_class bits (SMPP 3.4 §5.2.12).
ESM_CLASS_DELIVERY_RECEIPT = 0x04
ESM_CLASS_UDHI = 0x40


class PduError(Exception):
    """A frame that cannot be accepted, with the status to answer it with.

    ``command_id`` and ``sequence_number`` come from the header when it could be read, so the
    answer can be the matching ``*_resp``; ``fatal`` means framing is lost and the
    connection must close after the answer.
    """

    def __init__(
        self,
        message: str,
        status: CommandStatus,
        *,
        command_id: int | None = None,
        sequence_number: int = 0,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.fatal = fatal

    @property
    def answer_with_generic_nack(self) -> bool:
        """Header-level problems (and unknown or response PDUs) get a generic_nack.

        A fatal error is a header problem (command_length not usable), whatever the
        command_id: SMPP 3.4 §4.3 answers an invalid command_length with generic_nack.
        """
        if self.fatal or self.command_id is None or self.status == CommandStatus.ESME_RINVCMDID:
            return True
        return bool(self.command_id & RESPONSE_BIT) or self.command_id not in _REGISTRY


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter: tag, and the raw value octets."""

    tag: int
    value: bytes


# ---------------------------------------------------------------------------------------
# Field readers and writers


class _Cursor:
    """Reads typed fields from a body; every failure names the status to answer with."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes, pos: int, end: int) -> None:
        self.buf = buf
        self.pos = pos
        self.end = end

    def u8(self) -> int:
        if self.pos >= self.end:
            raise _Short()
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def cstring(self, max_len: int, status: CommandStatus, name: str) -> str:
        """A NUL-terminated string of at most ``max_len`` octets, NUL included."""
        nul = self.buf.find(b"\x00", self.pos, min(self.end, self.pos + max_len))
        if nul < 0:
            if self.end - self.pos < max_len and self.buf.find(b"\x00", self.pos, self.end) < 0:
                raise _Short()
            raise _Bad(f"{name} longer than {max_len - 1} octets", status)
        raw = self.buf[self.pos : nul]
        self.pos = nul + 1
        # Latin-1 maps every octet to one code point, so the round trip is exact.
        return raw.decode("latin-1")

    def octets(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise _Short()
        v = self.buf[self.pos : self.pos + n]
        self.pos += n
        return v

    def tlvs(self) -> tuple[Tlv, ...]:
        out: list[Tlv] = []
        buf, pos, end = self.buf, self.pos, self.end
        while pos < end:
            if end - pos < 4:
                raise _Bad("truncated TLV header", CommandStatus.ESME_RINVOPTPARSTREAM)
            tag, length = struct.unpack_from(">HH", buf, pos)
            pos += 4
            if pos + length > end:
                raise _Bad(
                    f"TLV 0x{tag:04x} runs past the PDU", CommandStatus.ESME_RINVOPTPARSTREAM
                )
            want = _TLV_FIXED_LENGTH.get(tag)
            if want is not None and want != length:
                raise _Bad(
                    f"TLV 0x{tag:04x} has length {length}, expected {want}",
                    CommandStatus.ESME_RINVPARLEN,
                )
            out.append(Tlv(tag, buf[pos : pos + length]))
            pos += length
        self.pos = pos
        return tuple(out)


class _Short(Exception):
    """The body ended before a mandatory field did."""


class _Bad(Exception):
    def __init__(self, message: str, status: CommandStatus) -> None:
        super().__init__(message)
        self.status = status


def _cstr(value: str) -> bytes:
    return value.encode("latin-1") + b"\x00"


def _omit(choice: bool | None, default: bool) -> bool:
    return default if choice is None else choice


def _encode_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    return b"".join(struct.pack(">HH", t.tag, len(t.value)) + t.value for t in tlvs)


# ---------------------------------------------------------------------------------------
# PDU classes


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """Common header fields. ``command_length`` is derived when encoding."""

    command_id: ClassVar[CommandId]
    sequence_number: int
    command_status: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def body(self) -> bytes:
        """Mandatory body fields followed by the TLVs."""
        return _encode_tlvs(self.tlvs)

    def tlv(self, tag: int) -> bytes | None:
        """The value of the first TLV with ``tag``, or None."""
        for t in self.tlvs:
            if t.tag == tag:
                return t.value
        return None

    @classmethod
    def _decode_body(cls, cur: _Cursor, header: tuple[int, int, int, int]) -> Pdu:
        return cls(sequence_number=header[3], command_status=header[2], tlvs=cur.tlvs())


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Pdu):
    """generic_nack: the answer to a PDU whose header we could not accept."""

    command_id = CommandId.GENERIC_NACK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Pdu):
    """enquire_link: link keep-alive, either direction."""

    command_id = CommandId.ENQUIRE_LINK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    """enquire_link_resp."""

    command_id = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Pdu):
    """unbind: orderly end of the session, either direction."""

    command_id = CommandId.UNBIND


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Pdu):
    """unbind_resp."""

    command_id = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind(Pdu):
    """Fields shared by the three bind requests."""

    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def body(self) -> bytes:
        """system_id, password, system_type, version, TON, NPI, address_range, TLVs."""
        return b"".join(
            (
                _cstr(self.system_id),
                _cstr(self.password),
                _cstr(self.system_type),
                bytes((self.interface_version, self.addr_ton, self.addr_npi)),
                _cstr(self.address_range),
                _encode_tlvs(self.tlvs),
            )
        )

    @classmethod
    def _decode_body(cls, cur: _Cursor, header: tuple[int, int, int, int]) -> Pdu:
        S = CommandStatus
        return cls(
            sequence_number=header[3],
            command_status=header[2],
            system_id=cur.cstring(16, S.ESME_RINVSYSID, "system_id"),
            password=cur.cstring(9, S.ESME_RINVPASWD, "password"),
            system_type=cur.cstring(13, S.ESME_RINVSYSTYP, "system_type"),
            interface_version=cur.u8(),
            addr_ton=cur.u8(),
            addr_npi=cur.u8(),
            address_range=cur.cstring(41, S.ESME_RINVCMDLEN, "address_range"),
            tlvs=cur.tlvs(),
        )

    def __repr__(self) -> str:
        # Never let a password reach a log line through repr().
        return (
            f"{type(self).__name__}(sequence_number={self.sequence_number}, "
            f"system_id={self.system_id!r}, password='***', system_type={self.system_type!r})"
        )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class BindTransmitter(Bind):
    """bind_transmitter: ESME will submit only."""

    command_id = CommandId.BIND_TRANSMITTER


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class BindReceiver(Bind):
    """bind_receiver: ESME will receive deliver_sm only."""

    command_id = CommandId.BIND_RECEIVER


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class BindTransceiver(Bind):
    """bind_transceiver: both directions on one connection."""

    command_id = CommandId.BIND_TRANSCEIVER


#: For responses whose body may be left out (error bind_resp, submit_sm_resp…): None lets
#: ``encode`` choose, True/False force "no body" / "empty C-string". Peers differ (an
#: error response arrives as 16 or 17 octets), so ``decode`` records which form it saw
#: and ``encode(decode(b)) == b`` holds for both. Not compared: both forms mean the same.
_OMIT_BODY = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class _BindResp(Pdu):
    system_id: str = ""
    omit_body: bool | None = _OMIT_BODY

    def body(self) -> bytes:
        # An error bind_resp may carry no body at all (SMPP 3.4 §4.1.2); keep it empty.
        if not self.system_id and not self.tlvs and _omit(self.omit_body, self.command_status != 0):
            return b""
        return _cstr(self.system_id) + _encode_tlvs(self.tlvs)

    @classmethod
    def _decode_body(cls, cur: _Cursor, header: tuple[int, int, int, int]) -> Pdu:
        if cur.pos == cur.end:
            return cls(sequence_number=header[3], command_status=header[2], omit_body=True)
        return cls(
            sequence_number=header[3],
            command_status=header[2],
            system_id=cur.cstring(16, CommandStatus.ESME_RINVSYSID, "system_id"),
            tlvs=cur.tlvs(),
            omit_body=False,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    """bind_transmitter_resp."""

    command_id = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    """bind_receiver_resp."""

    command_id = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    """bind_transceiver_resp."""

    command_id = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShortMessage(Pdu):
    """The body shared by submit_sm and deliver_sm (SMPP 3.4 §4.4.1, §4.6.1)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""

    def body(self) -> bytes:
        if len(self.short_message) > MAX_SHORT_MESSAGE:
            raise ValueError("short_message over 254 octets: use message_payload")
        return b"".join(
            (
                _cstr(self.service_type),
                bytes((self.source_addr_ton, self.source_addr_npi)),
                _cstr(self.source_addr),
                bytes((self.dest_addr_ton, self.dest_addr_npi)),
                _cstr(self.destination_addr),
                bytes((self.esm_class, self.protocol_id, self.priority_flag)),
                _cstr(self.schedule_delivery_time),
                _cstr(self.validity_period),
                bytes(
                    (
                        self.registered_delivery,
                        self.replace_if_present_flag,
                        self.data_coding,
                        self.sm_default_msg_id,
                        len(self.short_message),
                    )
                ),
                self.short_message,
                _encode_tlvs(self.tlvs),
            )
        )

    @classmethod
    def _decode_body(cls, cur: _Cursor, header: tuple[int, int, int, int]) -> Pdu:
        S = CommandStatus
        service_type = cur.cstring(6, S.ESME_RINVSERTYP, "service_type")
        source_addr_ton = cur.u8()
        source_addr_npi = cur.u8()
        source_addr = cur.cstring(21, S.ESME_RINVSRCADR, "source_addr")
        dest_addr_ton = cur.u8()
        dest_addr_npi = cur.u8()
        destination_addr = cur.cstring(21, S.ESME_RINVDSTADR, "destination_addr")
        esm_class = cur.u8()
        protocol_id = cur.u8()
        priority_flag = cur.u8()
        schedule = cur.cstring(17, S.ESME_RINVSCHED, "schedule_delivery_time")
        validity = cur.cstring(17, S.ESME_RINVEXPIRY, "validity_period")
        registered_delivery = cur.u8()
        replace_if_present_flag = cur.u8()
        data_coding = cur.u8()
        sm_default_msg_id = cur.u8()
        sm_length = cur.u8()
        if sm_length > MAX_SHORT_MESSAGE:
            raise _Bad(f"sm_length {sm_length} over {MAX_SHORT_MESSAGE}", S.ESME_RINVMSGLEN)
        if cur.pos + sm_length > cur.end:
            raise _Bad("sm_length runs past the PDU", S.ESME_RINVMSGLEN)
        short_message = cur.octets(sm_length)
        return cls(
            sequence_number=header[3],
            command_status=header[2],
            service_type=service_type,
            source_addr_ton=source_addr_ton,
            source_addr_npi=source_addr_npi,
            source_addr=source_addr,
            dest_addr_ton=dest_addr_ton,
            dest_addr_npi=dest_addr_npi,
            destination_addr=destination_addr,
            esm_class=esm_class,
            protocol_id=protocol_id,
            priority_flag=priority_flag,
            schedule_delivery_time=schedule,
            validity_period=validity,
            registered_delivery=registered_delivery,
            replace_if_present_flag=replace_if_present_flag,
            data_coding=data_coding,
            sm_default_msg_id=sm_default_msg_id,
            short_message=short_message,
            tlvs=cur.tlvs(),
        )

    @property
    def udhi(self) -> bool:
        """True when short_message (or message_payload) starts with a User Data Header."""
        return bool(self.esm_class & ESM_CLASS_UDHI)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(_ShortMessage):
    """submit_sm: an ESME submits one short message."""

    command_id = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(_ShortMessage):
    """deliver_sm: the SMSC delivers a message or a delivery receipt (esm_class 0x04)."""

    command_id = CommandId.DELIVER_SM

    @property
    def is_receipt(self) -> bool:
        """True when esm_class marks this deliver_sm as an SMSC delivery receipt."""
        return (self.esm_class & 0x3C) == ESM_CLASS_DELIVERY_RECEIPT


@dataclass(frozen=True, slots=True, kw_only=True)
class _MessageIdResp(Pdu):
    message_id: str = ""
    omit_body: bool | None = _OMIT_BODY

    def body(self) -> bytes:
        # An error submit_sm_resp carries no body (SMPP 3.4 §4.4.2).
        empty = not self.message_id and not self.tlvs
        if empty and _omit(self.omit_body, self.command_status != 0):
            return b""
        return _cstr(self.message_id) + _encode_tlvs(self.tlvs)

    @classmethod
    def _decode_body(cls, cur: _Cursor, header: tuple[int, int, int, int]) -> Pdu:
        if cur.pos == cur.end:
            return cls(sequence_number=header[3], command_status=header[2], omit_body=True)
        return cls(
            sequence_number=header[3],
            command_status=header[2],
            message_id=cur.cstring(65, CommandStatus.ESME_RINVMSGID, "message_id"),
            tlvs=cur.tlvs(),
            omit_body=False,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(_MessageIdResp):
    """submit_sm_resp: carries the message_id that receipts will refer to."""

    command_id = CommandId.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(_MessageIdResp):
    """deliver_sm_resp (message_id is unused and normally empty)."""

    command_id = CommandId.DELIVER_SM_RESP

    def body(self) -> bytes:
        """The (empty) message_id field and TLVs."""
        # deliver_sm_resp has its (empty) message_id field even on error, unless told not to.
        if not self.message_id and not self.tlvs and _omit(self.omit_body, False):
            return b""
        return _cstr(self.message_id) + _encode_tlvs(self.tlvs)


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedSubmitSm(Pdu):
    """A submit_sm held as its encoded body (what the ledger's outbox stores).

    The forwarder sends it as it is: decoding it into a ``SubmitSm`` only to encode it
    again cost 11 µs a message. Never produced by ``decode``; ``tlvs`` stays empty (the
    TLVs are inside ``encoded``).
    """

    command_id = CommandId.SUBMIT_SM
    encoded: bytes = b""

    def body(self) -> bytes:
        """The stored body, unchanged."""
        return self.encoded


_REGISTRY: dict[int, type[Pdu]] = {
    cls.command_id: cls
    for cls in (
        GenericNack,
        EnquireLink,
        EnquireLinkResp,
        Unbind,
        UnbindResp,
        BindTransmitter,
        BindTransmitterResp,
        BindReceiver,
        BindReceiverResp,
        BindTransceiver,
        BindTransceiverResp,
        SubmitSm,
        SubmitSmResp,
        DeliverSm,
        DeliverSmResp,
    )
}

#: Request command_id -> the response class that answers it.
RESPONSE_FOR: dict[int, type[Pdu]] = {
    CommandId.BIND_TRANSMITTER: BindTransmitterResp,
    CommandId.BIND_RECEIVER: BindReceiverResp,
    CommandId.BIND_TRANSCEIVER: BindTransceiverResp,
    CommandId.SUBMIT_SM: SubmitSmResp,
    CommandId.DELIVER_SM: DeliverSmResp,
    CommandId.ENQUIRE_LINK: EnquireLinkResp,
    CommandId.UNBIND: UnbindResp,
}


# ---------------------------------------------------------------------------------------
# Frame level


def encode(pdu: Pdu) -> bytes:
    """The wire bytes of ``pdu``, header included."""
    body = pdu.body()
    return (
        HEADER.pack(
            HEADER_SIZE + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number
        )
        + body
    )


def decode(frame: bytes) -> Pdu:
    """Decode one whole frame (exactly ``command_length`` octets).

    Raises ``PduError`` carrying the status and, when the header was readable, the
    command_id and sequence_number to answer with.
    """
    if len(frame) < HEADER_SIZE:
        raise PduError("frame shorter than a header", CommandStatus.ESME_RINVCMDLEN, fatal=True)
    header: tuple[int, int, int, int] = HEADER.unpack_from(frame)
    length, command_id, _status, seq = header
    if length != len(frame):
        raise PduError(
            f"command_length {length} but frame is {len(frame)} octets",
            CommandStatus.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=seq,
            fatal=True,
        )
    cls = _REGISTRY.get(command_id)
    if cls is None:
        raise PduError(
            f"unknown or unsupported command_id 0x{command_id:08x}",
            CommandStatus.ESME_RINVCMDID,
            command_id=command_id,
            sequence_number=seq,
        )
    cur = _Cursor(frame, HEADER_SIZE, length)
    try:
        pdu = cls._decode_body(cur, header)
    except _Short:
        raise PduError(
            f"{cls.__name__} body truncated",
            CommandStatus.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=seq,
        ) from None
    except _Bad as e:
        raise PduError(str(e), e.status, command_id=command_id, sequence_number=seq) from None
    if cur.pos != cur.end:  # pragma: no cover - tlvs() consumes to the end
        raise PduError(
            "trailing octets after the body",
            CommandStatus.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=seq,
        )
    return pdu


class PduReader:
    """Cuts a TCP byte stream into frames: ``feed(data)``, then ``next_frame()`` (or
    iterate ``frames()``) until it has no complete frame left.

    A command_length under 16 or over ``max_size`` loses the framing: the reader raises
    a fatal ``PduError`` and refuses further input.
    """

    __slots__ = ("_broken", "_buf", "_pos", "max_size")

    def __init__(self, max_size: int = DEFAULT_MAX_PDU_SIZE) -> None:
        self._buf = bytearray()
        self._pos = 0  # start of the first unconsumed octet in _buf
        self._broken = False
        self.max_size = max_size

    def feed(self, data: bytes) -> None:
        """Append received octets."""
        if self._broken or not data:
            return
        if self._pos:
            # Drop consumed octets once per feed, not once per frame: linear overall.
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Octets received but not yet framed."""
        return len(self._buf) - self._pos

    def next_frame(self) -> bytes | None:
        """The next complete frame, or None until more octets arrive."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_SIZE:
            return None
        length, command_id, _st, seq = HEADER.unpack_from(buf, pos)
        if length < HEADER_SIZE or length > self.max_size:
            self._broken = True
            buf.clear()
            self._pos = 0
            raise PduError(
                f"command_length {length} outside 16..{self.max_size}",
                CommandStatus.ESME_RINVCMDLEN,
                command_id=command_id,
                sequence_number=seq,
                fatal=True,
            )
        if len(buf) - pos < length:
            return None
        self._pos = pos + length
        return bytes(buf[pos : pos + length])

    def frames(self) -> Iterator[bytes]:
        """Yield every complete frame buffered so far."""
        while (frame := self.next_frame()) is not None:
            yield frame


P = TypeVar("P", bound=Pdu)


def response_to(request: Pdu, status: int = 0, **body: object) -> Pdu:
    """The response PDU answering ``request`` (same sequence_number)."""
    cls = RESPONSE_FOR.get(request.command_id)
    if cls is None:
        raise ValueError(f"{type(request).__name__} has no response")
    return cls(sequence_number=request.sequence_number, command_status=status, **body)  # type: ignore[arg-type]


def error_answer(err: PduError) -> Pdu:
    """The generic_nack or ``*_resp`` that answers a frame rejected with ``err``."""
    if not err.answer_with_generic_nack and err.command_id is not None:
        cls = RESPONSE_FOR.get(err.command_id)
        if cls is not None:
            return cls(sequence_number=err.sequence_number, command_status=err.status)
    return GenericNack(sequence_number=err.sequence_number, command_status=err.status)


def with_sequence(pdu: P, sequence_number: int) -> P:
    """A copy of ``pdu`` with another sequence_number (used when forwarding)."""
    return replace(pdu, sequence_number=sequence_number)


__all__ = [
    "DEFAULT_MAX_PDU_SIZE",
    "ESM_CLASS_DELIVERY_RECEIPT",
    "ESM_CLASS_UDHI",
    "Bind",
    "BindReceiver",
    "BindReceiverResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "CommandId",
    "CommandStatus",
    "DeliverSm",
    "DeliverSmResp",
    "EncodedSubmitSm",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "Pdu",
    "PduError",
    "PduReader",
    "SubmitSm",
    "SubmitSmResp",
    "Tag",
    "Tlv",
    "Unbind",
    "UnbindResp",
    "decode",
    "encode",
    "error_answer",
    "response_to",
    "with_sequence",
]
