"""The ledger's role for messages from handsets (MO), part of ``ledger.store.Store``.

Its own module so that ``ledger/store.py`` stays one screenful of roles; the
implementation is ``ledger.core.mo.MoCore``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from ledger.models.mo import MoRoute, NewMo, PendingMo, StoredMo


class MoStore(Protocol):
    """Messages from handsets: who owns a number or keyword, and the MOs kept for the
    owner's receivers (claimed like receipts, with an age limit)."""

    async def set_mo_route(self, system_id: str, *, number: str = "", keyword: str = "") -> MoRoute:
        """The account owns MOs to ``number`` (or starting with ``keyword``).

        Raises InvalidRequest (neither, both, a malformed one), UnknownAccount.
        """

    async def delete_mo_route(self, *, number: str = "", keyword: str = "") -> bool:
        """Nobody owns that number (or keyword) any more; False if nobody did."""

    async def mo_routes(self, system_id: str | None = None) -> list[MoRoute]:
        """Every number and keyword owned (by ``system_id``, or by anyone)."""

    async def mo_owner(self, destination: str, text: bytes | str) -> str | None:
        """The owner of ``destination``, else of ``text``'s first word; None: nobody."""

    async def add_mo(self, items: Sequence[NewMo], *, lease: float = 60.0) -> list[int]:
        """Keep MOs until a receiver acknowledges them; their ids. Raises UnknownAccount."""

    async def store_mo(
        self, items: Sequence[NewMo], *, lease: float = 60.0, retry_window: float = 0.0
    ) -> list[StoredMo]:
        """Keep MOs and debit their ``price`` in one transaction, a retried deliver_sm
        (within ``retry_window`` seconds) once; what was done with each.

        Raises UnknownAccount, InvalidRequest (a negative price or window).
        """

    async def listen_mo(
        self, callback: Callable[[str], None]
    ) -> Callable[[], Awaitable[None]] | None:
        """Call ``callback(system_id)`` whenever another process stores unclaimed MOs of
        the account: as ``listen_receipts``, on its own channel (``MO_CHANNEL``).

        PostgreSQL: returns ``stop()``; raises LedgerUnavailable if the first connection
        fails. SQLite: None (one process pushes directly and sweeps).
        """

    async def claim_mo(
        self,
        system_id: str,
        *,
        gateway_id: str,
        max_age: float,
        limit: int = 100,
        lease: float = 60.0,
    ) -> list[PendingMo]:
        """Claim undelivered MOs younger than ``max_age`` seconds (the rules of
        ``claim_receipts``)."""

    async def mo_delivered(self, mo_ids: Sequence[int]) -> None:
        """The receiver acknowledged these MOs. Idempotent."""

    async def release_mo(self, mo_ids: Sequence[int]) -> None:
        """Drop the claims so any gateway may claim them again."""

    async def pending_mo(self, system_id: str, *, limit: int = 1000) -> list[PendingMo]:
        """MOs not yet acknowledged, oldest first (tests, operators)."""
