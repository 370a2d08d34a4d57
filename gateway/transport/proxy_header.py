"""The PROXY protocol header (HAProxy's, versions 1 and 2): a pure parser, no I/O.

A load balancer in front of the gateway opens its own TCP connection to us, so the
address the socket shows is the balancer's. With ``send-proxy`` (v1, a text line) or
``send-proxy-v2`` (binary) it first sends one header naming the real client; the
listener reads it before anything else (before the TLS handshake on the TLS port) and
uses that address for the allowlist, the throttles, the caps and the logs.

``parse_header(data)`` looks at the octets received so far and returns:

- ``None``: incomplete, and *every octet of data belongs to the header* (so a reader may
  consume all of it and wait for more without ever reading past the header);
- a ``ProxyHeader`` whose ``length`` says how many leading octets it took (what follows
  is the client's own stream: SMPP or a TLS ClientHello);
- or raises ``ProxyHeaderError`` (one line, safe to log: no client data echoed beyond
  a short excerpt).

Covered: v1 ``TCP4``, ``TCP6`` and ``UNKNOWN``; v2 ``LOCAL`` and ``PROXY`` over TCP
(``AF_INET``/``AF_INET6``) or ``AF_UNSPEC``, TLVs skipped. ``LOCAL``, ``UNKNOWN`` and
``AF_UNSPEC`` carry no client (the balancer's own health check): ``source`` is None and
the connection's own address stands. UDP and Unix-socket addresses are refused: no
SMPP client comes from them.

Spec: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

#: The v1 header starts with this, ends with CRLF, and is at most 107 octets long.
V1_SIGNATURE = b"PROXY "
V1_MAX_LENGTH = 107
#: The v2 header starts with these 12 octets, then 4 fixed octets and ``len`` more.
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_FIXED_LENGTH = 16
#: The longest header there can be (v2 with a 65535-octet address block).
MAX_LENGTH = V2_FIXED_LENGTH + 0xFFFF

_V2_LOCAL, _V2_PROXY = 0x0, 0x1
_AF_UNSPEC, _AF_INET, _AF_INET6, _AF_UNIX = 0x0, 0x1, 0x2, 0x3
_STREAM = 0x1
#: Address block sizes for TCP over IPv4 and IPv6 (two addresses, two ports).
_INET_BLOCK, _INET6_BLOCK = 12, 36


class ProxyHeaderError(ValueError):
    """The octets are not a valid PROXY header; ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A complete header: who the client is, as the balancer saw it."""

    version: int
    #: The real client's (address, port), or None: ``LOCAL``/``UNKNOWN``/``AF_UNSPEC``.
    source: tuple[str, int] | None
    #: The address the client connected to on the balancer (None with ``source``).
    destination: tuple[str, int] | None
    #: Octets the header took at the start of the stream.
    length: int


def starts_like_header(data: bytes) -> bool:
    """True when ``data`` (non-empty) is or begins a PROXY signature of either version.

    For connections that may not send one: no SMPP PDU (command_length's first octet
    is 0 for any PDU under 16 MiB) and no TLS record (0x16) starts this way.
    """
    if not data:
        return False
    return any(data[: len(sig)] == sig[: len(data)] for sig in (V1_SIGNATURE, V2_SIGNATURE))


def parse_header(data: bytes) -> ProxyHeader | None:
    """The header at the start of ``data``; None while incomplete (see the module doc)."""
    if not data:
        return None
    if data[:1] == V1_SIGNATURE[:1]:
        return _parse_v1(data)
    if data[:1] == V2_SIGNATURE[:1]:
        return _parse_v2(data)
    raise ProxyHeaderError(f"not a PROXY header (starts with {_excerpt(data)})")


# -- version 1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 2775\r\n" -----------------------
def _parse_v1(data: bytes) -> ProxyHeader | None:
    head = data[: len(V1_SIGNATURE)]
    if head != V1_SIGNATURE[: len(head)]:
        raise ProxyHeaderError(f"not a PROXY header (starts with {_excerpt(data)})")
    end = data.find(b"\r\n", 0, V1_MAX_LENGTH)
    if end < 0:
        if len(data) >= V1_MAX_LENGTH:
            raise ProxyHeaderError(f"PROXY v1 line longer than {V1_MAX_LENGTH} octets")
        # A lone LF, or a CR followed by anything but LF, can never become the CRLF end.
        lone = data.find(b"\n")
        cr = data.find(b"\r")
        if lone >= 0 or (0 <= cr < len(data) - 1):
            raise ProxyHeaderError("PROXY v1 line with a stray CR or LF")
        return None
    length = end + 2
    try:
        line = data[len(V1_SIGNATURE) : end].decode("ascii")
    except UnicodeDecodeError:
        raise ProxyHeaderError("PROXY v1 line is not ASCII") from None
    if "\r" in line or "\n" in line:
        raise ProxyHeaderError("PROXY v1 line with a stray CR or LF")
    if line == "UNKNOWN" or line.startswith("UNKNOWN "):
        # The balancer could not tell (or will not say): whatever follows is ignored.
        return ProxyHeader(1, None, None, length)
    parts = line.split(" ")
    if len(parts) != 5 or parts[0] not in ("TCP4", "TCP6"):
        raise ProxyHeaderError(f"PROXY v1 line is not TCP4/TCP6/UNKNOWN: {_excerpt(data)}")
    proto, src, dst, sport, dport = parts
    version = 4 if proto == "TCP4" else 6
    return ProxyHeader(
        1,
        (_v1_address(src, version), _v1_port(sport)),
        (_v1_address(dst, version), _v1_port(dport)),
        length,
    )


def _v1_address(text: str, version: int) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ProxyHeaderError(f"PROXY v1: not an IP address: {text[:46]!r}") from None
    if address.version != version:
        raise ProxyHeaderError(f"PROXY v1: {text} is not an IPv{version} address")
    return str(address)


def _v1_port(text: str) -> int:
    if not text.isdigit() or not text.isascii() or len(text) > 5 or int(text) > 0xFFFF:
        raise ProxyHeaderError(f"PROXY v1: not a port: {text[:8]!r}")
    return int(text)


# -- version 2: binary ---------------------------------------------------------------
def _parse_v2(data: bytes) -> ProxyHeader | None:
    head = data[: len(V2_SIGNATURE)]
    if head != V2_SIGNATURE[: len(head)]:
        raise ProxyHeaderError(f"not a PROXY header (starts with {_excerpt(data)})")
    if len(data) < V2_FIXED_LENGTH:
        if len(data) > len(V2_SIGNATURE) and data[12] >> 4 != 2:
            raise ProxyHeaderError(f"PROXY v2: version {data[12] >> 4} (expected 2)")
        return None
    ver_cmd, fam, block = data[12], data[13], int.from_bytes(data[14:16], "big")
    if ver_cmd >> 4 != 2:
        raise ProxyHeaderError(f"PROXY v2: version {ver_cmd >> 4} (expected 2)")
    command = ver_cmd & 0x0F
    if command not in (_V2_LOCAL, _V2_PROXY):
        raise ProxyHeaderError(f"PROXY v2: unknown command 0x{command:x}")
    length = V2_FIXED_LENGTH + block
    if len(data) < length:
        return None
    if command == _V2_LOCAL:
        # The balancer's own connection (a health check): no client, block ignored.
        return ProxyHeader(2, None, None, length)
    family, transport = fam >> 4, fam & 0x0F
    if family == _AF_UNSPEC:
        return ProxyHeader(2, None, None, length)
    if family not in (_AF_INET, _AF_INET6) or transport != _STREAM:
        raise ProxyHeaderError(
            f"PROXY v2: unsupported address family/transport 0x{fam:02x} (TCP only)"
        )
    size = _INET_BLOCK if family == _AF_INET else _INET6_BLOCK
    if block < size:
        raise ProxyHeaderError(f"PROXY v2: address block of {block} octets (needs {size})")
    body = data[V2_FIXED_LENGTH : V2_FIXED_LENGTH + size]
    n = (size - 4) // 2
    src: ipaddress.IPv4Address | ipaddress.IPv6Address
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address
    if family == _AF_INET:
        src, dst = ipaddress.IPv4Address(body[:n]), ipaddress.IPv4Address(body[n : 2 * n])
    else:
        src, dst = ipaddress.IPv6Address(body[:n]), ipaddress.IPv6Address(body[n : 2 * n])
    sport = int.from_bytes(body[2 * n : 2 * n + 2], "big")
    dport = int.from_bytes(body[2 * n + 2 : 2 * n + 4], "big")
    # What follows the addresses up to ``length`` is TLVs (ALPN, SSL, unique id, CRC):
    # nothing the gateway uses, so they are skipped unread.
    return ProxyHeader(2, (str(src), sport), (str(dst), dport), length)


def _excerpt(data: bytes) -> str:
    """A short printable excerpt of client octets for an error line."""
    return repr(data[:16])
