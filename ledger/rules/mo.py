"""Messages from handsets (MO): who owns a number or a keyword, which owner wins. Pure.

An account owns destination **numbers** (international digits, the form every address
is stored in) and **keywords** (the first word of the message, any case, stored upper
case). An MO goes to the owner of its destination number; failing that, to the owner of
its first word; failing both, to nobody (it is acknowledged and logged, not stored).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from ledger.errors import InvalidRequest

MoRouteKind = Literal["number", "keyword"]
#: Longest number (E.164 is 15 digits; some national plans use more) and keyword.
MAX_NUMBER = 21
MAX_KEYWORD = 20


def mo_route(*, number: str = "", keyword: str = "") -> tuple[MoRouteKind, str]:
    """(kind, value) as stored, for exactly one of ``number`` or ``keyword``.

    Raises InvalidRequest: neither or both, a number that is not 1 to 21 digits, a
    keyword that is not 1 to 20 letters or digits.
    """
    if bool(number) == bool(keyword):
        raise InvalidRequest("give a number or a keyword (exactly one)")
    if number:
        digits = number.removeprefix("+")
        if not (digits.isascii() and digits.isdigit() and 1 <= len(digits) <= MAX_NUMBER):
            raise InvalidRequest(f"a number is 1 to {MAX_NUMBER} digits, got {number!r}")
        return "number", digits
    word = keyword.strip()
    if not (word.isascii() and word.isalnum() and 1 <= len(word) <= MAX_KEYWORD):
        raise InvalidRequest(f"a keyword is 1 to {MAX_KEYWORD} letters or digits, got {keyword!r}")
    return "keyword", word.upper()


def keyword_of(text: bytes | str) -> str:
    """The keyword an MO's text starts with: its first word, upper case ("" if none).

    Bytes are read as Latin-1 (every octet maps; keywords are ASCII).
    """
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    words = text.split(None, 1)
    return words[0].upper()[:MAX_KEYWORD] if words else ""


def owner_of(found: Iterable[tuple[str, str]]) -> str | None:
    """The owning account among (kind, system_id) matches: the number's, else the keyword's."""
    by_kind = dict(found)
    return by_kind.get("number") or by_kind.get("keyword")
