"""The ledger's role for messages from handsets (MO), part of ``ledger.store.Store``.

Its own module so that ``ledger/store.py`` stays one screenful of roles; the
implementation is ``ledger.core.mo.MoCore``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ledger.models import MoRoute, NewMo, PendingMo


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
