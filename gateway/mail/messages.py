"""The mails an account holder receives: plain records in, :class:`EmailMessage` out.

Three steps, each a pure function of its input, so that a durable outbox can sit
between any two of them:

1. A *notice* says what happened, in ledger terms (integer milli-credits):
   :class:`NewPassword`, :class:`LowBalance`, :class:`RechargeFired`,
   :class:`RechargeCapped`. Each carries the recipient and a stable idempotency key
   chosen by whoever caused it (for example the journal entry of the recharge).
2. :func:`compose` writes it as a :class:`Mail`: recipient, subject, plain-text body,
   the key and the time. A ``Mail`` is the record an outbox stores
   (:meth:`Mail.to_record` / :meth:`Mail.from_record` give a JSON-ready dict).
3. :func:`email_message` turns a ``Mail`` into the :class:`EmailMessage` sent, with the
   From, Reply-To and Message-ID the ``[smtp]`` settings give. The Message-ID is
   derived from the key, so a mail sent twice carries the same id and a mail client
   (or a person) can tell it is a resend.

Amounts are shown as decimal credits (``"12.5"``), like every other output. A
``NewPassword`` mail holds a password in its body: it is sent at once, never stored.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from enum import StrEnum
from typing import Any, assert_never

from gateway.config import SmtpConfig
from ledger.models import milli_to_credits

#: The category of the plain credit balance (the others are credit-package categories).
CREDITS = "credits"


class MailKind(StrEnum):
    """Which mail it is; logged with every send, and stable for an outbox's rows."""

    NEW_PASSWORD = "new_password"  # noqa: S105 — the name of a kind of mail
    LOW_BALANCE = "low_balance"
    RECHARGE_FIRED = "recharge_fired"
    RECHARGE_CAPPED = "recharge_capped"


