"""Framing a TCP byte stream into whole SMPP frames, with a maximum size guard."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.smpp.constants import DEFAULT_MAX_PDU_SIZE, HEADER, HEADER_SIZE, CommandStatus
from gateway.smpp.errors import PduError


class PduReader:
    """Cuts a TCP byte stream into frames: ``feed(data)``, then ``next_frame()`` (or
    iterate ``frames()``) until it has no complete frame left.

    A command_length under 16 or over ``max_size`` loses the framing: the reader raises
    a fatal ``PduError`` and refuses further input.
    """

    __slots__ = ("_broken", "_buf", "_pos", "max_size")

    def __init__(self, max_size: int = DEFAULT_MAX_PDU_SIZE) -> None:
        self._buf = bytearray()
        self._pos = 0  # start of the first unconsumed octet in _buf
        self._broken = False
        self.max_size = max_size

    def feed(self, data: bytes) -> None:
        """Append received octets."""
        if self._broken or not data:
            return
        if self._pos:
            # Drop consumed octets once per feed, not once per frame: linear overall.
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Octets received but not yet framed."""
        return len(self._buf) - self._pos

    def next_frame(self) -> bytes | None:
        """The next complete frame, or None until more octets arrive."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_SIZE:
            return None
        length, command_id, _st, seq = HEADER.unpack_from(buf, pos)
        if length < HEADER_SIZE or length > self.max_size:
            self._broken = True
            buf.clear()
            self._pos = 0
            raise PduError(
                f"command_length {length} outside 16..{self.max_size}",
                CommandStatus.ESME_RINVCMDLEN,
                command_id=command_id,
                sequence_number=seq,
                fatal=True,
            )
        if len(buf) - pos < length:
            return None
        self._pos = pos + length
        return bytes(buf[pos : pos + length])

    def frames(self) -> Iterator[bytes]:
        """Yield every complete frame buffered so far."""
        while (frame := self.next_frame()) is not None:
            yield frame


__all__ = ["PduReader"]
