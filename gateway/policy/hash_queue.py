"""The password checks one client address may have queued or running at once. Pure.

scrypt runs on two threads shared by every bind; without a bound, one address opening
many connections keeps them busy and every other client's bind waits behind its queue.
With at most ``limit`` checks per address (waiting or running), one address holds at
most ``limit`` places in that queue: a check beyond it is refused at once
(ESME_RBINDTHROTTLED, nothing hashed). The checks of one address hash one at a time (the
authenticator's lock per address), so one address never holds more than one of the two
hashing threads and another's check starts at once; the default, 4, lets the first
binds of a few accounts behind one NAT wait their turn instead of being refused. Binds
answered from the verified-bind cache hash nothing and take no place.
"""

from __future__ import annotations


class HashQueue:
    """Counts the password checks each address has in flight; ``limit`` 0 = no bound."""

    def __init__(self, limit: int = 4) -> None:
        self.limit = limit
        self._in_flight: dict[str, int] = {}

    def enter(self, address: str) -> bool:
        """Take a place for a check from ``address``; False (and nothing taken) when it
        already has ``limit`` of them."""
        count = self._in_flight.get(address, 0)
        if self.limit and count >= self.limit:
            return False
        self._in_flight[address] = count + 1
        return True

    def leave(self, address: str) -> None:
        """The check :meth:`enter` admitted is done (answered, failed or cancelled)."""
        count = self._in_flight.get(address, 0) - 1
        if count > 0:
            self._in_flight[address] = count
        else:
            # Dropped at zero: the table only holds addresses with a check under way.
            self._in_flight.pop(address, None)

    def in_flight(self, address: str) -> int:
        """Checks ``address`` has waiting or running now."""
        return self._in_flight.get(address, 0)

    def __len__(self) -> int:
        return len(self._in_flight)


__all__ = ["HashQueue"]
