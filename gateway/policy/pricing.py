"""What a submit_sm costs: segments on the air interface x the destination's rate. Pure.

Segment rules (GSM 03.40/03.38 as SMPP 3.4 carries them; docs/pricing.md has the tables):

- One SMS carries 140 octets of user data. A message that does not fit in one is split into
  parts that each carry a 6-octet concatenation User Data Header (``05 00 03 RR TT SS``),
  leaving 134 octets: 153 GSM septets, 67 UCS-2 code units or 134 octets per part.
- data_coding 0 (SMSC default alphabet = GSM 03.38, unpacked, one septet per octet) and
  1 (IA5/ASCII) are 7-bit: 160 septets in one SMS. Extension characters (``^ { } \\ [ ~ ] |
  €`` and form feed) take two septets, ESC + char, and an escape pair is never split across
  parts, so a long text can need one part more than ``ceil(septets / 153)``.
- data_coding 8 (UCS-2, in practice UTF-16BE): 70 units in one SMS, 67 per part; a
  surrogate pair (emoji) is never split across parts.
- data_coding 2 and 4 (8-bit binary) and 3 (Latin-1) are billed as octets: 140 / 134.
- Content is short_message, or the message_payload TLV (then short_message must be empty).
  A part the client segmented itself (esm_class UDHI with a concatenation UDH, or SAR TLVs)
  is billed on its own, normally 1 segment; so a long text costs the same whether it comes
  as UDH parts, SAR parts or one message_payload (tests/unit/policy/test_pricing.py proves
  it).

Every refusal is a ``PricingError`` carrying the ``CommandStatus`` for the submit_sm_resp.
Cost is an integer number of milli-credits; nothing here allocates more than the content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gsm0338.charset import BASIC_CHARACTER_SET, BASIC_CHARACTER_SET_EXTENSION

from gateway.policy.tariff import Rate, Tariff
from gateway.smpp import ESM_CLASS_UDHI, CommandStatus, SubmitSm, Tag

S = CommandStatus

#: Hard limit on the parts of one concatenated message: TT in the UDH is one octet.
#: Callers pass a lower ``max_parts`` (the operator promises 6 parts, 918 GSM chars).
MAX_PARTS = 255
#: User data octets in one SMS (GSM 03.40 TP-UD).
SMS_OCTETS = 140
#: ``05 00 03 RR TT SS``: UDHL + concatenation IE with an 8-bit reference.
CONCAT_UDH_OCTETS = 6
#: ``06 08 04 RRRR TT SS``: the same with a 16-bit reference.
CONCAT16_UDH_OCTETS = 7
#: Octets a concatenation IE adds to an existing UDH (IEI, IEDL, RR, TT, SS).
_CONCAT_IE_OCTETS = 5
#: Most content octets one SMS can carry: 160 unpacked GSM septets.
_MAX_OCTETS_PER_PART = SMS_OCTETS * 8 // 7

DC_DEFAULT = 0  # SMSC default alphabet: GSM 03.38 unpacked
DC_IA5 = 1
DC_BINARY = 2
DC_LATIN1 = 3
DC_BINARY_ALT = 4
DC_UCS2 = 8
#: data_coding values the gateway carries; any other is ESME_RINVDCS.
SUPPORTED_DATA_CODINGS = frozenset(
    {DC_DEFAULT, DC_IA5, DC_BINARY, DC_LATIN1, DC_BINARY_ALT, DC_UCS2}
)

_ESC = 0x1B
# GSM 03.38 validation. The gsm0338 codec (the field's library) is the source of truth for
# the character tables below, but decoding through it costs ~11 us for 160 octets and
# ~62 us for 918 (Codec().decode is a per-octet Python loop; best of 5 timeit runs on this
# machine, CPython 3.11), several times the rest of a quote. bytes.translate plus one regex
# scan for escapes run in C: ~0.2 us for 160 octets, ~0.4 us for 918. The tests check this
# validator agrees with gsm0338's strict decoding on arbitrary octets.
_GSM7_BASIC = bytes(k for k in BASIC_CHARACTER_SET if k != _ESC)
# An ESC not followed by an extension character (ESC ESC, ESC 'A', a trailing ESC). Valid
# pairs never overlap (no extension character is ESC), so one regex scan finds any.
_BAD_ESCAPE = re.compile(
    b"\\x1b(?![" + b"".join(b"\\x%02x" % k for k in BASIC_CHARACTER_SET_EXTENSION) + b"])"
)
# IA5 characters that are extension characters once the SMSC converts them to GSM 03.38.
_IA5_EXTENSION = b"^{}\\[~]|"
_ALL_OCTETS = bytes(range(256))
# Deleting these leaves exactly the IA5 octets that cost two septets.
_NOT_IA5_EXTENSION = bytes(b for b in _ALL_OCTETS if b not in _IA5_EXTENSION)


class PricingError(Exception):
    """A submit_sm that cannot be priced; ``status`` is what to answer it with."""

    def __init__(self, message: str, status: CommandStatus) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Quote:
    """The price of one submit_sm: ``segments`` x ``rate.milli`` = ``cost`` milli-credits."""

    segments: int
    rate: Rate
    cost: int


def count_segments(content: bytes, data_coding: int, *, udh_len: int = 0) -> int:
    """How many SMS the user data ``content`` takes on the air interface.

    ``content`` excludes any User Data Header. ``udh_len`` is the size of a UDH (UDHL octet
    included) that the content already travels with, assumed to hold a concatenation IE:
    every part then carries it, so each holds ``140 - udh_len`` octets. With ``udh_len`` 0
    one SMS holds 140 octets and a longer message is split with a 6-octet concatenation UDH.
    An empty message is one segment. Raises ``PricingError`` for an unsupported
    data_coding (``ESME_RINVDCS``), content invalid in its alphabet (``ESME_RINVGSM7``),
    an odd UCS-2 length or a UDH that leaves no room (``ESME_RINVMSGLEN``).
    """
    if udh_len < 0:
        raise ValueError(f"udh_len must be >= 0, not {udh_len}")
    if data_coding == DC_DEFAULT:
        _check_gsm7(content)
        return _count_7bit(content, udh_len)
    if data_coding == DC_UCS2:
        return _count_ucs2(content, udh_len)
    if data_coding in (DC_BINARY, DC_LATIN1, DC_BINARY_ALT):
        single = SMS_OCTETS - udh_len
        per = SMS_OCTETS - (udh_len or CONCAT_UDH_OCTETS)
        _check_room(per, 1, udh_len)
        return 1 if len(content) <= single else -(-len(content) // per)
    if data_coding == DC_IA5:
        return _count_7bit(_ia5_layout(content), udh_len)
    raise PricingError(f"data_coding 0x{data_coding:02x} is not supported", S.ESME_RINVDCS)


def quote(submit: SubmitSm, tariff: Tariff, *, max_parts: int = MAX_PARTS) -> Quote:
    """Price ``submit``: its segments times the rate of the longest matching tariff prefix.

    ``max_parts`` caps the segments of one message, and the declared total of a message the
    client segmented itself (UDH TT or sar_total_segments); above it is ``ESME_RINVMSGLEN``.
    Raises ``PricingError`` (see ``count_segments``; also ``ESME_RINVMSGLEN`` for
    short_message together with message_payload or a malformed UDH, ``ESME_RINVDSTADR``
    when no tariff prefix matches the destination).
    """
    if not 1 <= max_parts <= MAX_PARTS:
        raise ValueError(f"max_parts must be 1..{MAX_PARTS}, not {max_parts}")
    if submit.data_coding not in SUPPORTED_DATA_CODINGS:
        # First, as the product spec orders the checks: a 64 KB payload in an unsupported
        # coding is ESME_RINVDCS, not a length error.
        raise PricingError(
            f"data_coding 0x{submit.data_coding:02x} is not supported", S.ESME_RINVDCS
        )
    content = _content(submit)
    # Cheap guard before any per-octet work: no coding puts more than 160 content octets
    # (unpacked septets) in a part, so a 64 KB payload is refused without being scanned.
    if len(content) > max_parts * _MAX_OCTETS_PER_PART:
        raise PricingError(
            f"{len(content)} octets cannot fit in {max_parts} parts", S.ESME_RINVMSGLEN
        )
    if submit.esm_class & ESM_CLASS_UDHI:
        segments = _count_with_udh(content, submit.data_coding, max_parts)
    else:
        segments = _count_plain(submit, content, max_parts)
    if segments > max_parts:
        raise PricingError(
            f"message needs {segments} parts, at most {max_parts} allowed", S.ESME_RINVMSGLEN
        )
    rate = tariff.rate_for(submit.destination_addr)
    if rate is None:
        raise PricingError(
            f"no tariff rate for destination {submit.destination_addr!r}", S.ESME_RINVDSTADR
        )
    return Quote(segments, rate, segments * rate.milli)


# ---------------------------------------------------------------------------------------
# Content and headers


def _content(submit: SubmitSm) -> bytes:
    """short_message, or message_payload when present (then sm_length must be 0)."""
    payload = submit.tlv(Tag.MESSAGE_PAYLOAD)
    if payload is None:
        return submit.short_message
    if submit.short_message:
        # SMPP 3.4 §5.3.2.32: use one or the other; sm_length must be 0 with a payload.
        raise PricingError(
            "short_message and message_payload both present (sm_length must be 0)",
            S.ESME_RINVMSGLEN,
        )
    return payload


def _count_plain(submit: SubmitSm, content: bytes, max_parts: int) -> int:
    """Segments of content without a UDH; a SAR part is billed as one concatenated part."""
    total = submit.tlv(Tag.SAR_TOTAL_SEGMENTS)
    if not total or total[0] <= 1:  # the codec guarantees 1 octet; b"" only when built in code
        return count_segments(content, submit.data_coding)
    if total[0] > max_parts:
        raise PricingError(
            f"sar_total_segments {total[0]} over the {max_parts} parts allowed",
            S.ESME_RINVMSGLEN,
        )
    # The SMSC turns SAR TLVs into a concatenation UDH on the air, so the part has the
    # room of a UDH part (153 septets), not of a single SMS (160).
    return count_segments(content, submit.data_coding, udh_len=CONCAT_UDH_OCTETS)


def _count_with_udh(content: bytes, data_coding: int, max_parts: int) -> int:
    """Segments of content that starts with a UDH (esm_class UDHI).

    A UDH whose lengths run past the content is ``ESME_RINVMSGLEN``: the fault is a length
    octet, as for an sm_length running past the PDU, not the esm_class flag.
    """
    if not content:
        raise PricingError("esm_class has UDHI but the message is empty", S.ESME_RINVMSGLEN)
    udh_len = content[0] + 1
    if udh_len > len(content):
        raise PricingError(
            f"UDH length {content[0]} runs past the {len(content)}-octet message",
            S.ESME_RINVMSGLEN,
        )
    has_concat = False
    pos = 1
    while pos < udh_len:
        if pos + 2 > udh_len:
            raise PricingError("truncated information element in the UDH", S.ESME_RINVMSGLEN)
        iei, iedl = content[pos], content[pos + 1]
        end = pos + 2 + iedl
        if end > udh_len:
            raise PricingError(f"UDH element 0x{iei:02x} runs past the header", S.ESME_RINVMSGLEN)
        # IEI 0x00: RR TT SS; IEI 0x08: RR RR TT SS. TT is the second-to-last octet.
        if (iei == 0x00 and iedl == 3) or (iei == 0x08 and iedl == 4):
            has_concat = True
            total = content[end - 2]
            if total > max_parts:
                raise PricingError(
                    f"concatenated message of {total} parts, at most {max_parts} allowed",
                    S.ESME_RINVMSGLEN,
                )
        pos = end
    user_data = content[udh_len:]
    segments = count_segments(user_data, data_coding, udh_len=udh_len)
    if segments > 1 and not has_concat:
        # A header without concatenation (ports, say) must gain one to be split.
        segments = count_segments(user_data, data_coding, udh_len=udh_len + _CONCAT_IE_OCTETS)
    return segments


# ---------------------------------------------------------------------------------------
# Per-coding counters


def _check_room(per_part: int, minimum: int, udh_len: int) -> None:
    # Below two units a part could not hold an escape or surrogate pair and the split
    # would not progress; such a header is nonsense anyway.
    if per_part < minimum:
        raise PricingError(f"a {udh_len}-octet UDH leaves no room for user data", S.ESME_RINVMSGLEN)


def _check_gsm7(content: bytes) -> None:
    """Raise ``ESME_RINVGSM7`` unless ``content`` is unpacked GSM 03.38 (default tables)."""
    rest = content.translate(None, _GSM7_BASIC)
    if not rest:
        return  # the usual case: no escape, no octet over 0x7f
    if rest.count(_ESC) != len(rest):
        raise PricingError("octet over 0x7f in GSM 03.38 content", S.ESME_RINVGSM7)
    bad = _BAD_ESCAPE.search(content)
    if bad is not None:
        raise PricingError(
            f"escape at octet {bad.start()} not followed by a GSM 03.38 extension character",
            S.ESME_RINVGSM7,
        )


def _ia5_layout(content: bytes) -> bytes:
    """IA5 content rewritten with ESC before each character that costs two GSM septets."""
    if content.translate(None, _ALL_OCTETS[:0x80]):
        raise PricingError("octet over 0x7f in IA5 content", S.ESME_RINVGSM7)
    if _ESC in content:
        # An ESC control is not GSM text: count it as one septet, not as a pair start.
        content = content.replace(b"\x1b", b" ")
    if not content.translate(None, _NOT_IA5_EXTENSION):
        return content
    out = bytearray()
    for b in content:
        if b in _IA5_EXTENSION:
            out.append(_ESC)
        out.append(b)
    return bytes(out)


def _count_7bit(septets: bytes, udh_len: int) -> int:
    """Parts for unpacked septets in which every ESC starts a two-septet pair."""
    n = len(septets)
    # A UDH of L octets occupies ceil(8L/7) septets (fill bits included): 6 -> 7, 7 -> 8.
    if n <= (SMS_OCTETS - udh_len) * 8 // 7:
        return 1
    per = (SMS_OCTETS - (udh_len or CONCAT_UDH_OCTETS)) * 8 // 7
    _check_room(per, 2, udh_len)
    if _ESC not in septets:
        return -(-n // per)
    parts, start = 1, 0
    while n - start > per:
        end = start + per
        if septets[end - 1] == _ESC:
            end -= 1  # the pair would straddle the boundary: it moves to the next part
        start = end
        parts += 1
    return parts


def _count_ucs2(content: bytes, udh_len: int) -> int:
    """Parts for UTF-16BE content; a surrogate pair never straddles two parts."""
    n = len(content)
    if n % 2:
        raise PricingError(f"UCS-2 content of odd length {n}", S.ESME_RINVMSGLEN)
    if n <= (SMS_OCTETS - udh_len) & ~1:
        return 1
    per = (SMS_OCTETS - (udh_len or CONCAT_UDH_OCTETS)) & ~1  # whole code units
    _check_room(per, 4, udh_len)
    parts, start = 1, 0
    while n - start > per:
        end = start + per
        # High surrogate (D800-DBFF) last, low surrogate (DC00-DFFF) first in the next part.
        if 0xD8 <= content[end - 2] <= 0xDB and 0xDC <= content[end] <= 0xDF:
            end -= 2
        start = end
        parts += 1
    return parts


__all__ = [
    "CONCAT16_UDH_OCTETS",
    "CONCAT_UDH_OCTETS",
    "MAX_PARTS",
    "SMS_OCTETS",
    "SUPPORTED_DATA_CODINGS",
    "PricingError",
    "Quote",
    "count_segments",
    "quote",
]
