"""What the ledger queues to tell someone after a commit: alert and recharge mails,
receipt callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ledger.models import MessageState


@dataclass(frozen=True, slots=True)
class BalanceAlert:
    """A low-balance alert of an account (``ledger.rules.alerts``).

    ``category`` None watches the credit balance and ``threshold`` is in milli-credits;
    a credit-package category counts milli-messages. ``armed``: the next step below the
    threshold fires it. ``checked_through``: the last journal entry the scan walked.
    """

    system_id: str
    category: str | None
    threshold: int
    armed: bool
    checked_through: int
    updated_at: datetime


class NoticeKind(StrEnum):
    """What a row of the alert outbox tells the account holder (migration 0010)."""

    LOW_BALANCE = "low_balance"  # a balance fell below its alert threshold
    RECHARGE_FIRED = "recharge_fired"  # auto-recharge credited the account
    RECHARGE_CAPPED = "recharge_capped"  # a recharge was due but the daily cap was used up


@dataclass(frozen=True, slots=True)
class AlertMail:
    """A fired alert or recharge notice waiting in the alert outbox for its mail (or settled).

    ``key`` is stable for the event (a crossing: the firing journal entry's; a recharge:
    its journal key; a capped recharge: the account and UTC day), so a resend carries
    the same Message-ID; ``contact_email`` is the account's contact when it was claimed;
    ``attempts`` counts claims, this one included. For a recharge notice ``balance`` is
    the balance after the debit (and the recharge), ``threshold`` the recharge's,
    ``amount`` its amount, ``recharges_today`` the recharges counted today and
    ``daily_cap`` the policy's cap.
    """

    id: int
    key: str
    system_id: str
    category: str | None
    threshold: int
    balance: int
    entry_id: int
    created_at: datetime
    contact_email: str
    attempts: int
    kind: NoticeKind = NoticeKind.LOW_BALANCE
    amount: int = 0
    recharges_today: int = 0
    daily_cap: int = 0


class AlertOutcome(StrEnum):
    """How a fired alert was settled."""

    SENT = "sent"  # the SMTP server accepted the mail
    UNSENT = "unsent"  # no mail: [smtp] off, or no contact address (logged alert.unsent)
    REJECTED = "rejected"  # the SMTP server refused it for good


class CallbackOutcome(StrEnum):
    """How a receipt callback was settled."""

    SENT = "sent"  # the URL answered 2xx
    FAILED = "failed"  # every attempt failed; given up


@dataclass(frozen=True, slots=True)
class ReceiptCallback:
    """A message sent over HTTP whose final outcome is to be POSTed to ``url``.

    ``state`` and the message's facts are read with the callback, so a POST says what
    the message became: ``receipt_at`` is when its final receipt arrived (None for a
    message the upstream refused). ``attempts`` counts claims, this one included.
    ``outcome`` is None while it is still to be sent.
    """

    id: int
    message_id: str
    system_id: str
    url: str
    created_at: datetime
    attempts: int
    state: MessageState
    destination_addr: str
    source_addr: str
    upstream_id: str | None
    receipt_at: datetime | None
    outcome: CallbackOutcome | None = None
    detail: str = ""
