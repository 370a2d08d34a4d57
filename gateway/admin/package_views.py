"""JSON views of credit packages, shared by the CLI's ``--json``, the API and the console.

Quantities are given twice, like money (``gateway.admin.views``): a decimal string of
messages for people and the exact integer of milli-messages for programs
(``"remaining": "99.5", "remaining_milli": 99500``).
"""

from __future__ import annotations

from typing_extensions import TypedDict

from gateway.admin.packages import PackageDetails, PackageListing
from ledger.models import Category, JournalEntry
from ledger.models.packages import Package
from ledger.money import milli_to_credits


class PackageView(TypedDict):
    """A purchase record: quantities in messages; ``status`` valid, exhausted or expired."""

    package_id: str
    system_id: str
    name: str
    category: str
    total: str
    total_milli: int
    remaining: str
    remaining_milli: int
    purchased_at: str
    expires_at: str
    status: str


class RemainingView(TypedDict):
    """Messages left in valid packages of one category."""

    category: str
    remaining: str
    remaining_milli: int


class PackagesView(TypedDict):
    """An account's purchase records (newest first) and what is left per category.

    ``next_before`` reads the next (older) page, null on the last.
    """

    system_id: str
    remaining: list[RemainingView]
    packages: list[PackageView]
    next_before: str | None


class PackageEntryView(TypedDict):
    """An entry of a package's journal (purchase, draw, refund, write-off), in messages."""

    id: int
    kind: str
    amount: str
    amount_milli: int
    remaining_after: str
    remaining_after_milli: int
    counter_account: str
    message_id: str | None
    note: str
    created_at: str


class PackageDetailsView(PackageView):
    """A purchase record with its entries, newest first."""

    entries: list[PackageEntryView]


def messages(milli: int) -> str:
    """Milli-messages as a decimal number of messages: 99500 -> "99.5"."""
    return milli_to_credits(milli)


def package_view(p: Package) -> PackageView:
    """One purchase record."""
    return {
        "package_id": p.package_id,
        "system_id": p.system_id,
        "name": p.name,
        "category": p.category.value,
        "total": messages(p.total),
        "total_milli": p.total,
        "remaining": messages(p.remaining),
        "remaining_milli": p.remaining,
        "purchased_at": p.purchased_at.isoformat(),
        "expires_at": p.expires_at.isoformat(),
        "status": p.status.value,
    }


def remaining_views(totals: dict[str, int]) -> list[RemainingView]:
    """What is left per category, in the categories' order."""
    return [
        {
            "category": c.value,
            "remaining": messages(totals.get(c.value, 0)),
            "remaining_milli": totals.get(c.value, 0),
        }
        for c in Category
    ]


def packages_view(listing: PackageListing) -> PackagesView:
    """An account's purchase records and the remaining per category."""
    return {
        "system_id": listing.account.system_id,
        "remaining": remaining_views(listing.remaining),
        "packages": [package_view(p) for p in listing.packages],
        "next_before": listing.next_before,
    }


def package_entry_view(e: JournalEntry) -> PackageEntryView:
    """One entry of a package's journal."""
    return {
        "id": e.id,
        "kind": e.kind.value,
        "amount": messages(e.amount),
        "amount_milli": e.amount,
        "remaining_after": messages(e.balance_after),
        "remaining_after_milli": e.balance_after,
        "counter_account": e.counter_account,
        "message_id": e.message_id,
        "note": e.note,
        "created_at": e.created_at.isoformat(),
    }


def package_details_view(d: PackageDetails) -> PackageDetailsView:
    """A purchase record with its entries."""
    view = package_view(d.package)
    return {**view, "entries": [package_entry_view(e) for e in d.entries]}
