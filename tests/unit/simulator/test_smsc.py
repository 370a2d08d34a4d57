"""gateway.simulator.smsc: the built-in SMSC, driven over a real socket by a raw client."""

from __future__ import annotations

import asyncio
import struct

from gateway.simulator import UpstreamSimulator
from gateway.smpp import HEADER_SIZE, BindTransceiver, BindTransceiverResp, decode, encode

GUARD = 5.0  # seconds; a hang guard, never an expectation


async def test_stop_drops_the_sessions_bound_to_it() -> None:
    sim = UpstreamSimulator()
    await sim.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        writer.write(encode(BindTransceiver(sequence_number=1, system_id="gw")))
        head = await asyncio.wait_for(reader.readexactly(HEADER_SIZE), GUARD)
        (length,) = struct.unpack_from(">I", head)
        body = await asyncio.wait_for(reader.readexactly(length - HEADER_SIZE), GUARD)
        assert isinstance(decode(head + body), BindTransceiverResp)
        await sim.stop()
        # The simulator hung up: the client reads the end of the stream, not a hang.
        assert await asyncio.wait_for(reader.read(), GUARD) == b""
    finally:
        writer.close()
        await sim.stop()
