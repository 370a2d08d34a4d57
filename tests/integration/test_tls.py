"""The TLS listener: same SMPP service, certificate from a test CA (trustme)."""

from __future__ import annotations

import asyncio
import gc
import shutil
import socket
import ssl
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import smpplib.client
import structlog
import trustme

from gateway.app import Gateway
from ledger import Store, open_store
from ledger.models import EntryKind
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)


@asynccontextmanager
async def _tls_gateway(
    tmp_path: Path, cert_file: Path, key_file: Path
) -> AsyncIterator[tuple[Gateway, Store]]:
    """A gateway with its TLS listener on ``cert_file``/``key_file``, and account smpp-tls."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    store = await open_store(url)
    await store.upgrade()
    await make_account(store, "smpp-tls")
    config = gateway_config(url, server={"tls_port": 0, "tls_cert": cert_file, "tls_key": key_file})
    try:
        async with running_gateway(config, store) as gw:
            yield gw, store
    finally:
        await store.close()


def _submit_over_tls(port: int, ctx: ssl.SSLContext) -> tuple[int, str]:
    client = smpplib.client.Client(
        "localhost", port, timeout=5, ssl_context=ctx, allow_unknown_opt_params=True
    )
    client.connect()
    try:
        client.bind_transmitter(system_id="smpp-tls", password=PASSWORD)
        sent: list[tuple[int, str]] = []
        client.set_message_sent_handler(
            lambda pdu: sent.append((int(pdu.status), pdu.message_id.decode()))
        )
        client.send_message(
            source_addr_ton=5,
            source_addr="SMPPGW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="33612345678",
            short_message=b"over tls",
        )
        client.read_once()
        client.unbind()
        return sent[0]
    finally:
        client.disconnect()


async def test_tls_listener_serves_smpp(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert_file, key_file = _pair(ca, tmp_path)
    client_ctx = _trusting(ca)

    async with _tls_gateway(tmp_path, cert_file, key_file) as (gw, store):
        assert gw.endpoints is not None
        assert gw.endpoints.tls_port
        status, message_id = await in_thread(_submit_over_tls, gw.endpoints.tls_port, client_ctx)
        assert status == 0
        debits = [e for e in await store.journal("smpp-tls") if e.kind == EntryKind.DEBIT]
        assert [e.message_id for e in debits] == [message_id]


def _pair(ca: trustme.CA, directory: Path) -> tuple[Path, Path]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    directory.mkdir(exist_ok=True)
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return cert_file, key_file


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    # smpplib wraps its socket without server_hostname; the chain is still verified.
    ctx.check_hostname = False
    return ctx


async def _collect_refused_handshakes() -> None:
    """Collect the server transports of refused handshakes, without their warning.

    CPython 3.11's asyncio leaves a server transport whose TLS handshake failed for the
    garbage collector, which warns "unclosed transport" (python/cpython#90476); the
    socket is closed then. Collected here, while the loop runs, instead of at exit.
    """
    await asyncio.sleep(0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _handshake(port: int, ctx: ssl.SSLContext) -> str:
    """The TLS version negotiated; raises ssl.SSLError when the handshake fails."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        return str(tls.version())


async def test_sighup_reload_serves_a_renewed_certificate_without_dropping_sessions(
    tmp_path: Path,
) -> None:
    old_ca, new_ca = trustme.CA(), trustme.CA()
    cert_file, key_file = _pair(old_ca, tmp_path / "live")
    async with _tls_gateway(tmp_path, cert_file, key_file) as (gw, _store):
        port = gw.endpoints.tls_port
        assert port
        # A session bound before the renewal...
        esme = smpplib.client.Client(
            "localhost",
            port,
            timeout=5,
            ssl_context=_trusting(old_ca),
            allow_unknown_opt_params=True,
        )
        await in_thread(esme.connect)
        await in_thread(lambda: esme.bind_transceiver(system_id="smpp-tls", password=PASSWORD))
        with pytest.raises(ssl.SSLError):
            await in_thread(_handshake, port, _trusting(new_ca))

        # A broken renewal (a key of another certificate) keeps the old pair serving.
        other_cert, _ = _pair(new_ca, tmp_path / "other")
        shutil.copy(other_cert, cert_file)
        with structlog.testing.capture_logs() as logs:
            gw.reload()
        assert [e["event"] for e in logs] == ["tls.reload_failed"]
        assert await in_thread(_handshake, port, _trusting(old_ca))

        renewed_cert, renewed_key = _pair(new_ca, tmp_path / "renewed")
        shutil.copy(renewed_cert, cert_file)
        shutil.copy(renewed_key, key_file)
        with structlog.testing.capture_logs() as logs:
            gw.reload()
        assert [e["event"] for e in logs] == ["tls.reloaded"]
        assert await in_thread(_handshake, port, _trusting(new_ca))
        with pytest.raises(ssl.SSLError):
            await in_thread(_handshake, port, _trusting(old_ca))

        # ...still bound and submitting on its old handshake.
        sent: list[int] = []
        esme.set_message_sent_handler(lambda pdu: sent.append(int(pdu.status)))
        await in_thread(
            lambda: esme.send_message(
                source_addr_ton=5,
                source_addr="SMPPGW",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="33612345678",
                short_message=b"after renewal",
            )
        )
        await in_thread(esme.read_once)
        assert sent == [0]
        await in_thread(esme.unbind)
        await in_thread(esme.disconnect)
        await _collect_refused_handshakes()


async def test_tls_below_1_2_and_cbc_suites_are_refused(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert_file, key_file = _pair(ca, tmp_path / "pair")
    async with _tls_gateway(tmp_path, cert_file, key_file) as (gw, _store):
        port = gw.endpoints.tls_port
        assert port
        old = _trusting(ca)
        with warnings.catch_warnings():  # the client side must be allowed to try 1.1
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await in_thread(_handshake, port, old)
        # TLS 1.2 with a CBC suite (which Python's default server list still takes).
        cbc = _trusting(ca)
        cbc.maximum_version = ssl.TLSVersion.TLSv1_2
        cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256")
        with pytest.raises(ssl.SSLError):
            await in_thread(_handshake, port, cbc)
        assert await in_thread(_handshake, port, _trusting(ca)) in ("TLSv1.2", "TLSv1.3")
        await _collect_refused_handshakes()
