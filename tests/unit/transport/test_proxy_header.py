"""The PROXY header parser: both versions, every prefix, fuzzed like the codec."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.transport.proxy_header import (
    V1_MAX_LENGTH,
    V2_SIGNATURE,
    ProxyHeader,
    ProxyHeaderError,
    parse_header,
    starts_like_header,
)

SMPP_BIND = bytes.fromhex("0000002a00000002000000000000000173797374656d00736563726574000034000000")
TLS_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"


def v2(
    command: int = 1,
    family: int = 0x11,
    block: bytes | None = None,
    tlvs: bytes = b"",
    version: int = 2,
) -> bytes:
    """A v2 header; by default PROXY TCP4 192.0.2.7:40000 -> 198.51.100.1:2775."""
    if block is None:
        block = (
            ipaddress.IPv4Address("192.0.2.7").packed
            + ipaddress.IPv4Address("198.51.100.1").packed
            + struct.pack("!HH", 40000, 2775)
        )
    body = block + tlvs
    return (
        V2_SIGNATURE + bytes([version << 4 | command, family]) + struct.pack("!H", len(body)) + body
    )


V1_TCP4 = b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 2775\r\n"
V1_TCP6 = b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 2775\r\n"


# -- version 1 ---------------------------------------------------------------------------
def test_v1_tcp4() -> None:
    assert parse_header(V1_TCP4 + SMPP_BIND) == ProxyHeader(
        1, ("192.0.2.7", 40000), ("198.51.100.1", 2775), len(V1_TCP4)
    )


def test_v1_tcp6() -> None:
    header = parse_header(V1_TCP6)
    assert header is not None
    assert header.source == ("2001:db8::7", 40000)
    assert header.length == len(V1_TCP6)


@pytest.mark.parametrize("line", [b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ff::1 ff::2 1 2\r\n"])
def test_v1_unknown_names_no_client(line: bytes) -> None:
    assert parse_header(line + TLS_HELLO) == ProxyHeader(1, None, None, len(line))


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 192.0.2.7 198.51.100.1 40000\r\n",  # a field missing
        b"PROXY TCP4 192.0.2.7  198.51.100.1 40000 2775\r\n",  # two spaces
        b"PROXY TCP4 2001:db8::7 198.51.100.1 40000 2775\r\n",  # family mismatch
        b"PROXY TCP6 192.0.2.7 198.51.100.1 40000 2775\r\n",
        b"PROXY TCP4 192.0.2.7 198.51.100.1 70000 2775\r\n",  # port out of range
        b"PROXY TCP4 192.0.2.7 198.51.100.1 -1 2775\r\n",
        b"PROXY TCP4 192.0.2.300 198.51.100.1 1 2775\r\n",
        b"PROXY UDP4 192.0.2.7 198.51.100.1 40000 2775\r\n",
        b"PROXY tcp4 192.0.2.7 198.51.100.1 40000 2775\r\n",
        b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 2775\n",  # LF without CR
        b"PROXY TCP4 192.0.2.7\r198.51.100.1 40000 2775\r\n",
        b"PROXY TCP4 192.0.2.\xff 198.51.100.1 40000 2775\r\n",
        b"PROXX TCP4",
        b"GET / HTTP/1.1\r\n",
    ],
)
def test_v1_malformed_is_refused(line: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        parse_header(line)


def test_v1_line_without_end_is_refused_at_the_limit() -> None:
    assert parse_header(b"PROXY UNKNOWN " + b"x" * (V1_MAX_LENGTH - 15)) is None
    with pytest.raises(ProxyHeaderError, match="longer than 107"):
        parse_header(b"PROXY UNKNOWN " + b"x" * V1_MAX_LENGTH)


# -- version 2 ---------------------------------------------------------------------------
def test_v2_tcp4_with_tlvs_skipped() -> None:
    tlvs = b"\x01\x00\x02h2" + b"\x05\x00\x04abcd"  # ALPN, UNIQUE_ID
    data = v2(tlvs=tlvs)
    assert parse_header(data + SMPP_BIND) == ProxyHeader(
        2, ("192.0.2.7", 40000), ("198.51.100.1", 2775), len(data)
    )


def test_v2_tcp6() -> None:
    block = (
        ipaddress.IPv6Address("2001:db8::7").packed
        + ipaddress.IPv6Address("2001:db8::1").packed
        + struct.pack("!HH", 1234, 2775)
    )
    header = parse_header(v2(family=0x21, block=block))
    assert header is not None
    assert header.source == ("2001:db8::7", 1234)
    assert header.destination == ("2001:db8::1", 2775)


def test_v2_local_names_no_client_whatever_the_block() -> None:
    data = v2(command=0, family=0x00, block=b"")
    assert parse_header(data) == ProxyHeader(2, None, None, 16)
    data = v2(command=0)  # a health check may still carry addresses: ignored
    assert parse_header(data + TLS_HELLO) == ProxyHeader(2, None, None, len(data))


def test_v2_proxy_unspec_names_no_client() -> None:
    assert parse_header(v2(family=0x00, block=b"")) == ProxyHeader(2, None, None, 16)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (v2(version=1), "version 1"),
        (v2(command=2), "unknown command"),
        (v2(family=0x12), "unsupported"),  # UDP over IPv4
        (v2(family=0x31, block=b"\x00" * 216), "unsupported"),  # AF_UNIX
        (v2(block=b"\x00" * 11), "address block of 11"),
        (v2(family=0x21), "address block of 12"),  # IPv6 needs 36
    ],
)
def test_v2_malformed_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(ProxyHeaderError, match=match):
        parse_header(data)


def test_v2_bad_version_is_refused_before_the_length_arrives() -> None:
    with pytest.raises(ProxyHeaderError, match="version"):
        parse_header(V2_SIGNATURE + b"\x11")


# -- incomplete input: every prefix waits, and is all header ----------------------------
@pytest.mark.parametrize(
    "header", [V1_TCP4, V1_TCP6, b"PROXY UNKNOWN\r\n", v2(), v2(tlvs=b"\x04\x00\x01z")]
)
def test_every_proper_prefix_is_incomplete(header: bytes) -> None:
    for cut in range(len(header)):
        assert parse_header(header[:cut]) is None, cut
    complete = parse_header(header)
    assert complete is not None
    assert complete.length == len(header)


@pytest.mark.parametrize("stream", [SMPP_BIND, TLS_HELLO, b"\x00", b"\x16"])
def test_client_streams_are_not_headers(stream: bytes) -> None:
    assert not starts_like_header(stream)
    with pytest.raises(ProxyHeaderError, match="not a PROXY header"):
        parse_header(stream)


@pytest.mark.parametrize("header", [V1_TCP4, v2()])
def test_starts_like_header_from_the_first_octet(header: bytes) -> None:
    for cut in range(1, len(header) + 1):
        assert starts_like_header(header[:cut])
    assert not starts_like_header(b"")


# -- fuzzing -----------------------------------------------------------------------------
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_header_error(data: bytes) -> None:
    try:
        header = parse_header(data)
    except ProxyHeaderError as e:
        message = str(e)
        header = None
    else:
        message = ""
    assert "\n" not in message
    if header is not None:
        assert 0 < header.length <= len(data)


@given(st.sampled_from([V1_TCP4, V1_TCP6, v2(), v2(command=0)]), st.data())
def test_mutated_headers_never_crash(header: bytes, data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(header) - 1))
    octet = data.draw(st.integers(min_value=0, max_value=255))
    mutated = header[:i] + bytes([octet]) + header[i + 1 :]
    try:
        result = parse_header(mutated)
    except ProxyHeaderError:
        return
    assert result is None or result.length <= len(mutated)


@given(st.binary(max_size=200))
def test_a_complete_header_ignores_what_follows(rest: bytes) -> None:
    for header in (V1_TCP4, v2()):
        parsed = parse_header(header + rest)
        assert parsed is not None
        assert parsed.length == len(header)
