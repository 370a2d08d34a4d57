"""Parts of a long message a client segmented itself: consistent, or refused. Pure.

A part says which message it belongs to (a reference), how many parts the message has
(the total) and which one it is (its number), in a concatenation UDH (``05 00 03 RR TT
SS`` or ``06 08 04 RRRR TT SS``, esm_class UDHI) or in the SAR TLVs
(``sar_msg_ref_num``, ``sar_total_segments``, ``sar_segment_seqnum``). ``concat_part``
reads one part and refuses what no message can be:

- a number beyond the declared total, a number or total of 0: ``ESME_RINVMSGLEN`` in a
  UDH (the header is part of the message), ``ESME_RINVOPTPARAMVAL`` in SAR TLVs;
- SAR TLVs given in part only (a reference without a total ...): ``ESME_RMISSINGOPTPARAM``;
- a UDH and SAR TLVs that describe different parts: ``ESME_RINVOPTPARAMVAL``.

(More parts than ``[pricing] max_parts`` is the price's refusal, ``ESME_RINVMSGLEN``.)

``ConcatTracker`` then checks a part against the earlier parts of the same message (same
account, destination and reference): a total that changes is ``ESME_RINVOPTPARAMVAL``
("inconsistent references"). A message is forgotten once all its parts came, or
``window_s`` after its last part, so that a reference the client reuses later (an 8-bit
one wraps every 256 messages) starts afresh; at most ``max_messages`` are remembered.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from gateway.smpp import ESM_CLASS_UDHI, CommandStatus, SubmitSm, Tag

S = CommandStatus
#: How long the parts of an unfinished message are remembered (seconds).
CONCAT_WINDOW_S = 600.0
#: Most unfinished messages remembered at once (the oldest are forgotten first).
MAX_TRACKED = 100_000


@dataclass(frozen=True, slots=True)
class ConcatPart:
    """One part of a concatenated message: its reference, the total and its number."""

    reference: int
    total: int
    number: int


class ConcatError(Exception):
    """A part no message can be; ``status`` answers it."""

    def __init__(self, message: str, status: CommandStatus) -> None:
        super().__init__(message)
        self.status = status


def _udh_part(content: bytes) -> ConcatPart | None:
    """The concatenation IE of a UDH, if any (a malformed UDH is the price's refusal)."""
    if not content or content[0] + 1 > len(content):
        return None
    end = content[0] + 1
    pos = 1
    while pos + 2 <= end:
        iei, iedl = content[pos], content[pos + 1]
        data = content[pos + 2 : pos + 2 + iedl]
        if len(data) < iedl:
            return None
        if iei == 0x00 and iedl == 3:
            return ConcatPart(data[0], data[1], data[2])
        if iei == 0x08 and iedl == 4:
            return ConcatPart(data[0] << 8 | data[1], data[2], data[3])
        pos += 2 + iedl
    return None


def _sar_part(pdu: SubmitSm) -> ConcatPart | None:
    ref, total, number = (
        pdu.tlv(Tag.SAR_MSG_REF_NUM),
        pdu.tlv(Tag.SAR_TOTAL_SEGMENTS),
        pdu.tlv(Tag.SAR_SEGMENT_SEQNUM),
    )
    if ref is None and total is None and number is None:
        return None
    if ref is None or total is None or number is None:
        raise ConcatError("SAR TLVs given in part: all three are needed", S.ESME_RMISSINGOPTPARAM)
    if len(ref) != 2 or len(total) != 1 or len(number) != 1:
        raise ConcatError("SAR TLV of the wrong length", S.ESME_RINVPARLEN)
    return ConcatPart(int.from_bytes(ref, "big"), total[0], number[0])


def _check(part: ConcatPart, status: CommandStatus, where: str) -> None:
    if part.total == 0 or part.number == 0:
        raise ConcatError(f"{where}: part {part.number} of {part.total}", status)
    if part.number > part.total:
        raise ConcatError(
            f"{where}: part {part.number} beyond the declared total {part.total}", status
        )


def concat_part(pdu: SubmitSm) -> ConcatPart | None:
    """The part ``pdu`` is (None for a message not segmented by the client); raises
    ``ConcatError`` for one no message can be (module docstring)."""
    udhi = pdu.esm_class & ESM_CLASS_UDHI
    if not udhi and not pdu.tlvs:
        return None  # the common case, on every submit: nothing to read
    sar = _sar_part(pdu)
    if sar is not None:
        _check(sar, S.ESME_RINVOPTPARAMVAL, "SAR")
    udh = _udh_part(pdu.short_message) if udhi else None
    if udh is not None:
        _check(udh, S.ESME_RINVMSGLEN, "UDH")
        if sar is not None and sar != udh:
            raise ConcatError("UDH and SAR TLVs describe different parts", S.ESME_RINVOPTPARAMVAL)
    return udh or sar


class ConcatTracker:
    """The totals the unfinished messages of every account declared (module docstring)."""

    __slots__ = ("_messages", "max_messages", "window_s")

    def __init__(
        self, *, window_s: float = CONCAT_WINDOW_S, max_messages: int = MAX_TRACKED
    ) -> None:
        self.window_s = window_s
        self.max_messages = max_messages
        #: (system_id, destination, reference) -> (total, numbers seen, last seen)
        self._messages: OrderedDict[tuple[str, str, int], tuple[int, frozenset[int], float]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._messages)

    def check(self, system_id: str, destination: str, part: ConcatPart, now: float) -> None:
        """Raise ``ConcatError`` when ``part`` contradicts its message's earlier parts;
        remember it otherwise. A part seen before (a client retry) is allowed."""
        self._expire(now)
        key = (system_id, destination, part.reference)
        known = self._messages.pop(key, None)
        seen: frozenset[int] = frozenset()
        if known is not None:
            total, seen, _ = known
            if total != part.total:
                self._messages[key] = known  # the first declaration stands
                raise ConcatError(
                    f"reference {part.reference}: {part.total} parts, earlier parts said {total}",
                    S.ESME_RINVOPTPARAMVAL,
                )
        seen = seen | {part.number}
        if len(seen) < part.total:
            self._messages[key] = (part.total, seen, now)
            while len(self._messages) > self.max_messages:
                self._messages.popitem(last=False)

    def forget(self, system_id: str, destination: str, part: ConcatPart) -> None:
        """Undo ``check`` for a part that was then refused (not charged, not sent)."""
        key = (system_id, destination, part.reference)
        known = self._messages.get(key)
        if known is not None:
            total, seen, at = known
            rest = seen - {part.number}
            if rest:
                self._messages[key] = (total, rest, at)
            else:
                del self._messages[key]

    def _expire(self, now: float) -> None:
        messages = self._messages
        while messages:
            key, (_, _, at) = next(iter(messages.items()))
            if now - at < self.window_s:
                return
            del messages[key]
