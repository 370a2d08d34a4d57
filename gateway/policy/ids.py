"""Message ids the gateway hands out in submit_sm_resp.

Time-ordered so that the messages table's primary key grows at its end (cheap B-tree
inserts), unique across processes by a random node part, and well under SMPP's 64 octets:
``TTTTTTTTTTTT NNNNNN CCCC`` = 12 hex ms since the epoch, 6 hex random per generator,
4 hex counter. 22 characters, lowercase hex.
"""

from __future__ import annotations

import secrets
import time


class MessageIdGenerator:
    """Makes message ids; one per process (or per gateway instance in tests)."""

    __slots__ = ("_counter", "_node")

    def __init__(self, node: int | None = None) -> None:
        self._node = secrets.randbits(24) if node is None else node & 0xFFFFFF
        self._counter = secrets.randbits(16)

    def next(self) -> str:
        """A new id."""
        self._counter = (self._counter + 1) & 0xFFFF
        return f"{time.time_ns() // 1_000_000:012x}{self._node:06x}{self._counter:04x}"
