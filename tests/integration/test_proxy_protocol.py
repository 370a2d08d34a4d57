"""PROXY protocol on the SMPP listeners, from raw sockets: the header's client address is
the one the allowlist, the caps, the throttle and the logs see.

127.0.0.1 plays the trusted balancer (``proxy_protocol_from``); 127.0.0.3 is a client
connecting directly, whom no header may come from. (The real HAProxy in front of a
gateway is in test_haproxy.py.)
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import struct
from collections.abc import AsyncIterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
import trustme

from gateway.app import Gateway
from gateway.smpp import BindTransmitter, CommandStatus, PduReader, decode, encode
from gateway.transport.proxy_header import V2_SIGNATURE
from ledger import Store
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.raw_esme import bind_status

SYSTEM_ID = "smpp-proxied"
BIND = encode(BindTransmitter(sequence_number=1, system_id=SYSTEM_ID, password=PASSWORD))


def v1(client: str, port: int = 40000) -> bytes:
    """A v1 header naming ``client`` (IPv4)."""
    return f"PROXY TCP4 {client} 127.0.0.1 {port} 2775\r\n".encode()


def v2(client: str, port: int = 40000, *, local: bool = False) -> bytes:
    """A v2 header naming ``client`` (IPv4), with one TLV; ``local``: a health check."""
    block = (
        ipaddress.IPv4Address(client).packed
        + ipaddress.IPv4Address("127.0.0.1").packed
        + struct.pack("!HH", port, 2775)
        + b"\x05\x00\x03abc"  # PP2_TYPE_UNIQUE_ID, skipped
    )
    command = 0x20 if local else 0x21
    return V2_SIGNATURE + bytes([command, 0x11]) + struct.pack("!H", len(block)) + block


@pytest.fixture
async def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def proxied(store: Store, tmp_path: Path, ca: trustme.CA) -> AsyncIterator[Gateway]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={
            "proxy_protocol_from": ("127.0.0.1/32",),
            "proxy_header_timeout_s": 0.5,
            "bind_timeout_s": 2.0,
            "max_connections_per_address": 2,
            "bind_max_failures": 2,
            "tls_port": 0,
            "tls_cert": cert_file,
            "tls_key": key_file,
        },
    )
    await make_account(store, SYSTEM_ID, allowed_ips=("192.0.2.0/24", "127.0.0.3/32"))
    async with running_gateway(config, store) as g:
        yield g


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.settimeout(5)
    return s


def _bind(s: Any, password: str = PASSWORD) -> int:
    """Bind ``s`` (a socket or TLS socket); the status, or -1 if closed unanswered."""
    return bind_status(s, SYSTEM_ID, password)


def _closed(s: socket.socket) -> bool:
    """True when the gateway closes ``s`` (within the socket timeout) without a word."""
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:  # closed with what we sent unread
        return True
    except TimeoutError:
        return False


def _through_proxy(port: int, header: bytes, password: str = PASSWORD) -> int:
    s = _connect(port)
    try:
        # Header and bind in one segment, as a balancer forwarding at once would send:
        # the gateway must read exactly the header and leave the bind to the session.
        return bind_status(s, SYSTEM_ID, password, before=header)
    finally:
        s.close()


def events(logs: Sequence[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == name]


async def test_the_header_client_is_the_bind_address(proxied: Gateway) -> None:
    port = proxied.endpoints.port
    with structlog.testing.capture_logs() as logs:
        assert await in_thread(_through_proxy, port, v2("192.0.2.7", 41000)) == 0
        assert await in_thread(_through_proxy, port, v1("192.0.2.8", 41001)) == 0
        refused = await in_thread(_through_proxy, port, v2("198.51.100.9", 41002))
    assert refused == CommandStatus.ESME_RINVSYSID or refused != 0
    accepted = events(logs, "bind.accepted")
    assert [e["peer"] for e in accepted] == ["192.0.2.7:41000", "192.0.2.8:41001"]
    assert all(e["proxy"].startswith("127.0.0.1:") for e in accepted)
    (no,) = events(logs, "bind.refused")
    assert no["peer"] == "198.51.100.9:41002"
    assert no["reason"] == "ip_not_allowed"


async def test_a_trusted_proxy_without_a_header_is_refused(proxied: Gateway) -> None:
    port = proxied.endpoints.port
    with structlog.testing.capture_logs() as logs:
        s = await in_thread(_connect, port)
        assert await in_thread(_bind, s) == -1  # a bind first: closed unanswered
        s.close()
        silent = await in_thread(_connect, port)
        assert await in_thread(_closed, silent)  # nothing at all: closed at the deadline
        silent.close()
    (refused,) = events(logs, "proxy.header_refused")
    assert "not a PROXY header" in refused["reason"]
    assert refused["peer"].startswith("127.0.0.1:")
    assert events(logs, "proxy.header_timeout")[0]["after_s"] == 0.5
    assert events(logs, "bind.accepted") == []


async def test_a_header_from_an_untrusted_address_closes_the_connection(
    proxied: Gateway,
) -> None:
    port = proxied.endpoints.port
    with structlog.testing.capture_logs() as logs:
        s = await in_thread(_connect, port, "127.0.0.3")
        # 127.0.0.3 is allowed to bind, but may not pretend to be 192.0.2.7.
        s.sendall(
            v2("192.0.2.7")
            + encode(BindTransmitter(sequence_number=1, system_id=SYSTEM_ID, password=PASSWORD))
        )
        assert await in_thread(_closed, s)
        s.close()
        direct = await in_thread(_connect, port, "127.0.0.3")
        assert await in_thread(_bind, direct) == 0  # without a header it binds as itself
        direct.close()
    (untrusted,) = events(logs, "proxy.untrusted_header")
    assert untrusted["peer"].startswith("127.0.0.3:")
    assert [e["peer"].split(":")[0] for e in events(logs, "bind.accepted")] == ["127.0.0.3"]


async def test_a_health_check_header_leaves_the_balancer_address(proxied: Gateway) -> None:
    port = proxied.endpoints.port
    with structlog.testing.capture_logs() as logs:
        # LOCAL: the balancer's own connection; its address (127.0.0.1) is not allowed.
        status = await in_thread(_through_proxy, port, v2("192.0.2.7", local=True))
    assert status != 0
    (refused,) = events(logs, "bind.refused")
    assert refused["peer"].startswith("127.0.0.1:")


def _tls_through_proxy(port: int, header: bytes, ctx: ssl.SSLContext) -> int:
    s = _connect(port)
    s.sendall(header)  # the header goes in clear, before the TLS handshake
    with ctx.wrap_socket(s, server_hostname="localhost") as tls:
        return _bind(tls)


async def test_tls_after_the_header(proxied: Gateway, ca: trustme.CA) -> None:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    tls_port = proxied.endpoints.tls_port
    assert tls_port is not None
    with structlog.testing.capture_logs() as logs:
        assert await in_thread(_tls_through_proxy, tls_port, v1("192.0.2.10", 42000), ctx) == 0
        assert await in_thread(_tls_through_proxy, tls_port, v2("198.51.100.1"), ctx) != 0
    assert [e["peer"] for e in events(logs, "bind.accepted")] == ["192.0.2.10:42000"]
    assert events(logs, "bind.refused")[0]["reason"] == "ip_not_allowed"


async def test_caps_count_the_real_client(proxied: Gateway) -> None:
    port = proxied.endpoints.port
    held: list[socket.socket] = []
    try:
        with structlog.testing.capture_logs() as logs:
            for n in range(2):  # max_connections_per_address = 2
                s = await in_thread(_connect, port)
                held.append(s)
                s.sendall(v2("192.0.2.7", 43000 + n))
                assert await in_thread(_bind, s) == 0  # admitted (in this order)
            third = await in_thread(_connect, port)
            held.append(third)
            third.sendall(v2("192.0.2.7", 43002))
            assert await in_thread(_closed, third)  # a third from .7 goes
            other = await in_thread(_connect, port)
            held.append(other)
            other.sendall(v2("192.0.2.8", 43100))
            assert await in_thread(_bind, other) == 0  # same balancer, another client: room
    finally:
        for s in held:
            s.close()
    (refused,) = events(logs, "connection.refused")
    assert (refused["reason"], refused["peer"]) == (
        "max_connections_per_address",
        "192.0.2.7:43002",
    )


async def test_throttling_blocks_the_real_client_only(proxied: Gateway) -> None:
    port = proxied.endpoints.port
    with structlog.testing.capture_logs() as logs:
        for n in range(2):  # bind_max_failures = 2
            assert await in_thread(_through_proxy, port, v2("192.0.2.7", 44000 + n), "wrong") != 0
        throttled = await in_thread(_through_proxy, port, v2("192.0.2.7", 44002))
        assert throttled == CommandStatus.ESME_RBINDTHROTTLED
        # Everyone comes through the same balancer; only the guesser is blocked.
        assert await in_thread(_through_proxy, port, v2("192.0.2.8", 44003)) == 0
    (blocked,) = events(logs, "bind.throttled")
    assert blocked["peer_ip"] == "192.0.2.7"


async def test_silent_connections_before_their_header_are_capped(
    store: Store, tmp_path: Path
) -> None:
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={"proxy_protocol_from": ("127.0.0.1/32",), "max_connections": 2},
    )
    async with running_gateway(config, store) as gw:
        port = gw.endpoints.port
        with structlog.testing.capture_logs() as logs:
            silent = [await in_thread(_connect, port) for _ in range(2)]
            extra = await in_thread(_connect, port)
            assert await in_thread(_closed, extra)  # at once: no header deadline waited
            for s in silent:
                s.sendall(v2("192.0.2.7"))  # late, but in time: they go on
            assert await in_thread(_bind, silent[0]) != -1
        for s in (*silent, extra):
            s.close()
    refused = events(logs, "connection.refused")
    assert [e["reason"] for e in refused] == ["max_pending_headers"]


def v2_tcp6(client: str, port: int) -> bytes:
    """A v2 header naming an IPv6 client."""
    block = (
        ipaddress.IPv6Address(client).packed
        + ipaddress.IPv6Address("2001:db8::1").packed
        + struct.pack("!HH", port, 2775)
    )
    return V2_SIGNATURE + b"\x21\x21" + struct.pack("!H", len(block)) + block


async def test_an_ipv6_client_through_an_ipv4_balancer(proxied: Gateway, store: Store) -> None:
    await make_account(store, "smpp-v6", allowed_ips=("2001:db8:7::/48",))
    port = proxied.endpoints.port

    def bind_v6(client: str) -> int:
        s = _connect(port)
        try:
            bind = BindTransmitter(sequence_number=1, system_id="smpp-v6", password=PASSWORD)
            s.sendall(v2_tcp6(client, 45000) + encode(bind))
            reader = PduReader()
            while True:
                data = s.recv(4096)
                if not data:
                    return -1
                reader.feed(data)
                for frame in reader.frames():
                    return int(decode(frame).command_status)
        finally:
            s.close()

    with structlog.testing.capture_logs() as logs:
        assert await in_thread(bind_v6, "2001:db8:7::9") == 0
        assert await in_thread(bind_v6, "2001:db8:8::9") != 0
    assert [e["peer"] for e in events(logs, "bind.accepted")] == ["2001:db8:7::9:45000"]
    assert events(logs, "bind.refused")[0]["reason"] == "ip_not_allowed"


async def test_silent_direct_clients_are_capped_per_address(store: Store, tmp_path: Path) -> None:
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={"proxy_protocol_from": ("127.0.0.1/32",), "max_connections_per_address": 1},
    )
    held: list[socket.socket] = []
    async with running_gateway(config, store) as gw:
        port = gw.endpoints.port
        try:
            with structlog.testing.capture_logs() as logs:
                first = await in_thread(_connect, port, "127.0.0.3")
                second = await in_thread(_connect, port, "127.0.0.3")
                held += [first, second]
                assert await in_thread(_closed, second)
                other = await in_thread(_connect, port, "127.0.0.4")  # another address
                held.append(other)
                proxied = [await in_thread(_connect, port) for _ in range(2)]  # the balancer
                held += proxied
                for s in proxied:
                    s.sendall(v2("192.0.2.7"))
                assert await in_thread(_bind, other) != -1
                assert await in_thread(_bind, first) != -1
        finally:
            for s in held:
                s.close()
    refused = events(logs, "connection.refused")
    assert [(e["reason"], e["peer"].split(":")[0]) for e in refused] == [
        ("max_connections_per_address", "127.0.0.3"),
        # The balancer's two connections are the same client's: the second goes at
        # admission, by the client address the header named.
        ("max_connections_per_address", "192.0.2.7"),
    ]
