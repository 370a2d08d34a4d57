"""The TLS listener: same SMPP service, certificate from a test CA (trustme)."""

from __future__ import annotations

import ssl
from pathlib import Path

import smpplib.client
import trustme

from ledger import open_store
from ledger.models import EntryKind
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)


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
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    # smpplib wraps its socket without server_hostname; the chain is still verified.
    client_ctx.check_hostname = False

    url = f"sqlite:///{tmp_path}/ledger.db"
    store = await open_store(url)
    await store.upgrade()
    await make_account(store, "smpp-tls")
    config = gateway_config(url, server={"tls_port": 0, "tls_cert": cert_file, "tls_key": key_file})
    try:
        async with running_gateway(config, store) as gw:
            assert gw.endpoints is not None
            assert gw.endpoints.tls_port
            status, message_id = await in_thread(
                _submit_over_tls, gw.endpoints.tls_port, client_ctx
            )
        assert status == 0
        debits = [e for e in await store.journal("smpp-tls") if e.kind == EntryKind.DEBIT]
        assert [e.message_id for e in debits] == [message_id]
    finally:
        await store.close()
