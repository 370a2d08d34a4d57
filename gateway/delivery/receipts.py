"""Delivery receipt text (SMPP 3.4 Appendix B): lenient parse, standard format. Pure.

Upstreams write receipts in many dialects; ``parse_receipt`` accepts what is seen in the
wild and ``format_receipt`` always writes the standard form our clients' libraries parse::

    id:1 sub:001 dlvrd:001 submit date:2401311200 done date:2401311201 stat:DELIVRD err:000 text:Hi

Parsing tolerates any field order, any case in the keys and stat, extra or missing spaces
around ':', ``submit_date``/``submitdate`` spellings, dates with or without seconds
(``YYMMDDhhmm[ss]``), ids in hex or decimal (kept verbatim: matching them is the ledger's
job, see ``ledger.rules.receipts.upstream_keys``), a missing ``text:`` and long stat words
(``DELIVERED``).
Only ``id`` and ``stat`` are required.

Message states (``MessageState``, the message_state TLV values) follow SMPP 3.4 §5.2.28.
Every state but ENROUTE is final, as SMPP 5.0 §4.7.15 spells out (ACCEPTED and UNKNOWN
included); stat words we do not know map to UNKNOWN, except the few intermediate words
some SMSCs send (``BUFFRED``, ``SCHEDULED``...), which map to ENROUTE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.smpp import SmppMessageState

#: The text: field holds at most the first 20 characters of the message (Appendix B).
MAX_TEXT = 20
#: Standard stat words (7 characters each).
STAT_WORDS = (
    "DELIVRD",
    "EXPIRED",
    "DELETED",
    "UNDELIV",
    "ACCEPTD",
    "UNKNOWN",
    "REJECTD",
    "ENROUTE",
)


class ReceiptParseError(ValueError):
    """Text that is not a delivery receipt we can use (no id or no stat)."""


#: message_state values, from the SMPP core (the name this module always used).
MessageState = SmppMessageState


_STATE_FOR_STAT: dict[str, MessageState] = {
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
}
#: Long or vendor words for the standard stats, normalised by ``parse_receipt``.
_STAT_FOR_STATE: dict[int, str] = {v: k for k, v in _STATE_FOR_STAT.items()}
_STAT_ALIASES: dict[str, str] = {
    "DELIVERED": "DELIVRD",
    "DELIVER": "DELIVRD",
    "UNDELIVERED": "UNDELIV",
    "UNDELIVERABLE": "UNDELIV",
    "FAILED": "UNDELIV",
    "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD",
    "EXPIRD": "EXPIRED",
    "DELETD": "DELETED",
}
#: Words some SMSCs send for "not yet": not final, whatever they are called.
_INTERMEDIATE = frozenset({"ENROUTE", "BUFFRED", "BUFFERED", "SCHEDULED", "SCHEDLD", "PENDING"})

# A key, ':' and the spaces around it. "submit date" needs its own alternative; "sub" must
# not match the start of "submit" (the ':' after optional spaces makes sure it cannot).
_KEY_RE = re.compile(
    r"(?<![A-Za-z0-9_])(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery receipt. Dates are naive (SMSCs send local time without a zone)."""

    id: str
    sub: int
    dlvrd: int
    submit_date: datetime | None
    done_date: datetime | None
    stat: str
    err: str
    text: str

    @property
    def message_state(self) -> MessageState:
        """The message_state TLV value for ``stat``."""
        return MessageState(message_state_for(self.stat))

    @property
    def is_final(self) -> bool:
        """True when no later receipt is expected for this message."""
        return is_final(self.stat)


def message_state_for(stat: str) -> int:
    """The message_state (``MessageState``) for a stat word, any case, aliases accepted."""
    word = stat.strip().upper()
    word = _STAT_ALIASES.get(word, word)
    state = _STATE_FOR_STAT.get(word)
    if state is not None:
        return state
    return MessageState.ENROUTE if word in _INTERMEDIATE else MessageState.UNKNOWN


def stat_for_state(state: int) -> str:
    """The stat word for a message_state TLV value (the inverse of message_state_for)."""
    return _STAT_FOR_STATE.get(state, "UNKNOWN")


