"""SMPP 3.4 frames: bytes in, typed PDUs out, and back. No I/O.

``decode(frame)`` turns one whole frame (header included) into a PDU; ``encode(pdu)`` is
its exact inverse, so ``encode(decode(b)) == b`` for every well-formed frame, TLVs
included (unknown TLVs are kept in order, never dropped). Both run the PDU class's
compiled field spec (``gateway.smpp.fields``).

Errors carry what to answer: ``PduError.status`` is the ``command_status`` of the
``generic_nack`` (header problems, unknown command) or ``*_resp`` (body problems) that a
server sends back, and ``PduError.fatal`` says whether the byte stream can still be framed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from gateway.smpp.buffer import BufferReadError
from gateway.smpp.constants import HEADER, HEADER_SIZE, CommandStatus
from gateway.smpp.errors import PduError
from gateway.smpp.pdus import PDU_CLASSES, RESPONSE_FOR, GenericNack, Pdu

P = TypeVar("P", bound=Pdu)

_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from


def encode(pdu: Pdu) -> bytes:
    """The wire bytes of ``pdu``, header included."""
    body = pdu.spec.encode(pdu)
    return (
        _pack_header(
            HEADER_SIZE + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number
        )
        + body
    )


def decode(frame: bytes) -> Pdu:
    """Decode one whole frame (exactly ``command_length`` octets).

    Raises ``PduError`` carrying the status and, when the header was readable, the
    command_id and sequence_number to answer with.
    """
    if len(frame) < HEADER_SIZE:
        raise PduError("frame shorter than a header", CommandStatus.ESME_RINVCMDLEN, fatal=True)
    length, command_id, status, seq = _unpack_header(frame)
    if length != len(frame):
        raise PduError(
            f"command_length {length} but frame is {len(frame)} octets",
            CommandStatus.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=seq,
            fatal=True,
        )
    cls = PDU_CLASSES.get(command_id)
    if cls is None:
        raise PduError(
            f"unknown or unsupported command_id 0x{command_id:08x}",
            CommandStatus.ESME_RINVCMDID,
            command_id=command_id,
            sequence_number=seq,
        )
    decoder = cls.spec.decode
    assert decoder is not None  # PDU_CLASSES holds decodable classes only
    try:
        pdu: Pdu = decoder(frame, length, status, seq)
    except BufferReadError:
        raise PduError(
            f"{cls.__name__} body truncated",
            CommandStatus.ESME_RINVCMDLEN,
            command_id=command_id,
            sequence_number=seq,
        ) from None
    except PduError as e:
        raise PduError(str(e), e.status, command_id=command_id, sequence_number=seq) from None
    return pdu


def response_to(request: Pdu, status: int = 0, **body: object) -> Pdu:
    """The response PDU answering ``request`` (same sequence_number)."""
    cls = RESPONSE_FOR.get(request.command_id)
    if cls is None:
        raise ValueError(f"{type(request).__name__} has no response")
    return cls(sequence_number=request.sequence_number, command_status=status, **body)  # type: ignore[arg-type]


def error_answer(err: PduError) -> Pdu:
    """The generic_nack or ``*_resp`` that answers a frame rejected with ``err``."""
    if not err.answer_with_generic_nack and err.command_id is not None:
        cls = RESPONSE_FOR.get(err.command_id)
        if cls is not None:
            return cls(sequence_number=err.sequence_number, command_status=err.status)
    return GenericNack(sequence_number=err.sequence_number, command_status=err.status)


def with_sequence(pdu: P, sequence_number: int) -> P:
    """A copy of ``pdu`` with another sequence_number (used when forwarding)."""
    return replace(pdu, sequence_number=sequence_number)


__all__ = ["decode", "encode", "error_answer", "response_to", "with_sequence"]
