"""Custody of outbox messages: which ones the forwarder holds, so each is sent once. Pure.

A message reaches the forwarder by two roads. The submit path hands it over right after
its debit commits (``take``); an adoption sweep reads the ledger's ACCEPTED rows, which
hold our own unsent messages as well as those of dead gateways (``sweep``). Both roads
carry the same message, in either order, and a sweep's read may be stale: it can read a
row, then return after the message was sent and its outcome written. ``Custody`` tells,
for every hand-over, whether the message is new to the forwarder:

- a message it holds (queued, being sent, waiting for a retry or for its outcome to be
  written) is not taken again, whichever road brings it;
- a message whose outcome was recorded (``settle``) after a sweep began is not taken
  from that sweep: the sweep may have read its row before the outcome was written;
- a message first taken from a sweep is remembered for ``linger`` seconds after it
  settles, so that the submit path's own hand-over, if it comes after that (its debit's
  outcome was still being resolved when the sweep read the row), is not taken either.

``let_go`` gives a message back without an outcome (a refund that could not be written,
an unexpected failure): the ledger still holds it ACCEPTED and the next sweep takes it
again, as it should. Nothing here does I/O or reads a clock; callers pass the time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterator
from contextlib import contextmanager

#: Seconds a message taken from a sweep is remembered once settled. The submit path hands
#: a message over within moments of its commit, and never later than its hand-over
#: window (``gateway.policy.submit.HANDOVER_WINDOW_S``, 60 s: past it the sweep alone
#: forwards the message); this must stay well beyond that window, and a test says so.
LINGER_S = 300.0
#: At most this many such messages are remembered; the oldest are forgotten first.
MAX_REMEMBERED = 100_000


class Sweep:
    """One adoption sweep in progress: what it read is offered with ``take``."""

    __slots__ = ("_began", "_custody")

    def __init__(self, custody: Custody, began: int) -> None:
        self._custody = custody
        self._began = began

    def take(self, message_id: str) -> bool:
        """True if the forwarder must send ``message_id``, which this sweep read."""
        return self._custody._take_swept(message_id, self._began)


class Custody:
    """The messages a forwarder holds and those it recently finished."""

    __slots__ = (
        "_from_sweep",
        "_held",
        "_linger",
        "_max_remembered",
        "_next_sweep",
        "_open_sweeps",
        "_settled_at",
        "_settles",
        "_swept_done",
    )

    def __init__(self, *, linger: float = LINGER_S, max_remembered: int = MAX_REMEMBERED) -> None:
        self._linger = linger
        self._max_remembered = max_remembered
        self._held: set[str] = set()
        #: the held messages that came from a sweep.
        self._from_sweep: set[str] = set()
        #: open sweep -> settle calls made before it began (a logical clock).
        self._open_sweeps: dict[int, int] = {}
        self._next_sweep = 0
        self._settles = 0
        #: message -> the settle call that finished it; kept only while a sweep is open.
        self._settled_at: dict[str, int] = {}
        #: messages taken from a sweep and settled -> when to forget them, oldest first.
        self._swept_done: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        """Messages held now."""
        return len(self._held)

    def __contains__(self, message_id: object) -> bool:
        """True while ``message_id`` is held."""
        return message_id in self._held

    def take(self, message_id: str) -> bool:
        """The submit path hands ``message_id`` over; True if the forwarder must send it."""
        if message_id in self._held:
            return False
        if self._swept_done and self._swept_done.pop(message_id, None) is not None:
            return False  # a sweep brought it first and it is done; nothing else will
        self._held.add(message_id)
        return True

    @contextmanager
    def sweep(self, now: float) -> Iterator[Sweep]:
        """Open a sweep before reading the ledger; offer what it read inside the block."""
        self._forget_until(now)
        token = self._next_sweep
        self._next_sweep += 1
        self._open_sweeps[token] = self._settles
        try:
            yield Sweep(self, self._settles)
        finally:
            del self._open_sweeps[token]
            if not self._open_sweeps:
                self._settled_at.clear()
            else:
                oldest = min(self._open_sweeps.values())
                self._settled_at = {m: s for m, s in self._settled_at.items() if s >= oldest}

    def _take_swept(self, message_id: str, began: int) -> bool:
        if message_id in self._held:
            return False
        settled = self._settled_at.get(message_id)
        if settled is not None and settled >= began:
            return False  # finished after this sweep began: its read may predate that
        self._held.add(message_id)
        self._from_sweep.add(message_id)
        return True

    def settle(self, message_ids: Collection[str], now: float) -> None:
        """The outcome of these messages is written (sent and recorded, or refunded)."""
        self._held.difference_update(message_ids)
        if self._open_sweeps:
            self._settled_at.update(dict.fromkeys(message_ids, self._settles))
        if self._from_sweep:
            swept = self._from_sweep.intersection(message_ids)
            if swept:
                self._from_sweep -= swept
                forget_at = now + self._linger
                for message_id in swept:
                    self._swept_done.pop(message_id, None)  # keep the oldest-first order
                    self._swept_done[message_id] = forget_at
                while len(self._swept_done) > self._max_remembered:
                    self._swept_done.popitem(last=False)
        self._settles += 1

    def let_go(self, message_id: str) -> None:
        """Stop holding ``message_id`` without an outcome; a later sweep takes it again."""
        self._held.discard(message_id)
        self._from_sweep.discard(message_id)

    def _forget_until(self, now: float) -> None:
        done = self._swept_done
        while done:
            message_id, forget_at = next(iter(done.items()))
            if forget_at > now:
                return
            del done[message_id]
