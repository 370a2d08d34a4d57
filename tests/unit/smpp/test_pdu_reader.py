"""PduReader: framing a TCP byte stream, fed whole, byte by byte, in random chunks.

The stream is every golden PDU of tests/golden/pdus.json (encoded by smpplib and the npm
``smpp`` package) back to back, so the expected frames never come from our own encoder.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Generator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smpp import (
    DEFAULT_MAX_PDU_SIZE,
    CommandId,
    CommandStatus,
    GenericNack,
    PduError,
    PduReader,
    decode,
    encode,
    error_answer,
)

GOLDEN_FILE = Path(__file__).resolve().parents[2] / "golden" / "pdus.json"
FRAMES: list[bytes] = [
    bytes.fromhex(v["hex"]) for v in json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))["vectors"]
]
STREAM = b"".join(FRAMES)
ENQUIRE_LINK = bytes.fromhex("0000001000000015000000000000001e")


def header(length: int, command_id: int, status: int = 0, seq: int = 1) -> bytes:
    return struct.pack(">IIII", length, command_id, status, seq)


def feed_in_chunks(reader: PduReader, data: bytes, cuts: list[int]) -> list[bytes]:
    out: list[bytes] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        reader.feed(data[start:cut])
        out.extend(reader.frames())
        start = cut
    return out


def test_stream_is_made_of_many_frames() -> None:
    assert len(FRAMES) > 40
    assert sum(len(f) for f in FRAMES) == len(STREAM)


def test_whole_stream_in_one_chunk() -> None:
    reader = PduReader()
    reader.feed(STREAM)
    assert list(reader.frames()) == FRAMES
    assert reader.buffered == 0
    assert list(reader.frames()) == []


def test_byte_by_byte() -> None:
    reader = PduReader()
    got: list[bytes] = []
    ends = set()
    pos = 0
    for f in FRAMES:
        pos += len(f)
        ends.add(pos)
    for i in range(len(STREAM)):
        reader.feed(STREAM[i : i + 1])
        new = list(reader.frames())
        # A frame comes out exactly when its last octet arrives, never earlier.
        assert len(new) == (1 if i + 1 in ends else 0), f"octet {i}"
        got.extend(new)
    assert got == FRAMES
    assert reader.buffered == 0


@pytest.mark.parametrize("seed", range(20))
def test_random_chunkings(seed: int) -> None:
    rng = random.Random(seed)
    cuts = rng.sample(range(1, len(STREAM)), k=rng.randint(1, 200))
    reader = PduReader()
    assert feed_in_chunks(reader, STREAM, cuts) == FRAMES
    assert reader.buffered == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=60))
def test_any_chunking(cuts: list[int]) -> None:
    assert feed_in_chunks(PduReader(), STREAM, cuts) == FRAMES


@pytest.mark.parametrize("partial", [1, 4, 15, 16, 17, 40])
def test_trailing_partial_frame_waits_for_the_rest(partial: int) -> None:
    nxt = next(f for f in FRAMES if len(f) > 40)
    reader = PduReader()
    reader.feed(STREAM + nxt[:partial])
    assert list(reader.frames()) == FRAMES
    assert reader.buffered == partial
    assert list(reader.frames()) == []
    reader.feed(nxt[partial:])
    assert list(reader.frames()) == [nxt]
    assert reader.buffered == 0


def test_frames_decode_to_what_was_fed() -> None:
    reader = PduReader()
    reader.feed(STREAM)
    assert [encode(decode(f)) for f in reader.frames()] == FRAMES


def test_stopping_early_keeps_the_unread_frames() -> None:
    reader = PduReader()
    reader.feed(STREAM)
    it = reader.frames()
    assert isinstance(it, Generator)
    first = [next(it), next(it)]
    it.close()
    assert first == FRAMES[:2]
    assert reader.buffered == len(STREAM) - len(FRAMES[0]) - len(FRAMES[1])
    assert list(reader.frames()) == FRAMES[2:]


def test_max_size_is_inclusive() -> None:
    # enquire_link carrying one vendor TLV, exactly DEFAULT_MAX_PDU_SIZE octets long.
    value = b"v" * (DEFAULT_MAX_PDU_SIZE - 16 - 4)
    frame = header(DEFAULT_MAX_PDU_SIZE, CommandId.ENQUIRE_LINK) + struct.pack(
        ">HH", 0x1400, len(value)
    )
    frame += value
    reader = PduReader()
    reader.feed(frame)
    assert list(reader.frames()) == [frame]
    assert decode(frame).tlvs[0].value == value


@pytest.mark.parametrize(
    ("length", "max_size"),
    [
        (0, DEFAULT_MAX_PDU_SIZE),
        (1, DEFAULT_MAX_PDU_SIZE),
        (15, DEFAULT_MAX_PDU_SIZE),
        (DEFAULT_MAX_PDU_SIZE + 1, DEFAULT_MAX_PDU_SIZE),
        (0xFFFFFFFF, DEFAULT_MAX_PDU_SIZE),
        (65, 64),
    ],
)
def test_bad_command_length_breaks_the_reader(length: int, max_size: int) -> None:
    reader = PduReader(max_size=max_size)
    # Good frames before the bad header in the same chunk still come out, in order.
    bad = header(length, CommandId.SUBMIT_SM, 0, 4242)
    reader.feed(ENQUIRE_LINK + ENQUIRE_LINK + bad)  # the bad header alone, no body yet
    got: list[bytes] = []
    with pytest.raises(PduError) as info:
        got.extend(reader.frames())
    assert got == [ENQUIRE_LINK, ENQUIRE_LINK]
    err = info.value
    assert (err.status, err.fatal) == (CommandStatus.ESME_RINVCMDLEN, True)
    assert (err.command_id, err.sequence_number) == (CommandId.SUBMIT_SM, 4242)
    answer = error_answer(err)  # framing is lost: generic_nack, not submit_sm_resp
    assert type(answer) is GenericNack
    assert (answer.sequence_number, answer.command_status) == (4242, err.status)
    # Broken for good: nothing buffered, later input ignored, no frame ever again.
    assert reader.buffered == 0
    reader.feed(ENQUIRE_LINK)
    assert reader.buffered == 0
    assert list(reader.frames()) == []


def test_bad_length_after_a_partial_good_frame_is_seen_only_when_its_header_is() -> None:
    reader = PduReader(max_size=64)
    bad = header(10_000, CommandId.BIND_TRANSMITTER)
    reader.feed(ENQUIRE_LINK + bad[:15])
    assert list(reader.frames()) == [ENQUIRE_LINK]
    reader.feed(bad[15:])
    with pytest.raises(PduError):
        list(reader.frames())
