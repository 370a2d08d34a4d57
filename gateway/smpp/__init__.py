"""The sans-IO SMPP 3.4 core: constants, codec, frame reader, session. No asyncio, no ledger.

- ``constants``: command ids, statuses (with smppgw's vendor range), TLV tags, field bits;
- ``errors``: ``ProtocolError`` and its kinds, each carrying the status that answers it;
- ``buffer`` / ``fields`` / ``pdus`` / ``codec``: each PDU declared once as a field spec
  that drives both ``decode`` and ``encode``;
- ``reader``: ``PduReader`` cuts a byte stream into frames;
- ``states`` / ``events`` / ``session``: the session machine, its transition table and
  the events it reports.

Everything the rest of the gateway uses is importable from here.
"""

from gateway.smpp.buffer import Tlv
from gateway.smpp.codec import decode, encode, error_answer, response_to, with_sequence
from gateway.smpp.constants import (
    DEFAULT_MAX_PDU_SIZE,
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_TYPE_MASK,
    ESM_CLASS_UDHI,
    HEADER,
    HEADER_SIZE,
    INTERFACE_VERSION,
    MAX_SEQUENCE,
    MAX_SHORT_MESSAGE,
    RESPONSE_BIT,
    TLV_FIXED_LENGTH,
    CommandId,
    CommandStatus,
    DataCoding,
    Tag,
)
from gateway.smpp.errors import LocalProtocolError, PduError, ProtocolError, RemoteProtocolError
from gateway.smpp.events import (
    Bound,
    Event,
    MustClose,
    PduRejected,
    RequestReceived,
    RequestRefused,
    RequestTimedOut,
    ResponseReceived,
    Unbound,
    UnsolicitedResponse,
)
from gateway.smpp.pdus import (
    PDU_CLASSES,
    RESPONSE_FOR,
    Bind,
    BindReceiver,
    BindReceiverResp,
    BindResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    DeliverSm,
    DeliverSmResp,
    EncodedSubmitSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    MessageIdResp,
    Pdu,
    ShortMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from gateway.smpp.reader import PduReader
from gateway.smpp.session import Session, SessionConfig
from gateway.smpp.states import TRANSITIONS, Io, Role, State, Trigger

__all__ = [
    "DEFAULT_MAX_PDU_SIZE",
    "ESM_CLASS_DELIVERY_RECEIPT",
    "ESM_CLASS_TYPE_MASK",
    "ESM_CLASS_UDHI",
    "HEADER",
    "HEADER_SIZE",
    "INTERFACE_VERSION",
    "MAX_SEQUENCE",
    "MAX_SHORT_MESSAGE",
    "PDU_CLASSES",
    "RESPONSE_BIT",
    "RESPONSE_FOR",
    "TLV_FIXED_LENGTH",
    "TRANSITIONS",
    "Bind",
    "BindReceiver",
    "BindReceiverResp",
    "BindResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "Bound",
    "CommandId",
    "CommandStatus",
    "DataCoding",
    "DeliverSm",
    "DeliverSmResp",
    "EncodedSubmitSm",
    "EnquireLink",
    "EnquireLinkResp",
    "Event",
    "GenericNack",
    "Io",
    "LocalProtocolError",
    "MessageIdResp",
    "MustClose",
    "Pdu",
    "PduError",
    "PduReader",
    "PduRejected",
    "ProtocolError",
    "RemoteProtocolError",
    "RequestReceived",
    "RequestRefused",
    "RequestTimedOut",
    "ResponseReceived",
    "Role",
    "Session",
    "SessionConfig",
    "ShortMessage",
    "State",
    "SubmitSm",
    "SubmitSmResp",
    "Tag",
    "Tlv",
    "Trigger",
    "Unbind",
    "UnbindResp",
    "Unbound",
    "UnsolicitedResponse",
    "decode",
    "encode",
    "error_answer",
    "response_to",
    "with_sequence",
]
