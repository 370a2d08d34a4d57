"""Client-certificate binding on the TLS listener: trustme certificates, real handshakes.

The listener asks for a client certificate under ``[server] tls_client_ca`` (optional);
an account with a pinned fingerprint binds only with that certificate, others bind as
before, with or without one.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import trustme

from gateway.admin import inputs
from gateway.admin.errors import InvalidInput
from gateway.app import Gateway
from gateway.smpp import (
    BindTransmitter,
    CommandStatus,
    EnquireLink,
    EnquireLinkResp,
    PduReader,
    Unbind,
    UnbindResp,
    decode,
    encode,
)
from ledger import Store
from ledger.models import AccountChanges
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.test_tls import _collect_refused_handshakes


class Pki:
    """The server's CA and pair, the clients' CA, and two client certificates of it."""

    def __init__(self, tmp_path: Path) -> None:
        self.server_ca, self.client_ca, self.stranger_ca = trustme.CA(), trustme.CA(), trustme.CA()
        server = self.server_ca.issue_cert("localhost")
        self.cert_file, self.key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
        server.private_key_and_cert_chain_pem.write_to_path(str(self.cert_file))
        server.private_key_pem.write_to_path(str(self.key_file))
        self.client_ca_file = tmp_path / "clients-ca.pem"
        self.client_ca.cert_pem.write_to_path(str(self.client_ca_file))
        self.shop = self.client_ca.issue_cert("shop.example")
        self.other = self.client_ca.issue_cert("other.example")
        self.shop_pem = tmp_path / "shop.pem"
        self.shop.cert_chain_pems[0].write_to_path(str(self.shop_pem))

    def context(self, cert: trustme.LeafCert | None) -> ssl.SSLContext:
        """A client context trusting the server, showing ``cert`` (None: no certificate)."""
        ctx = ssl.create_default_context()
        self.server_ca.configure_trust(ctx)
        if cert is not None:
            cert.configure_cert(ctx)
        return ctx


def fingerprint(cert: trustme.LeafCert) -> str:
    return hashlib.sha256(
        ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    ).hexdigest()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
async def gateway(store: Store, tmp_path: Path, pki: Pki) -> AsyncIterator[Gateway]:
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={
            "tls_port": 0,
            "tls_cert": pki.cert_file,
            "tls_key": pki.key_file,
            "tls_client_ca": pki.client_ca_file,
        },
    )
    await make_account(store, "smpp-pinned")
    await make_account(store, "smpp-free")
    await store.update_account(
        "smpp-pinned", AccountChanges(client_cert_sha256=inputs.pem_fingerprint(str(pki.shop_pem)))
    )
    async with running_gateway(config, store) as g:
        yield g


class _Unanswered(Exception):
    """The gateway closed the connection without answering the bind."""


def _bind(port: int, ctx: ssl.SSLContext | None, system_id: str) -> int:
    """Bind ``system_id`` over TLS (``ctx``) or plain TCP (None): the bind status."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s: Any = raw if ctx is None else ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        s.sendall(
            encode(BindTransmitter(sequence_number=1, system_id=system_id, password=PASSWORD))
        )
        reader = PduReader()
        while True:
            data = s.recv(4096)
            if not data:
                raise _Unanswered(system_id)
            reader.feed(data)
            for frame in reader.frames():
                return int(decode(frame).command_status)
    finally:
        s.close()


def reasons(logs: list[Any]) -> list[str]:
    return [e["reason"] for e in logs if e["event"] == "bind.refused"]


async def test_a_pinned_account_binds_only_with_its_certificate(gateway: Gateway, pki: Pki) -> None:
    tls, plain = gateway.endpoints.tls_port, gateway.endpoints.port
    assert tls is not None
    with structlog.testing.capture_logs() as logs:
        assert await in_thread(_bind, tls, pki.context(pki.shop), "smpp-pinned") == 0
        refused = [
            await in_thread(_bind, tls, pki.context(None), "smpp-pinned"),
            await in_thread(_bind, tls, pki.context(pki.other), "smpp-pinned"),
            await in_thread(_bind, plain, None, "smpp-pinned"),
        ]
    assert refused == [CommandStatus.ESME_RBINDFAIL] * 3
    assert reasons(logs) == ["client_cert_missing", "client_cert_mismatch", "client_cert_missing"]