def new_receipt(message_id: str, stat: str, *, text: str = "") -> Receipt:
    """A receipt for ``message_id`` reaching ``stat`` now (one submit, one part)."""
    now = datetime.now(UTC)
    delivered = stat == "DELIVRD"
    return Receipt(
        id=message_id,
        sub=1,
        dlvrd=1 if delivered else 0,
        submit_date=now,
        done_date=now,
        stat=stat,
        err="000" if delivered else "001",
        text=text,
    )


def is_final(stat: str) -> bool:
    """True unless ``stat`` says the message is still on its way (ENROUTE and the like)."""
    return message_state_for(stat) != MessageState.ENROUTE


def parse_receipt(text: bytes | str) -> Receipt:
    """Parse receipt text leniently (see the module docstring); ``ReceiptParseError`` if unusable.

    Bytes are read as Latin-1, which maps every octet and keeps the ASCII keys intact
    whatever the encoding of the ``text:`` field.
    """
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    fields = _split_fields(text)
    rid = fields.get("id", "")
    if not rid:
        raise ReceiptParseError(f"no id in receipt {text[:80]!r}")
    stat = fields.get("stat", "").upper()
    if not stat:
        raise ReceiptParseError(f"no stat in receipt {text[:80]!r}")
    stat = _STAT_ALIASES.get(stat, stat)
    sub = _int_or(fields.get("sub"), 1)
    dlvrd = _int_or(fields.get("dlvrd"), 1 if stat == "DELIVRD" else 0)
    return Receipt(
        id=rid,
        sub=sub,
        dlvrd=dlvrd,
        submit_date=_date(fields.get("submitdate")),
        done_date=_date(fields.get("donedate")),
        stat=stat,
        err=fields.get("err", "000"),
        text=fields.get("text", ""),
    )


def format_receipt(r: Receipt) -> str:
    """The standard Appendix B text of ``r``; dates to the minute, text cut to 20 characters.

    Client libraries refuse a receipt without both dates, so when one is None the other is
    written in its place; when both are, ``ValueError``: the caller must fill one in (the
    intake: the time it received the receipt) before formatting for a client.
    """
    submit_date = r.submit_date or r.done_date
    done_date = r.done_date or r.submit_date
    if submit_date is None or done_date is None:
        raise ValueError("format_receipt needs submit_date or done_date")
    err = r.err.zfill(3) if r.err.isdigit() else r.err
    return (
        f"id:{r.id} sub:{_three(r.sub)} dlvrd:{_three(r.dlvrd)} "
        f"submit date:{submit_date:%y%m%d%H%M} done date:{done_date:%y%m%d%H%M} "
        f"stat:{r.stat} err:{err} text:{r.text[:MAX_TEXT]}"
    )


# ---------------------------------------------------------------------------------------


def _split_fields(text: str) -> dict[str, str]:
    """key -> raw value; keys lower case without spaces or '_' ("submit date" -> "submitdate").

    A value runs to the next key. ``text`` runs to the end unless a key not seen yet
    follows it (some upstreams put text: before stat:), so a message text containing
    "id:" or "stat:" is not cut.
    """
    matches = list(_KEY_RE.finditer(text))
    fields: dict[str, str] = {}
    for i, m in enumerate(matches):
        key = m.group(1).lower().replace(" ", "").replace("_", "")
        if key in fields:
            continue  # already read; this one is part of an earlier value (text:)
        end = len(text)
        for later in matches[i + 1 :]:
            later_key = later.group(1).lower().replace(" ", "").replace("_", "")
            if key != "text" or (later_key not in fields and later_key != "text"):
                end = later.start()
                break
        value = text[m.end() : end]
        fields[key] = value.rstrip(" \t\r\n\x00") if key == "text" else value.strip()
    return fields


def _int_or(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default


def _date(value: str | None) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss (20YY); None when absent or not a real date."""
    if value is None or len(value) not in (10, 12) or not value.isdigit():
        return None
    try:
        return datetime(
            2000 + int(value[0:2]),
            int(value[2:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12] or 0),
        )
    except ValueError:
        return None


def _three(n: int) -> str:
    return f"{min(max(n, 0), 999):03d}"


__all__ = [
    "MAX_TEXT",
    "STAT_WORDS",
    "MessageState",
    "Receipt",
    "ReceiptParseError",
    "format_receipt",
    "is_final",
    "message_state_for",
    "parse_receipt",
]
