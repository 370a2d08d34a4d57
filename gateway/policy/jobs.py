"""A message sent over HTTP, as the submit_sm an ESME would have sent for it. Pure.

``POST /sms/{account}/jobs`` names a sender, receivers and a text. For each receiver this
builds the submit_sm PDU a client would submit over SMPP, so that the one submit policy
(:class:`gateway.policy.submit.Submitter`: sender and destination checks, pricing, the
atomic debit, the outbox) decides it exactly as it decides an SMPP submit. Nothing here
checks a rule or prices anything: a sender that is not registered, a destination that is
not a number or a text too long is refused by the Submitter, with its status and reason.
"""

from __future__ import annotations

import re

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from gateway.policy.addresses import NPI_E164, TON_ALPHANUMERIC, TON_INTERNATIONAL
from gateway.policy.pricing import DC_DEFAULT, DC_UCS2
from gateway.smpp import SubmitSm, Tag, Tlv
from ledger.models import Account

#: The codings a job may ask for, and their data_coding.
CODINGS = {"gsm7": DC_DEFAULT, "ucs2": DC_UCS2}
#: Most octets short_message carries (SMPP 3.4 §5.2.21); longer goes in message_payload.
MAX_SHORT_MESSAGE = 254
#: TON 3, "network specific", which the gateway takes as a short code.
TON_SHORT_CODE = 3
#: NPI "unknown", registered for alphanumeric senders and short codes.
NPI_UNKNOWN = 0
#: registered_delivery asking for a final receipt, success or failure (SMPP 3.4 §5.2.17).
RECEIPT_REQUESTED = 1

_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_DIGITS = re.compile(r"[0-9]+")


def encode_text(text: str, coding: str | None) -> tuple[int, bytes]:
    """``(data_coding, content)`` of ``text``: unpacked GSM 03.38 or UTF-16BE (UCS-2).

    ``coding`` None picks GSM 03.38 when every character has a septet, UCS-2 otherwise
    (what a handset does). ``"gsm7"`` for a text it cannot carry raises ValueError.
    """
    if coding is not None and coding not in CODINGS:
        raise ValueError(f"coding is one of {', '.join(CODINGS)}, not {coding!r}")
    if coding != "ucs2":
        try:
            return DC_DEFAULT, text.encode("gsm03.38")
        except UnicodeEncodeError as e:
            if coding == "gsm7":
                raise ValueError(
                    f"character {text[e.start]!r} is not in GSM 03.38: send it with coding ucs2"
                ) from None
    return DC_UCS2, text.encode("utf-16-be")


def sender_of(account: Account, address: str) -> tuple[int, int]:
    """The (TON, NPI) to submit ``address`` with: the account's registered sender with
    that address, else the TON its form suggests (then the Submitter refuses it as not
    registered, as it would refuse the same submit_sm)."""
    for s in account.senders:
        if s.address == address:
            return s.ton, s.npi
    if _SHORT_CODE.fullmatch(address):
        return TON_SHORT_CODE, NPI_UNKNOWN
    if _DIGITS.fullmatch(address):
        return TON_INTERNATIONAL, NPI_E164
    return TON_ALPHANUMERIC, NPI_UNKNOWN


def submit_pdu(
    *,
    sender: tuple[int, int, str],
    receiver: str,
    data_coding: int,
    content: bytes,
    receipt: bool = False,
) -> SubmitSm:
    """The submit_sm for one receiver (international digits, without '+').

    ``sender`` is (TON, NPI, address). Content over 254 octets goes in message_payload,
    as SMPP 3.4 has a client send it; the Submitter prices either form alike.
    """
    ton, npi, address = sender
    long = len(content) > MAX_SHORT_MESSAGE
    return SubmitSm(
        sequence_number=1,
        source_addr_ton=ton,
        source_addr_npi=npi,
        source_addr=address,
        dest_addr_ton=TON_INTERNATIONAL,
        dest_addr_npi=NPI_E164,
        destination_addr=receiver,
        registered_delivery=RECEIPT_REQUESTED if receipt else 0,
        data_coding=data_coding,
        short_message=b"" if long else content,
        tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, content),) if long else (),
    )
