"""Reading the PROXY header off a real socket: octet-exact, whatever the segments."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from gateway.transport.proxied import networks, read_header, trusted_proxy
from gateway.transport.proxy_header import ProxyHeaderError
from tests.unit.transport.test_proxy_header import SMPP_BIND, V1_TCP4, v2


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    try:
        yield ours, theirs
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize("header", [V1_TCP4, v2(tlvs=b"\x05\x00\x02id")])
@pytest.mark.parametrize("cuts", [(), (1,), (5, 13), (15, 16, 17), tuple(range(1, 60))])
async def test_the_header_is_consumed_and_not_one_octet_more(
    pair: tuple[socket.socket, socket.socket], header: bytes, cuts: tuple[int, ...]
) -> None:
    ours, theirs = pair
    stream = header + SMPP_BIND
    loop = asyncio.get_running_loop()
    reading = loop.create_task(read_header(loop, ours))
    start = 0
    for cut in [c for c in cuts if c < len(stream)] + [len(stream)]:
        theirs.sendall(stream[start:cut])
        start = cut
        await asyncio.sleep(0.001)  # let the reader see this segment on its own
    parsed = await asyncio.wait_for(reading, 5)
    assert parsed.length == len(header)
    assert parsed.source == ("192.0.2.7", 40000)
    await asyncio.sleep(0)
    assert ours.recv(4096) == SMPP_BIND  # the client's stream, untouched


async def test_a_stream_ending_inside_the_header_is_an_error(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    theirs.sendall(V1_TCP4[:20])
    theirs.shutdown(socket.SHUT_WR)
    loop = asyncio.get_running_loop()
    with pytest.raises(ProxyHeaderError, match="closed before a complete"):
        await asyncio.wait_for(read_header(loop, ours), 5)


async def test_a_client_stream_instead_of_a_header_is_an_error(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    theirs.sendall(SMPP_BIND)
    loop = asyncio.get_running_loop()
    with pytest.raises(ProxyHeaderError, match="not a PROXY header"):
        await asyncio.wait_for(read_header(loop, ours), 5)


def test_trusted_proxy_networks() -> None:
    trusted = networks(["10.0.0.0/8", "2001:db8::/32"])
    assert trusted_proxy("10.1.2.3", trusted)
    assert trusted_proxy("::ffff:10.1.2.3", trusted)  # a dual-stack socket's view
    assert trusted_proxy("2001:db8::1", trusted)
    assert not trusted_proxy("192.0.2.1", trusted)
    assert not trusted_proxy("not an address", trusted)
    assert not trusted_proxy("10.1.2.3", networks([]))
