"""Outbox adoption: which gateway forwards an ACCEPTED message.

A gateway forwards only its own messages and adopts (``adopt_unforwarded``) those of
nobody, or of a gateway that is not live (the staleness rule of the bind quota). The
answer comes oldest first by (created_at, message_id) on every store.
"""

from __future__ import annotations

from datetime import datetime

from ledger.models import MessageRecord
from ledger.rules.validation import require_gateway_id, require_limit


def validate_adopt(gateway_id: str, limit: int) -> None:
    """Refuse ``adopt_unforwarded`` arguments no store accepts (programming errors)."""
    require_gateway_id(gateway_id, "adopting messages")
    require_limit(limit)


def adoption_order(message: MessageRecord) -> tuple[datetime, str]:
    """Sort key of ``adopt_unforwarded``'s answer: oldest first, then message_id.

    Python compares strings by code point, which is SQLite's BINARY and PostgreSQL's
    ``COLLATE "C"`` order for UTF-8, so the key agrees with both stores' ORDER BY.
    """
    return (message.created_at, message.message_id)