@dataclass(frozen=True, slots=True)
class Mail:
    """One mail to send: what an outbox stores and :class:`~gateway.mail.sender.Mailer` sends.

    ``key`` is its idempotency key (the same event always gives the same key);
    ``created_at`` (aware, UTC) becomes its Date header. The body stays out of ``repr``:
    it may hold a password.
    """

    kind: MailKind
    to: str
    subject: str
    body: str = field(repr=False)
    key: str
    created_at: datetime

    def to_record(self) -> dict[str, str]:
        """The mail as a flat dict of strings (JSON-ready)."""
        return {
            "kind": self.kind.value,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
            "key": self.key,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Mail:
        """The mail :meth:`to_record` gave (ValueError for an unknown kind or a bad time)."""
        created_at = datetime.fromisoformat(record["created_at"])
        if created_at.tzinfo is None:
            raise ValueError(f"mail {record['key']}: created_at has no UTC offset")
        return cls(
            kind=MailKind(record["kind"]),
            to=record["to"],
            subject=record["subject"],
            body=record["body"],
            key=record["key"],
            created_at=created_at,
        )


# -- notices: what happened --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NewPassword:
    """An account's password was regenerated; ``bind_address`` is where to bind."""

    system_id: str
    to: str
    password: str = field(repr=False)
    bind_address: str
    key: str


@dataclass(frozen=True, slots=True)
class LowBalance:
    """A balance fell below its alert threshold (milli-credits, or milli-messages).

    ``category`` is :data:`CREDITS` for the plain balance, else a credit-package
    category (``verification``, ``marketing``, ``general``), counted in messages.
    """

    system_id: str
    to: str
    category: str
    threshold: int
    balance: int
    key: str


@dataclass(frozen=True, slots=True)
class RechargeFired:
    """Auto-recharge credited ``amount``; the ``recharges_today``-th of ``daily_cap``."""

    system_id: str
    to: str
    amount: int
    balance_after: int
    recharges_today: int
    daily_cap: int
    key: str


@dataclass(frozen=True, slots=True)
class RechargeCapped:
    """The balance reached the recharge ``threshold`` but the daily cap was used up."""

    system_id: str
    to: str
    balance: int
    threshold: int
    amount: int
    daily_cap: int
    key: str


Notice = NewPassword | LowBalance | RechargeFired | RechargeCapped


# -- composing ---------------------------------------------------------------------------
def compose(notice: Notice, *, at: datetime | None = None) -> Mail:
    """The mail that tells the account holder about ``notice``, dated ``at`` (default now)."""
    when = at or datetime.now(UTC)
    match notice:
        case NewPassword():
            kind, (subject, body) = MailKind.NEW_PASSWORD, _new_password(notice)
        case LowBalance():
            kind, (subject, body) = MailKind.LOW_BALANCE, _low_balance(notice)
        case RechargeFired():
            kind, (subject, body) = MailKind.RECHARGE_FIRED, _recharge_fired(notice)
        case RechargeCapped():
            kind, (subject, body) = MailKind.RECHARGE_CAPPED, _recharge_capped(notice)
        case _:
            assert_never(notice)
    return Mail(kind, notice.to, subject, body, notice.key, when)


def _credits(milli: int) -> str:
    return f"{milli_to_credits(milli)} credits"


def _times(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _table(rows: Sequence[tuple[str, str]]) -> str:
    """Indented ``name  value`` lines, values in one column (kept unwrapped)."""
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"    {name.ljust(width)}  {value}" for name, value in rows)


def _body(*paragraphs: str) -> str:
    """A plain-text body: "Hello,", then the paragraphs wrapped at 72 columns.

    A paragraph that starts with spaces is a table (:func:`_table`) and kept as it is.
    """
    # Never break at a hyphen: "smpp-shop" must stay one word to be copied.
    wrapped = [
        p if p.startswith(" ") else textwrap.fill(p, _WIDTH, break_on_hyphens=False)
        for p in paragraphs
    ]
    return "\n\n".join(["Hello,", *wrapped]) + "\n"


#: Plain-text mails are read in narrow windows: RFC 5322 recommends 78 at most.
_WIDTH = 72


def _new_password(n: NewPassword) -> tuple[str, str]:
    subject = f"New password for SMPP account {n.system_id}"
    body = _body(
        f"A new password was set for your SMPP account {n.system_id}.",
        _table([("system_id", n.system_id), ("password", n.password), ("bind to", n.bind_address)]),
        "The previous password no longer works for new binds; sessions already bound stay"
        " connected until they unbind. If you received several of these mails, the newest"
        " one holds the current password.",
        "Keep this password secret: anyone who has it can send messages charged to your account.",
    )
    return subject, body


def _low_balance(n: LowBalance) -> tuple[str, str]:
    if n.category == CREDITS:
        left, threshold = _credits(n.balance), _credits(n.threshold)
        subject = f"Low balance on {n.system_id}: {left} left"
        what = f"The credit balance of your SMPP account {n.system_id} is {left}"
        then = "Messages the balance cannot pay for are refused. Add credit to keep sending."
    else:
        count = milli_to_credits(n.balance)
        left, threshold = f"{count} messages", f"{milli_to_credits(n.threshold)} messages"
        subject = f"Low balance on {n.system_id}: {count} {n.category} messages left"
        what = f"The {n.category} packages of your SMPP account {n.system_id} have {left} left"
        then = (
            "When they run out, these messages are paid from your other packages or your"
            " credit balance, as far as they allow."
        )
    body = _body(
        f"{what}, below the alert threshold of {threshold}.",
        then,
        "This alert is sent once when the balance falls below the threshold, and again"
        " only after the balance has been back at or above the threshold in between.",
    )
    return subject, body


def _recharge_fired(n: RechargeFired) -> tuple[str, str]:
    subject = f"Auto-recharge on {n.system_id}: {_credits(n.amount)} added"
    body = _body(
        f"Auto-recharge added {_credits(n.amount)} to your SMPP account {n.system_id}.",
        _table(
            [
                ("balance after the recharge", _credits(n.balance_after)),
                ("recharges today (UTC)", f"{n.recharges_today} of {n.daily_cap} allowed"),
            ]
        ),
    )
    return subject, body


def _recharge_capped(n: RechargeCapped) -> tuple[str, str]:
    subject = f"Auto-recharge not done on {n.system_id}: daily limit reached"
    body = _body(
        f"The balance of your SMPP account {n.system_id} is {_credits(n.balance)}, at or"
        f" below the auto-recharge threshold of {_credits(n.threshold)}, but no credit was"
        f" added: the daily limit of {_times(n.daily_cap, 'recharge')} of"
        f" {_credits(n.amount)} per UTC day is reached.",
        "Messages the balance cannot pay for are refused until you add credit or the limit"
        " starts again at 00:00 UTC.",
    )
    return subject, body


# -- the message sent --------------------------------------------------------------------
def message_id(key: str, domain: str) -> str:
    """The Message-ID of the mail with idempotency key ``key``: the same key, the same id."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def email_message(mail: Mail, smtp: SmtpConfig) -> EmailMessage:
    """``mail`` as a plain-text :class:`EmailMessage` from ``smtp.from_address``."""
    sender = Address(display_name=smtp.from_name, addr_spec=smtp.from_address)
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = mail.to
    if smtp.reply_to:
        message["Reply-To"] = smtp.reply_to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = message_id(mail.key, sender.domain)
    # RFC 3834: an automatic mail, so vacation responders and the like do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message
