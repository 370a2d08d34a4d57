"""Messages from handsets (MO): who owns a number or keyword, an MO stored and waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MoRoute:
    """An account owns MOs to this number, or starting with this keyword."""

    kind: str  # "number" or "keyword"
    value: str  # international digits, or the keyword upper case
    system_id: str


@dataclass(frozen=True, slots=True)
class NewMo:
    """A message from a handset for ``Store.add_mo``: kept until a receiver takes it.

    ``claimed_by`` is the gateway that will push it itself (it has a receiver of the
    account bound); None leaves it for whichever gateway claims it first.
    """

    system_id: str
    upstream: str  # the name of the upstream it came from
    source_addr: str
    destination_addr: str
    pdu_body: bytes  # the deliver_sm body as the account's receiver gets it
    claimed_by: str | None = None
    #: Milli-credits to debit for it in the transaction that stores it (0: free).
    price: int = 0


@dataclass(frozen=True, slots=True)
class StoredMo:
    """What ``Store.store_mo`` did with one ``NewMo``.

    ``retried``: the same deliver_sm from the same upstream was stored within the retry
    window, so nothing was written and ``id`` is that first MO's (deliver it once).
    ``charged``: milli-credits debited for it now (0: free, retried, or unpriced because
    the account could not pay; see ``ledger.rules.mo_pricing``).
    """

    id: int
    charged: int = 0
    retried: bool = False
    #: Why a priced MO was not charged ("" when it was, or was free).
    unpriced: str = ""


@dataclass(frozen=True, slots=True)
class PendingMo:
    """A stored MO waiting for (or being pushed to) the account's receiver session."""

    id: int
    system_id: str
    upstream: str
    source_addr: str
    destination_addr: str
    pdu_body: bytes
    created_at: datetime
    claimed_by: str | None = None
    claimed_until: datetime | None = None
