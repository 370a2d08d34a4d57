"""Every PDU smppgw speaks, each declared once: a frozen, slotted dataclass whose body
fields (in wire order, with their kind, maximum length and error status) are the spec
that drives both ``decode`` and ``encode`` (``gateway.smpp.fields``).

To add a PDU: declare its class here with ``@declare`` (it is then decoded, encoded, and
covered by the generated round-trip and truncation tests), and give the session its row
in ``gateway.smpp.states``. A response is found from its request by command_id, so a
request and its ``*_resp`` need nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar

from gateway.smpp.buffer import DestAddress, Tlv, UnsuccessSme
from gateway.smpp.constants import (
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_TYPE_MASK,
    ESM_CLASS_UDHI,
    INTERFACE_VERSION,
    RESPONSE_BIT,
    CommandId,
    CommandStatus,
)
from gateway.smpp.fields import (
    BodySpec,
    compile_spec,
    cstring,
    dest_addresses,
    optional_body,
    raw_body,
    sized_octets,
    u8,
    unsuccess_smes,
)

S = CommandStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """Common header fields. ``command_length`` is derived when encoding."""

    command_id: ClassVar[CommandId]
    #: The compiled field spec (set by ``declare`` on every concrete PDU class).
    spec: ClassVar[BodySpec]
    sequence_number: int
    command_status: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def body(self) -> bytes:
        """Mandatory body fields followed by the TLVs."""
        return self.spec.encode(self)

    def tlv(self, tag: int) -> bytes | None:
        """The value of the first TLV with ``tag``, or None."""
        for t in self.tlvs:
            if t.tag == tag:
                return t.value
        return None


P = TypeVar("P", bound=Pdu)

#: command_id -> the class ``decode`` makes of it.
PDU_CLASSES: dict[int, type[Pdu]] = {}


def declare(cls: type[P]) -> type[P]:
    """Compile the field spec of a concrete PDU class; register it for ``decode``."""
    cls.spec = compile_spec(cls)
    if cls.spec.decode is not None:
        if cls.command_id in PDU_CLASSES:
            raise TypeError(f"two PDU classes for {cls.command_id.name}")
        PDU_CLASSES[cls.command_id] = cls
    return cls


# --- link control (header and TLVs only) ------------------------------------------------


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Pdu):
    """generic_nack: the answer to a PDU whose header we could not accept (§4.3)."""

    command_id = CommandId.GENERIC_NACK


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Pdu):
    """enquire_link: link keep-alive, either direction (§4.11)."""

    command_id = CommandId.ENQUIRE_LINK


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    """enquire_link_resp (§4.11.2)."""

    command_id = CommandId.ENQUIRE_LINK_RESP


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Pdu):
    """unbind: orderly end of the session, either direction (§4.2)."""

    command_id = CommandId.UNBIND


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Pdu):
    """unbind_resp (§4.2.2)."""

    command_id = CommandId.UNBIND_RESP


# --- binds (§4.1) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind(Pdu):
    """The body shared by the three bind requests (§4.1.1)."""

    system_id: str = cstring(16, S.ESME_RINVSYSID)
    password: str = cstring(9, S.ESME_RINVPASWD)
    system_type: str = cstring(13, S.ESME_RINVSYSTYP)
    interface_version: int = u8(INTERFACE_VERSION)
    addr_ton: int = u8()
    addr_npi: int = u8()
    address_range: str = cstring(41, S.ESME_RINVCMDLEN)

    def __repr__(self) -> str:
        # Never let a password reach a log line through repr().
        return (
            f"{type(self).__name__}(sequence_number={self.sequence_number}, "
            f"system_id={self.system_id!r}, password='***', system_type={self.system_type!r})"
        )


@declare
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class BindTransmitter(Bind):
    """bind_transmitter: ESME will submit only."""

    command_id = CommandId.BIND_TRANSMITTER


@declare
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class BindReceiver(Bind):
    """bind_receiver: ESME will receive deliver_sm only."""

    command_id = CommandId.BIND_RECEIVER


@declare
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class BindTransceiver(Bind):
    """bind_transceiver: both directions on one connection."""

    command_id = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp(Pdu):
    """The body shared by the three bind responses: our system_id (§4.1.2).

    An error bind_resp may carry no body at all: ``omit_body`` (see ``gateway.smpp.fields``).
    """

    system_id: str = cstring(16, S.ESME_RINVSYSID)
    omit_body: bool | None = optional_body()


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(BindResp):
    """bind_transmitter_resp."""

    command_id = CommandId.BIND_TRANSMITTER_RESP


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(BindResp):
    """bind_receiver_resp."""

    command_id = CommandId.BIND_RECEIVER_RESP


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(BindResp):
    """bind_transceiver_resp."""

    command_id = CommandId.BIND_TRANSCEIVER_RESP


# --- messages (§4.4, §4.6) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessage(Pdu):
    """The body shared by submit_sm and deliver_sm (SMPP 3.4 §4.4.1, §4.6.1).

    short_message is at most 254 octets; longer content goes in message_payload.
    """

    service_type: str = cstring(6, S.ESME_RINVSERTYP)
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstring(21, S.ESME_RINVSRCADR)
    dest_addr_ton: int = u8()
    dest_addr_npi: int = u8()
    destination_addr: str = cstring(21, S.ESME_RINVDSTADR)
    esm_class: int = u8()
    protocol_id: int = u8()
    priority_flag: int = u8()
    schedule_delivery_time: str = cstring(17, S.ESME_RINVSCHED)
    validity_period: str = cstring(17, S.ESME_RINVEXPIRY)
    registered_delivery: int = u8()
    replace_if_present_flag: int = u8()
    data_coding: int = u8()
    sm_default_msg_id: int = u8()
    short_message: bytes = sized_octets()

    @property
    def udhi(self) -> bool:
        """True when short_message (or message_payload) starts with a User Data Header."""
        return bool(self.esm_class & ESM_CLASS_UDHI)


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(ShortMessage):
    """submit_sm: an ESME submits one short message."""

    command_id = CommandId.SUBMIT_SM


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(ShortMessage):
    """deliver_sm: the SMSC delivers a message or a delivery receipt (esm_class 0x04)."""

    command_id = CommandId.DELIVER_SM

    @property
    def is_receipt(self) -> bool:
        """True when esm_class marks this deliver_sm as an SMSC delivery receipt."""
        return (self.esm_class & ESM_CLASS_TYPE_MASK) == ESM_CLASS_DELIVERY_RECEIPT


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageIdResp(Pdu):
    """The body shared by submit_sm_resp and deliver_sm_resp: message_id (§4.4.2, §4.6.2).

    An error submit_sm_resp carries no body: ``omit_body`` (see ``gateway.smpp.fields``).
    """

    message_id: str = cstring(65, S.ESME_RINVMSGID)
    omit_body: bool | None = optional_body()


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(MessageIdResp):
    """submit_sm_resp: carries the message_id that receipts will refer to."""

    command_id = CommandId.SUBMIT_SM_RESP


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(MessageIdResp):
    """deliver_sm_resp (message_id is unused and normally empty).

    It keeps its (empty) message_id field even on error, as both reference libraries do,
    unless ``omit_body`` says otherwise.
    """

    command_id = CommandId.DELIVER_SM_RESP
    omit_body: bool | None = optional_body(omitted_on_error=False)


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedSubmitSm(Pdu):
    """A submit_sm held as its encoded body (what the ledger's outbox stores).

    The forwarder sends it as it is: decoding it into a ``SubmitSm`` only to encode it
    again cost 11 µs a message. Never produced by ``decode``; ``tlvs`` stays empty (the
    TLVs are inside ``encoded``).
    """

    command_id = CommandId.SUBMIT_SM
    encoded: bytes = raw_body()


# --- the other SMPP 3.4 operations (§4.1.7, §4.5, §4.7-§4.10, §4.12) ---------------------


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind(Pdu):
    """outbind: an SMSC asks an ESME to bind to it (§4.1.7); no response PDU."""

    command_id = CommandId.OUTBIND
    system_id: str = cstring(16, S.ESME_RINVSYSID)
    password: str = cstring(9, S.ESME_RINVPASWD)

    def __repr__(self) -> str:
        # Never let a password reach a log line through repr().
        return f"Outbind(sequence_number={self.sequence_number}, system_id={self.system_id!r})"


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMulti(Pdu):
    """submit_multi: one message to up to 254 SME addresses or distribution lists."""

    command_id = CommandId.SUBMIT_MULTI
    service_type: str = cstring(6, S.ESME_RINVSERTYP)
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstring(21, S.ESME_RINVSRCADR)
    dest_addresses: tuple[DestAddress, ...] = dest_addresses()
    esm_class: int = u8()
    protocol_id: int = u8()
    priority_flag: int = u8()
    schedule_delivery_time: str = cstring(17, S.ESME_RINVSCHED)
    validity_period: str = cstring(17, S.ESME_RINVEXPIRY)
    registered_delivery: int = u8()
    replace_if_present_flag: int = u8()
    data_coding: int = u8()
    sm_default_msg_id: int = u8()
    short_message: bytes = sized_octets()


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMultiResp(Pdu):
    """submit_multi_resp: the message_id, and each destination refused with its status.

    A header-only error response (as some SMSCs send) decodes too (``omit_body``).
    """

    command_id = CommandId.SUBMIT_MULTI_RESP
    message_id: str = cstring(65, S.ESME_RINVMSGID)
    unsuccess_smes: tuple[UnsuccessSme, ...] = unsuccess_smes()
    omit_body: bool | None = optional_body(omitted_on_error=False)


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(Pdu):
    """data_sm: a message whose content is in TLVs (message_payload), either way (§4.7)."""

    command_id = CommandId.DATA_SM
    service_type: str = cstring(6, S.ESME_RINVSERTYP)
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstring(65, S.ESME_RINVSRCADR)
    dest_addr_ton: int = u8()
    dest_addr_npi: int = u8()
    destination_addr: str = cstring(65, S.ESME_RINVDSTADR)
    esm_class: int = u8()
    registered_delivery: int = u8()
    data_coding: int = u8()


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(MessageIdResp):
    """data_sm_resp: the message_id (§4.7.2); no body on error, like submit_sm_resp."""

    command_id = CommandId.DATA_SM_RESP


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySm(Pdu):
    """query_sm: the state of a message submitted earlier (§4.8.1)."""

    command_id = CommandId.QUERY_SM
    message_id: str = cstring(65, S.ESME_RINVMSGID)
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstring(21, S.ESME_RINVSRCADR)


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySmResp(Pdu):
    """query_sm_resp: message_id, final_date, message_state, error_code (§4.8.2).

    A header-only error response decodes too (``omit_body``).
    """

    command_id = CommandId.QUERY_SM_RESP
    message_id: str = cstring(65, S.ESME_RINVMSGID)
    final_date: str = cstring(17, S.ESME_RINVCMDLEN)
    message_state: int = u8()
    error_code: int = u8()
    omit_body: bool | None = optional_body(omitted_on_error=False)


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSm(Pdu):
    """cancel_sm: withdraw a message not yet delivered (§4.9.1)."""

    command_id = CommandId.CANCEL_SM
    service_type: str = cstring(6, S.ESME_RINVSERTYP)
    message_id: str = cstring(65, S.ESME_RINVMSGID)
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstring(21, S.ESME_RINVSRCADR)
    dest_addr_ton: int = u8()
    dest_addr_npi: int = u8()
    destination_addr: str = cstring(21, S.ESME_RINVDSTADR)


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSmResp(Pdu):
    """cancel_sm_resp (§4.9.2): header only."""

    command_id = CommandId.CANCEL_SM_RESP


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSm(Pdu):
    """replace_sm: new content (and times) for a message not yet delivered (§4.10.1)."""

    command_id = CommandId.REPLACE_SM
    message_id: str = cstring(65, S.ESME_RINVMSGID)
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstring(21, S.ESME_RINVSRCADR)
    schedule_delivery_time: str = cstring(17, S.ESME_RINVSCHED)
    validity_period: str = cstring(17, S.ESME_RINVEXPIRY)
    registered_delivery: int = u8()
    sm_default_msg_id: int = u8()
    short_message: bytes = sized_octets()


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSmResp(Pdu):
    """replace_sm_resp (§4.10.2): header only."""

    command_id = CommandId.REPLACE_SM_RESP


@declare
@dataclass(frozen=True, slots=True, kw_only=True)
class AlertNotification(Pdu):
    """alert_notification: the SMSC tells an ESME an MS is available (§4.12); no response."""

    command_id = CommandId.ALERT_NOTIFICATION
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstring(65, S.ESME_RINVSRCADR)
    esme_addr_ton: int = u8()
    esme_addr_npi: int = u8()
    esme_addr: str = cstring(65, S.ESME_RINVDSTADR)


#: Request command_id -> the response class that answers it.
RESPONSE_FOR: dict[int, type[Pdu]] = {
    cid: PDU_CLASSES[cid | RESPONSE_BIT]
    for cid in PDU_CLASSES
    if not cid & RESPONSE_BIT and cid | RESPONSE_BIT in PDU_CLASSES
}
#: Requests that have no response PDU at all (§4.1.7, §4.12): an error is generic_nack.
NO_RESPONSE = frozenset({CommandId.OUTBIND, CommandId.ALERT_NOTIFICATION})


__all__ = [
    "NO_RESPONSE",
    "PDU_CLASSES",
    "RESPONSE_FOR",
    "AlertNotification",
    "Bind",
    "BindReceiver",
    "BindReceiverResp",
    "BindResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "CancelSm",
    "CancelSmResp",
    "DataSm",
    "DataSmResp",
    "DeliverSm",
    "DeliverSmResp",
    "DestAddress",
    "EncodedSubmitSm",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "MessageIdResp",
    "Outbind",
    "Pdu",
    "QuerySm",
    "QuerySmResp",
    "ReplaceSm",
    "ReplaceSmResp",
    "ShortMessage",
    "SubmitMulti",
    "SubmitMultiResp",
    "SubmitSm",
    "SubmitSmResp",
    "Tlv",
    "Unbind",
    "UnbindResp",
    "UnsuccessSme",
    "declare",
]
