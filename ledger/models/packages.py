"""Credit packages: a prepaid quantity of messages of one category, and its status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ledger.models import Category


class PackageStatus(StrEnum):
    """A credit package's status, derived from its remaining quantity and the time."""

    VALID = "valid"
    EXHAUSTED = "exhausted"  # used up before its expiry
    EXPIRED = "expired"  # at or past its expiry (the remainder is written off)


@dataclass(frozen=True, slots=True)
class Package:
    """A credit package (``ledger.rules.packages``): messages of one category, prepaid.

    ``total`` and ``remaining`` are milli-messages (1000 = one message of one segment to
    a destination of weight at most 1 credit). ``status`` is as of when it was read.
    """

    package_id: str
    system_id: str
    name: str
    category: Category
    total: int
    remaining: int
    purchased_at: datetime
    expires_at: datetime
    status: PackageStatus
