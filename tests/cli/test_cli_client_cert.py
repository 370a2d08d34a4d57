"""``smppgw account set --client-cert-sha256 / --client-cert-pem`` (issue 12), on each store."""

from __future__ import annotations

import hashlib
import json
import ssl
from pathlib import Path

import trustme

from tests.cli.test_cli import refused
from tests.cli.test_cli_transfers import Cli, ok, smppgw
from tests.ledger.conftest import pg_session_schema, pg_url, store_url

__all__ = ["pg_session_schema", "pg_url", "smppgw", "store_url"]


def test_a_pin_is_set_from_a_pem_or_a_fingerprint_shown_and_cleared(
    smppgw: Cli, tmp_path: Path
) -> None:
    cert = trustme.CA().issue_cert("shop.example")
    pem = tmp_path / "shop.pem"
    cert.cert_chain_pems[0].write_to_path(str(pem))
    der = ssl.PEM_cert_to_DER_cert(pem.read_text())
    digest = hashlib.sha256(der).hexdigest()
    ok(smppgw("account", "create", "smpp-tls", "--password", "pw"))
    assert "client cert  -" in ok(smppgw("account", "show", "smpp-tls"))

    out = ok(smppgw("account", "set", "smpp-tls", "--client-cert-pem", str(pem)))
    assert f"client cert  sha256 {digest}" in out
    data = json.loads(ok(smppgw("account", "show", "smpp-tls", "--json")))
    assert data["client_cert_sha256"] == digest

    # As openssl prints it: upper case with colons.
    openssl = ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()
    ok(smppgw("account", "set", "smpp-tls", "--client-cert-sha256", "none"))
    ok(smppgw("account", "set", "smpp-tls", "--client-cert-sha256", openssl))
    data = json.loads(ok(smppgw("account", "show", "smpp-tls", "--json")))
    assert data["client_cert_sha256"] == digest

    # Bad input: one line, nothing written.
    line = refused(smppgw("account", "set", "smpp-tls", "--client-cert-sha256", "abc"))
    assert "not a SHA-256 in hex" in line
    key = tmp_path / "key.pem"
    cert.private_key_pem.write_to_path(str(key))
    line = refused(smppgw("account", "set", "smpp-tls", "--client-cert-pem", str(key)), 2)
    assert "holds a private key" in line
    line = refused(
        smppgw("account", "set", "smpp-tls", "--client-cert-pem", str(tmp_path / "no.pem")), 2
    )
    assert "cannot read" in line
    assert (
        json.loads(ok(smppgw("account", "show", "smpp-tls", "--json")))["client_cert_sha256"]
        == digest
    )

    ok(smppgw("account", "set", "smpp-tls", "--client-cert-sha256", "none"))
    assert "client cert  -" in ok(smppgw("account", "show", "smpp-tls"))
