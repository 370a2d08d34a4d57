"""A listener behind load balancers that speak the PROXY protocol (``[server]
proxy_protocol_from``): the thin socket shell around ``proxy_header.parse_header``.

asyncio's servers start reading (and, on the TLS port, the TLS handshake) as soon as a
connection is accepted, and read as much as the socket holds, which would swallow the
client's first octets after the header. So this listener accepts by itself, reads the
header off the raw socket with ``MSG_PEEK`` (consuming exactly the header's octets,
never one more), and only then hands the socket to asyncio with
``loop.connect_accepted_socket`` (TLS handshake included, for the TLS port): the SMPP
connection starts on the client's first octet and knows the client's real address.

- From a trusted balancer: a header must come within ``proxy_header_timeout_s``; none,
  or an invalid one, closes the connection (``proxy.header_refused``/``_timeout``).
- From anyone else: the first octets are peeked (not consumed); a PROXY signature closes
  the connection (``proxy.untrusted_header``), anything else is the client's own stream.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from gateway.transport.connection import SmppConnection
from gateway.transport.proxy_header import (
    MAX_LENGTH,
    ProxyHeader,
    ProxyHeaderError,
    parse_header,
    starts_like_header,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Makes the SMPP connection for a client: (its address, or None for the socket's own;
#: the balancer's ``ip:port`` it came through, or None).
ConnectionFactory = Callable[[tuple[str, int] | None, str | None], SmppConnection]
#: Octets enough to tell a PROXY signature from SMPP or TLS.
_SNIFF = 16


def trusted_proxy(address: str, networks: Collection[Network]) -> bool:
    """True when ``address`` (as the socket reports it) is in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in n for n in networks)


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Listening TCP sockets on ``host``:``port``, one per address it resolves to (as
    asyncio's ``create_server`` makes them: address reusable, IPv6 sockets IPv6 only,
    non-blocking)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    socks: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(1024)
            sock.setblocking(False)
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    fut: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()

    def ready() -> None:
        if not fut.done():
            fut.set_result(None)

    loop.add_reader(fd, ready)
    try:
        await fut
    finally:
        loop.remove_reader(fd)


