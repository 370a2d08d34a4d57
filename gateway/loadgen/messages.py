"""The message mix: what each submitted message says and how it is coded. Pure.

Four kinds, picked by weight (``--mix gsm7=70,ucs2=20,long=10``):

- ``gsm7``: one segment of unpacked GSM 03.38 (data_coding 0);
- ``ucs2``: one segment of UTF-16BE (data_coding 8);
- ``long``: a GSM 03.38 text of three segments, cut by the client itself into parts
  carrying a concatenation UDH (``05 00 03 ref total number``, esm_class UDHI), at most
  153 septets a part so that the UDH fits in 140 octets;
- ``long-ucs2``: the same with UCS-2 text, at most 67 characters (134 octets) a part.

The texts are fixed, so every part's content is built once; a long message only gets
its reference (one octet, counting up, wrapping at 256) when it is picked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from gateway.loadgen.weights import WeightedPick
from gateway.policy.jobs import encode_text
from gateway.smpp import ESM_CLASS_UDHI

#: Unpacked septets of one part of a concatenated GSM 03.38 message (140 octets - UDH).
GSM7_PART = 153
#: Octets of one part of a concatenated UCS-2 message (67 characters).
UCS2_PART = 134
#: The GSM 03.38 escape to the extension table: its pair is never split.
_ESCAPE = 0x1B


class Kind(StrEnum):
    """One kind of message in the mix."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"
    LONG = "long"
    LONG_UCS2 = "long-ucs2"


#: The text of each kind (a long one spans three GSM-7 or two UCS-2 segments).
TEXTS: dict[Kind, str] = {
    Kind.GSM7: "Your code is 482910. It expires in 10 minutes. Do not share it.",
    Kind.UCS2: "Ваш код 482910. Действует 10 минут. Никому его не сообщайте.",  # noqa: RUF001 (Cyrillic)
    Kind.LONG: (
        "Dear customer, your parcel 7781-2290 left our depot this morning and will be"
        " delivered tomorrow between 09:00 and 13:00. If nobody is at home, the courier"
        " will leave it at the nearest pick-up point and send you its address. You can"
        " change the delivery day or address on our web site with the parcel number and"
        " your postcode. Thank you for shopping with us."
    ),
    Kind.LONG_UCS2: (
        "Уважаемый клиент, ваша посылка 7781-2290 покинула склад сегодня утром и будет"
        " доставлена завтра с 09:00 до 13:00. Спасибо за покупку!"  # noqa: RUF001 (Cyrillic)
    ),
}


@dataclass(frozen=True, slots=True)
class Message:
    """One message to submit: its submit_sm parts, in order, and how they are coded."""

    kind: Kind
    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]


def split_gsm7(content: bytes, size: int = GSM7_PART) -> list[bytes]:
    """Unpacked GSM 03.38 octets cut into parts of at most ``size`` septets, never
    between an escape and the extension character it introduces."""
    parts: list[bytes] = []
    start = 0
    while start < len(content):
        end = min(start + size, len(content))
        if end < len(content) and content[end - 1] == _ESCAPE:
            end -= 1
        parts.append(content[start:end])
        start = end
    return parts


def split_ucs2(content: bytes, size: int = UCS2_PART) -> list[bytes]:
    """UTF-16BE octets cut into parts of at most ``size`` octets (an even number), never
    between the two halves of a surrogate pair."""
    size -= size % 2
    parts: list[bytes] = []
    start = 0
    while start < len(content):
        end = min(start + size, len(content))
        if end < len(content) and 0xD8 <= content[end - 2] <= 0xDB:
            end -= 2
        parts.append(content[start:end])
        start = end
    return parts


def concat_udh(reference: int, total: int, number: int) -> bytes:
    """The 8-bit-reference concatenation UDH of one part (3GPP TS 23.040 9.2.3.24.1)."""
    return bytes((5, 0, 3, reference & 0xFF, total, number))


class MessageMix:
    """Picks messages by kind weight; long messages get a fresh reference each."""

    __slots__ = ("_bodies", "_coding", "_pick", "_reference", "_singles")

    def __init__(self, weights: dict[Kind, int], rng: random.Random) -> None:
        kinds = list(weights)
        self._pick = WeightedPick(kinds, [weights[k] for k in kinds], rng)
        self._coding: dict[Kind, int] = {}
        self._bodies: dict[Kind, list[bytes]] = {}
        self._singles: dict[Kind, Message] = {}
        for kind in kinds:
            coding, content = encode_text(TEXTS[kind], "ucs2" if "ucs2" in kind else "gsm7")
            self._coding[kind] = coding
            if kind in (Kind.GSM7, Kind.UCS2):
                self._singles[kind] = Message(kind, coding, 0, (content,))
            elif kind is Kind.LONG:
                self._bodies[kind] = split_gsm7(content)
            else:
                self._bodies[kind] = split_ucs2(content)
        # Random start: two runs against one gateway rarely reuse a reference for the
        # same destination inside its concatenation window.
        self._reference = rng.randrange(256)

    def __call__(self) -> Message:
        """The next message."""
        kind = self._pick()
        single = self._singles.get(kind)
        if single is not None:
            return single
        bodies = self._bodies[kind]
        self._reference = reference = (self._reference + 1) & 0xFF
        total = len(bodies)
        parts = tuple(
            concat_udh(reference, total, n) + body for n, body in enumerate(bodies, start=1)
        )
        return Message(kind, self._coding[kind], ESM_CLASS_UDHI, parts)


def parse_mix(weights: dict[str, int]) -> dict[Kind, int]:
    """Names to kinds; ValueError naming the kinds when one is unknown."""
    known = {k.value: k for k in Kind}
    unknown = [name for name in weights if name.lower() not in known]
    if unknown:
        raise ValueError(f"unknown message kind {unknown[0]!r} (kinds: {', '.join(known)})")
    return {known[name.lower()]: weight for name, weight in weights.items()}


__all__ = [
    "GSM7_PART",
    "TEXTS",
    "UCS2_PART",
    "Kind",
    "Message",
    "MessageMix",
    "concat_udh",
    "parse_mix",
    "split_gsm7",
    "split_ucs2",
]
