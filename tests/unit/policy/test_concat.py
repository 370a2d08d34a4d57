"""Parts of long messages: what one part may say, and what it may say after others."""

from __future__ import annotations

import pytest

from gateway.policy.concat import ConcatError, ConcatPart, ConcatTracker, concat_part
from gateway.smpp import CommandStatus, SubmitSm, Tlv

S = CommandStatus


def _udh(ref: int, total: int, number: int, text: bytes = b"part") -> SubmitSm:
    return SubmitSm(
        sequence_number=1,
        esm_class=0x40,
        short_message=bytes([5, 0, 3, ref, total, number]) + text,
    )


def _sar(ref: int | None, total: int | None, number: int | None, **kw: object) -> SubmitSm:
    tlvs = []
    if ref is not None:
        tlvs.append(Tlv(0x020C, ref.to_bytes(2, "big")))
    if total is not None:
        tlvs.append(Tlv(0x020E, bytes([total])))
    if number is not None:
        tlvs.append(Tlv(0x020F, bytes([number])))
    fields: dict[str, object] = {"short_message": b"part", **kw}
    return SubmitSm(sequence_number=1, tlvs=tuple(tlvs), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pdu", "part"),
    [
        (SubmitSm(sequence_number=1, short_message=b"plain"), None),
        (_udh(7, 3, 1), ConcatPart(7, 3, 1)),
        (_udh(7, 3, 3), ConcatPart(7, 3, 3)),
        (
            SubmitSm(
                sequence_number=1,
                esm_class=0x40,
                short_message=bytes([6, 8, 4, 1, 2, 2, 1]) + b"x",
            ),
            ConcatPart(0x0102, 2, 1),
        ),
        (_sar(300, 2, 2), ConcatPart(300, 2, 2)),
        # A UDH without concatenation (ports): not a part.
        (
            SubmitSm(
                sequence_number=1, esm_class=0x40, short_message=bytes([4, 5, 2, 0, 1]) + b"x"
            ),
            None,
        ),
        # Both forms, saying the same.
        (
            _sar(9, 2, 1, esm_class=0x40, short_message=bytes([5, 0, 3, 9, 2, 1]) + b"x"),
            ConcatPart(9, 2, 1),
        ),
    ],
)
def test_parts_read(pdu: SubmitSm, part: ConcatPart | None) -> None:
    assert concat_part(pdu) == part


@pytest.mark.parametrize(
    ("pdu", "status"),
    [
        (_udh(7, 3, 4), S.ESME_RINVMSGLEN),  # beyond the declared total
        (_udh(7, 3, 0), S.ESME_RINVMSGLEN),
        (_udh(7, 0, 0), S.ESME_RINVMSGLEN),
        (_sar(1, 2, 3), S.ESME_RINVOPTPARAMVAL),
        (_sar(1, 0, 1), S.ESME_RINVOPTPARAMVAL),
        (_sar(1, None, 1), S.ESME_RMISSINGOPTPARAM),
        (_sar(None, 2, None), S.ESME_RMISSINGOPTPARAM),
        (
            _sar(9, 2, 1, esm_class=0x40, short_message=bytes([5, 0, 3, 8, 2, 1]) + b"x"),
            S.ESME_RINVOPTPARAMVAL,  # UDH reference 8, SAR 9
        ),
    ],
)
def test_impossible_parts_are_refused(pdu: SubmitSm, status: CommandStatus) -> None:
    with pytest.raises(ConcatError) as info:
        concat_part(pdu)
    assert info.value.status == status


def test_a_total_that_changes_between_parts_is_refused() -> None:
    t = ConcatTracker(window_s=60)
    t.check("a", "336", ConcatPart(5, 3, 1), 0.0)
    with pytest.raises(ConcatError) as info:
        t.check("a", "336", ConcatPart(5, 4, 2), 1.0)
    assert info.value.status == S.ESME_RINVOPTPARAMVAL
    # The first declaration stands; the same part again (a retry) is fine.
    t.check("a", "336", ConcatPart(5, 3, 2), 2.0)
    t.check("a", "336", ConcatPart(5, 3, 2), 3.0)
    # Another destination, or another account, is another message.
    t.check("a", "447", ConcatPart(5, 4, 1), 3.0)
    t.check("b", "336", ConcatPart(5, 4, 1), 3.0)


def test_a_complete_message_frees_its_reference() -> None:
    t = ConcatTracker(window_s=60)
    for n in (1, 2):
        t.check("a", "336", ConcatPart(5, 2, n), 0.0)
    assert len(t) == 0
    t.check("a", "336", ConcatPart(5, 6, 1), 1.0)  # the reference reused: a new message


def test_unfinished_messages_expire_and_are_bounded() -> None:
    t = ConcatTracker(window_s=10, max_messages=2)
    t.check("a", "336", ConcatPart(1, 3, 1), 0.0)
    t.check("a", "336", ConcatPart(2, 3, 1), 5.0)
    t.check("a", "336", ConcatPart(1, 5, 1), 11.0)  # ref 1 expired: declares afresh
    t.check("a", "336", ConcatPart(3, 3, 1), 12.0)
    t.check("a", "336", ConcatPart(4, 3, 1), 12.0)
    assert len(t) == 2


def test_forget_undoes_a_refused_part() -> None:
    t = ConcatTracker()
    t.check("a", "336", ConcatPart(5, 3, 1), 0.0)
    t.forget("a", "336", ConcatPart(5, 3, 1))
    assert len(t) == 0
    t.check("a", "336", ConcatPart(5, 4, 1), 1.0)