async def _peek(loop: asyncio.AbstractEventLoop, sock: socket.socket, size: int) -> bytes:
    """What the socket holds (up to ``size`` octets), left in it; b"" at end of stream."""
    while True:
        await _readable(loop, sock)
        try:
            return sock.recv(size, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            continue


async def read_header(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> ProxyHeader:
    """Consume exactly the PROXY header at the start of ``sock``'s stream.

    Raises ``ProxyHeaderError`` (also when the stream ends first). No timeout: the
    caller bounds it.
    """
    got = b""
    while True:
        peeked = await _peek(loop, sock, MAX_LENGTH - len(got))
        if not peeked:
            raise ProxyHeaderError("connection closed before a complete PROXY header")
        header = parse_header(got + peeked)
        # Incomplete means every octet so far is the header's: take them all. Complete:
        # take its octets only; the rest is the client's and stays in the socket.
        want = len(got) + (len(peeked) if header is None else header.length - len(got))
        while len(got) < want:  # the octets are there (peeked): this does not wait
            chunk = sock.recv(want - len(got))
            if not chunk:
                raise ProxyHeaderError("connection closed before a complete PROXY header")
            got += chunk
        if header is not None:
            return header


class ProxiedListener:
    """Accepts on one socket, PROXY header first where the peer is a trusted balancer."""

    def __init__(
        self,
        sock: socket.socket,
        factory: ConnectionFactory,
        *,
        trusted: Collection[Network],
        header_timeout: float,
        first_octet_timeout: float,
        ssl_context: ssl.SSLContext | None,
        log: Any,
        max_pending: int = 10_000,
        max_pending_per_address: int = 200,
    ) -> None:
        self.sock = sock
        self.factory = factory
        self.trusted = tuple(trusted)
        self.header_timeout = header_timeout
        self.first_octet_timeout = first_octet_timeout
        self.ssl_context = ssl_context
        self.log = log
        #: Most connections waiting at once for their header, first octets or TLS
        #: handshake; more are closed at once, so a flood of silent connections cannot
        #: pile up (each is bounded by a deadline too).
        self.max_pending = max_pending
        #: The same for one direct (untrusted) client address: a balancer's connections
        #: all share its address, so it is not counted.
        self.max_pending_per_address = max_pending_per_address
        self._pending_by_address: Counter[str] = Counter()
        self._accepting: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port listened on (useful with port 0)."""
        return int(self.sock.getsockname()[1])

    def start(self) -> None:
        """Start accepting."""
        self._accepting = asyncio.get_running_loop().create_task(self._accept_forever())

    async def close(self) -> None:
        """Stop accepting; connections still before their header are dropped."""
        tasks = [t for t in (self._accepting, *self._pending) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.sock.close()

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, address = await loop.sock_accept(self.sock)
            except OSError as e:
                # Out of descriptors and the like: wait a moment rather than spin.
                self.log.warning("connection.accept_failed", error=repr(e))
                await asyncio.sleep(0.1)
                continue
            reason = self._room_for(str(address[0]))
            if reason is not None:
                self.log.warning("connection.refused", peer=_peer(address), reason=reason)
                conn.close()
                continue
            # Counted here, not when the task starts: several connections may be
            # accepted before the first task runs.
            host = str(address[0])
            self._pending_by_address[host] += 1
            task = loop.create_task(self._open(conn, address))
            self._pending.add(task)
            task.add_done_callback(functools.partial(self._done, conn, host))

    def _done(self, sock: socket.socket, host: str, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if task.cancelled():
            # Cancelled (at close) maybe before it ran at all, so before its own
            # ``finally``: the socket is ours to close (a second close is a no-op).
            sock.close()
        self._pending_by_address[host] -= 1
        if self._pending_by_address[host] <= 0:
            del self._pending_by_address[host]

    def _room_for(self, host: str) -> str | None:
        """Why a new connection from ``host`` may not wait for its first octets, or None."""
        if len(self._pending) >= self.max_pending:
            return "max_pending_headers"
        if (
            not trusted_proxy(host, self.trusted)
            and self._pending_by_address[host] >= self.max_pending_per_address
        ):
            return "max_connections_per_address"
        return None

    async def _open(self, sock: socket.socket, address: Any) -> None:
        loop = asyncio.get_running_loop()
        host, peer = str(address[0]), _peer(address)
        log = self.log.bind(peer=peer)
        handed_over = False
        try:
            sock.setblocking(False)
            client: tuple[str, int] | None = None
            via: str | None = None
            if trusted_proxy(host, self.trusted):
                header = await self._header(loop, sock, log)
                if header is None:
                    return
                client, via = header.source, peer
            elif not await self._plain(loop, sock, log):
                return
            handed_over = True
            await loop.connect_accepted_socket(
                lambda: self.factory(client, via), sock, ssl=self.ssl_context
            )
        except (OSError, ssl.SSLError) as e:
            # A TLS handshake that failed, or a client gone while we read.
            log.info("connection.failed", error=repr(e))
        finally:
            if not handed_over:
                sock.close()

    async def _header(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, log: Any
    ) -> ProxyHeader | None:
        try:
            return await asyncio.wait_for(read_header(loop, sock), self.header_timeout)
        except TimeoutError:
            log.warning("proxy.header_timeout", after_s=self.header_timeout)
        except ProxyHeaderError as e:
            log.warning("proxy.header_refused", reason=str(e))
        return None

    async def _plain(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, log: Any) -> bool:
        """False when a client that may not send a PROXY header begins one (or is silent)."""
        try:
            first = await asyncio.wait_for(_peek(loop, sock, _SNIFF), self.first_octet_timeout)
        except TimeoutError:
            # As an unbound connection is closed after bind_timeout_s, with or without us.
            log.warning("session.bind_deadline", after_s=self.first_octet_timeout)
            return False
        if not first:
            return False
        if starts_like_header(first):
            log.warning("proxy.untrusted_header", reason="not in server.proxy_protocol_from")
            return False
        return True


def _peer(address: Any) -> str:
    return f"{address[0]}:{address[1]}"


def networks(items: Collection[str]) -> tuple[Network, ...]:
    """``[server] proxy_protocol_from`` as networks (the config checked them already)."""
    return tuple(ipaddress.ip_network(x) for x in items)
