"""The SQL of the SMPP operations on sent messages (``ledger.core.message_ops``):
cancel_sm by addresses, and what query_sm reads of a message's end. Written like
``statements.py``: ``$n`` parameters, one text for both dialects."""

from __future__ import annotations

from ledger.backends.base import Statement
from ledger.backends.rows import MESSAGE_COLS

# An account's messages not yet forwarded from one source to one destination, oldest
# first. The index messages_history_destination (system_id, destination_addr, ...)
# narrows it to the account's messages to that destination.
CANCELLABLE = Statement.both(
    f"SELECT {MESSAGE_COLS} FROM messages"
    " WHERE system_id = $1 AND destination_addr = $2 AND source_addr = $3"
    " AND state = 'accepted' ORDER BY created_at, message_id LIMIT $4"
)
# The reason of a message's refund: the note of the entry with its refund key, in the
# credit journal or (a message paid from a package) the package journal; both keys are
# unique, so each side is one index probe.
REFUND_NOTE = Statement.both(
    "SELECT note FROM journal WHERE idempotency_key = $1"
    " UNION ALL SELECT note FROM package_journal WHERE idempotency_key = $1"
)
# The last receipt stored for a message (the upstream's final one, as given to the
# client): its body carries the message_state TLV.
LAST_RECEIPT = Statement.both(
    "SELECT pdu_body FROM receipts WHERE message_id = $1 ORDER BY id DESC LIMIT 1"
)
# cancel_sm's guard (``Store.refund(..., holder=...)``): the message row is the holder's,
# checked after the refund wrote its state, so the row is locked by this transaction and
# an adoption committed before it is seen (PostgreSQL updates the latest version).
HELD_BY = Statement.both("UPDATE messages SET updated_at = $3 WHERE message_id = $1 AND owner = $2")
# And before: still ACCEPTED and the holder's when the refund starts.
HOLDER_STATE = Statement.both("SELECT state, owner FROM messages WHERE message_id = $1")
# The batch refund's (``Store.refund_many(..., holder=...)``) forms of the two: the state
# and owner of every message listed before, and the holder's rows among them after (the
# number of rows: all of them, or the batch rolls back and is run again).
HOLDER_STATES = Statement.each(
    postgres="SELECT message_id, state, owner FROM messages WHERE message_id = ANY($1::text[])",
    sqlite="SELECT message_id, state, owner FROM messages"
    " WHERE message_id IN (SELECT value FROM json_each($1))",
)
ALL_HELD_BY = Statement.each(
    postgres="UPDATE messages SET updated_at = $3"
    " WHERE message_id = ANY($1::text[]) AND owner = $2",
    sqlite="UPDATE messages SET updated_at = $3"
    " WHERE message_id IN (SELECT value FROM json_each($1)) AND owner = $2",
)
