"""SMPP 3.4 wire constants: header layout, command ids, statuses, TLV tags, field bits.

Every value here is fixed by the specification (sections cited per name) or, for the
vendor statuses 0x400-0x404, by smppgw within the range SMPP 3.4 reserves for vendors.
"""

from __future__ import annotations

import struct
from enum import IntEnum

#: command_length, command_id, command_status, sequence_number (SMPP 3.4 §3.2).
HEADER = struct.Struct(">IIII")
HEADER_SIZE = 16
#: The spec sets no maximum; this is the customary cap and our default.
DEFAULT_MAX_PDU_SIZE = 4096
#: short_message is at most 254 octets (SMPP 3.4 §5.2.22); longer text goes in message_payload.
MAX_SHORT_MESSAGE = 254
#: interface_version of SMPP 3.4 (§5.2.4).
INTERFACE_VERSION = 0x34
#: A response's command_id is its request's with this bit set (§5.1.2.1).
RESPONSE_BIT = 0x80000000
#: sequence_number runs 1..0x7FFFFFFF (§5.1.4).
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


#: Value lengths SMPP 3.4 §5.3.2 fixes for the TLVs we interpret; another length is
#: ESME_RINVPARLEN.
TLV_FIXED_LENGTH: dict[int, int] = {
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


class SmppMessageState(IntEnum):
    """message_state values (SMPP 3.4 §5.2.28): query_sm_resp, receipts' TLV.

    Not the ledger's ``ledger.models.MessageState`` (what the gateway did with a message).
    """

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


class DataCoding(IntEnum):
    """data_coding values the gateway distinguishes (SMPP 3.4 §5.2.19)."""

    SMSC_DEFAULT = 0x00  # GSM 03.38, unpacked, one character per octet
    IA5 = 0x01
    OCTET_UNSPECIFIED_2 = 0x02  # 8-bit binary
    LATIN_1 = 0x03
    OCTET_UNSPECIFIED_4 = 0x04  # 8-bit binary
    UCS2 = 0x08


#: esm_class bits (SMPP 3.4 §5.2.12): message type 0x04 marks an SMSC delivery receipt.
ESM_CLASS_DELIVERY_RECEIPT = 0x04
#: esm_class bits 5-2 hold the message type (receipt, SME ack, ...).
ESM_CLASS_TYPE_MASK = 0x3C
#: esm_class bit 6: short_message (or message_payload) starts with a User Data Header.
ESM_CLASS_UDHI = 0x40


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
    "RESPONSE_BIT",
    "TLV_FIXED_LENGTH",
    "CommandId",
    "CommandStatus",
    "DataCoding",
    "Tag",
]
