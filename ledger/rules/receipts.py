"""Receipts and message outcomes: which states may be written, which items are valid.

A message reaches REJECTED only through ``refund()`` (a rejection gives the money back);
``set_message_state`` and ``add_receipts`` write the other outcomes. ``add_receipts``
refuses a whole batch when one item is wrong, checked on what :class:`ReceiptTarget`
rows say about each item's account and message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import (
    ForeignMessage,
    InvalidRequest,
    RefundRequired,
    UnknownAccount,
    UnknownMessage,
)
from ledger.models import MessageState, NewReceipt

_HEX_DIGITS = frozenset("0123456789abcdef")


def upstream_key(upstream_id: str) -> str:
    """The form an upstream's message id is stored and matched in.

    SMSCs spell one id differently in submit_sm_resp and in the receipt: upper or lower
    case hex, zero-padded or not. The key is the id in ASCII lower case without its
    leading zeros (``"0000001A"`` -> ``"1a"``; all zeros -> ``"0"``; ``""`` stays ``""``).
    Migration 0011 computes the same key in SQL for ids recorded before it.
    """
    lowered = upstream_id.translate(_ASCII_LOWER)
    return lowered.lstrip("0") or ("0" if lowered else "")


#: How an upstream spells in its receipts the id its submit_sm_resp gave
#: (``[[upstreams]] receipt_ids``): ``auto`` tries every spelling; ``same``: as the
#: response did (up to case and padding); ``decimal``: the response in hex, the receipt
#: in decimal; ``hex``: the response in decimal, the receipt in hex.
RECEIPT_ID_FORMS = ("auto", "same", "decimal", "hex")


def upstream_keys(receipt_id: str, form: str = "auto") -> tuple[str, ...]:
    """The keys a receipt's id may match, the most likely first, without repeats.

    ``auto``: the id as given (its :func:`upstream_key`); then, for a decimal id, its
    value in hex (the common habit: hex in submit_sm_resp, decimal in the receipt text);
    then, for a hex id, its value in decimal (the reverse). A caller takes the first key
    that matches. That guess is ambiguous once an upstream has given both ``"16"`` and
    ``"10"`` (0x10): a receipt ``id:16`` may be either. An upstream whose habit is known
    says so (``form``), and gets exactly one key: ``same`` the id as given, ``decimal``
    the hex of a decimal id, ``hex`` the decimal of a hex id (an id not in that spelling
    is taken as given).
    """
    if form not in RECEIPT_ID_FORMS:
        raise InvalidRequest(f"receipt id form must be one of {RECEIPT_ID_FORMS}, not {form!r}")
    key = upstream_key(receipt_id)
    if form == "same":
        return (key,)
    if form == "decimal":
        return (format(int(key), "x"),) if key.isascii() and key.isdigit() else (key,)
    if form == "hex":
        return (str(int(key, 16)),) if key and set(key) <= _HEX_DIGITS else (key,)
    keys = [key]
    if key.isascii() and key.isdigit():
        keys.append(format(int(key), "x"))
    if key and set(key) <= _HEX_DIGITS:
        keys.append(str(int(key, 16)))
    return tuple(dict.fromkeys(keys))


#: The longest upstream name (config ``[[upstreams]] name``) the ledger stores.
MAX_UPSTREAM_NAME = 40


def validate_upstream_name(name: str) -> str:
    """``name`` if it can name an upstream: 1 to MAX_UPSTREAM_NAME printable characters."""
    if not name or len(name) > MAX_UPSTREAM_NAME or not name.isprintable():
        raise InvalidRequest(
            f"an upstream name is 1 to {MAX_UPSTREAM_NAME} printable characters, got {name!r}"
        )
    return name


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def outcome_state(state: MessageState) -> MessageState:
    """``state`` if it may be written without a refund (everything but REJECTED)."""
    state = MessageState(state)
    if state is MessageState.REJECTED:
        raise RefundRequired("use refund() to reject a message: it must give the money back")
    return state


def final_states(items: Sequence[NewReceipt]) -> dict[str, MessageState]:
    """The state each message ends with, in first-seen order: a later item wins.

    One row per message, so a set-based UPDATE never sees a message twice (PostgreSQL's
    ``UPDATE ... FROM unnest`` would apply only one of its rows).
    """
    states: dict[str, MessageState] = {}
    for item in items:
        if item.state is not None:
            states[item.message_id] = outcome_state(item.state)
    return states


def accounts_to_notify(items: Sequence[NewReceipt]) -> list[str]:
    """The accounts with unclaimed receipts among ``items``, once each, in order."""
    return list(dict.fromkeys(i.system_id for i in items if i.claimed_by is None))


@dataclass(frozen=True, slots=True)
class ReceiptTarget:
    """What the database holds for one item: does its account exist, whose is its message."""

    account_exists: bool
    message_owner: str | None  # the message's system_id; None: no such message


def check_targets(items: Sequence[NewReceipt], targets: Sequence[ReceiptTarget]) -> None:
    """Raise for the first item whose account or message is wrong; ``targets`` in order."""
    for item, target in zip(items, targets, strict=True):
        if not target.account_exists:
            raise UnknownAccount(item.system_id)
        if target.message_owner is None:
            raise UnknownMessage(item.message_id)
        if target.message_owner != item.system_id:
            raise ForeignMessage(
                f"message {item.message_id} belongs to {target.message_owner}, not {item.system_id}"
            )