async def test_an_account_without_a_pin_binds_with_or_without_a_certificate(
    gateway: Gateway, pki: Pki
) -> None:
    tls = gateway.endpoints.tls_port
    assert tls is not None
    assert await in_thread(_bind, tls, pki.context(None), "smpp-free") == 0
    assert await in_thread(_bind, tls, pki.context(pki.other), "smpp-free") == 0
    assert await in_thread(_bind, gateway.endpoints.port, None, "smpp-free") == 0


async def test_a_certificate_from_another_ca_fails_the_handshake(
    gateway: Gateway, pki: Pki
) -> None:
    tls = gateway.endpoints.tls_port
    assert tls is not None
    stranger = pki.stranger_ca.issue_cert("shop.example")

    def refused() -> bool:
        # With TLS 1.3 the client's side of the handshake ends before the server has
        # checked its certificate: the refusal arrives as an alert or the end of stream.
        try:
            _bind(tls, pki.context(stranger), "smpp-free")
        except (ssl.SSLError, ConnectionError, _Unanswered):
            return True
        return False

    assert await in_thread(refused)
    await _collect_refused_handshakes()


def _bound(port: int, ctx: ssl.SSLContext) -> Any:
    """A TLS session bound as smpp-free."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    bind = BindTransmitter(sequence_number=1, system_id="smpp-free", password=PASSWORD)
    s.sendall(encode(bind))
    reader = PduReader()
    while True:
        reader.feed(s.recv(4096))
        for frame in reader.frames():
            assert decode(frame).command_status == CommandStatus.ESME_ROK
            return s


def _next_pdu(s: Any) -> Any:
    reader = PduReader()
    while True:
        data = s.recv(4096)
        if not data:
            return None
        reader.feed(data)
        for frame in reader.frames():
            return decode(frame)


def _answer_unbind(s: Any) -> bool:
    """Wait for the gateway's unbind, answer it; True once the gateway closed."""
    pdu = _next_pdu(s)
    assert isinstance(pdu, Unbind), pdu
    s.sendall(encode(UnbindResp(sequence_number=pdu.sequence_number)))
    return _next_pdu(s) is None


def _still_bound(s: Any) -> bool:
    s.sendall(encode(EnquireLink(sequence_number=7)))
    pdu = _next_pdu(s)
    return isinstance(pdu, EnquireLinkResp)


async def test_pinning_ends_the_sessions_without_the_certificate(
    gateway: Gateway, store: Store, pki: Pki
) -> None:
    tls = gateway.endpoints.tls_port
    assert tls is not None
    with_cert = await in_thread(_bound, tls, pki.context(pki.shop))
    without = await in_thread(_bound, tls, pki.context(None))
    try:
        with structlog.testing.capture_logs() as logs:
            await store.update_account(
                "smpp-free", AccountChanges(client_cert_sha256=fingerprint(pki.shop))
            )
            # The account watch (about once a second) unbinds the one without it...
            assert await in_thread(_answer_unbind, without)
            # ...and leaves the one that showed the pinned certificate.
            assert await in_thread(_still_bound, with_cert)
    finally:
        for s in (with_cert, without):
            s.close()
    evicted = [e for e in logs if e["event"] == "session.evicted"]
    assert [e["reason"] for e in evicted] == ["client_cert_changed"]


def test_the_pem_fingerprint_is_what_the_handshake_shows(pki: Pki, tmp_path: Path) -> None:
    assert inputs.pem_fingerprint(str(pki.shop_pem)) == fingerprint(pki.shop)
    key = tmp_path / "key.pem"
    pki.shop.private_key_and_cert_chain_pem.write_to_path(str(key))
    with pytest.raises(InvalidInput, match="private key"):
        inputs.pem_fingerprint(str(key))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(InvalidInput, match="not a PEM certificate"):
        inputs.pem_fingerprint(str(junk))
    with pytest.raises(InvalidInput, match="cannot read"):
        inputs.pem_fingerprint(str(tmp_path / "missing.pem"))
