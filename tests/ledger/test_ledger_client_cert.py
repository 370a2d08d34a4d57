"""An account's pinned client certificate (migration 0013, issue 12), on both stores."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidAccountData
from ledger.models import AccountChanges
from ledger.rules.validation import validate_cert_fingerprint, validate_changes
from ledger.store import Store, open_store
from tests.ledger.conftest import raw_sql, upgraded_across
from tests.ledger.ledger_helpers import FakeClock, make_account

PIN = "ab" * 32
OPENSSL = ":".join(["AB"] * 32)  # as ``openssl x509 -fingerprint -sha256`` prints it


async def test_a_pin_is_none_until_set_then_set_and_cleared(store: Store) -> None:
    await make_account(store, "smpp-a", owner="acme")
    assert (await store.get_account("smpp-a")).client_cert_sha256 == ""
    changed = await store.update_account("smpp-a", AccountChanges(client_cert_sha256=OPENSSL))
    assert changed.client_cert_sha256 == PIN  # stored as 64 lowercase hex digits
    assert changed.owner == "acme"  # nothing else moved
    assert (await store.get_account("smpp-a")).client_cert_sha256 == PIN
    assert [a.client_cert_sha256 for a in await store.list_accounts()] == [PIN]
    cleared = await store.update_account("smpp-a", AccountChanges(client_cert_sha256=""))
    assert cleared.client_cert_sha256 == ""


@pytest.mark.parametrize("bad", ["ab" * 31, "ab" * 33, "zz" * 32, "sha1:" + "ab" * 20, "-"])
async def test_a_malformed_fingerprint_is_refused_and_nothing_written(
    store: Store, bad: str
) -> None:
    await make_account(store, "smpp-a")
    await store.update_account("smpp-a", AccountChanges(client_cert_sha256=PIN))
    with pytest.raises(InvalidAccountData, match="not a SHA-256 in hex"):
        await store.update_account("smpp-a", AccountChanges(client_cert_sha256=bad))
    assert (await store.get_account("smpp-a")).client_cert_sha256 == PIN


def test_validate_cert_fingerprint_is_the_one_rule() -> None:
    assert validate_cert_fingerprint(PIN.upper()) == PIN
    assert validate_cert_fingerprint(f"  {OPENSSL} ") == PIN
    assert validate_cert_fingerprint(f"SHA256 Fingerprint={OPENSSL}") == PIN
    assert validate_cert_fingerprint(f"sha256:{PIN}") == PIN
    assert validate_cert_fingerprint("") == ""
    with pytest.raises(InvalidAccountData):
        validate_cert_fingerprint(42)  # type: ignore[arg-type]
    assert validate_changes(AccountChanges(client_cert_sha256=OPENSSL)).client_cert_sha256 == PIN
    assert not AccountChanges(client_cert_sha256="").empty  # unpinning is a change


async def test_the_pin_decides_binds(store: Store) -> None:
    await make_account(store, "smpp-a")
    free = await store.get_account("smpp-a")
    assert free.client_cert_refusal(None) is None  # nothing pinned: anything goes
    assert free.client_cert_refusal("cd" * 32) is None
    pinned = await store.update_account("smpp-a", AccountChanges(client_cert_sha256=PIN))
    assert pinned.client_cert_refusal(PIN) is None
    assert pinned.client_cert_refusal(None) == "client_cert_missing"
    assert pinned.client_cert_refusal("cd" * 32) == "client_cert_mismatch"


async def test_the_check_constraint_refuses_what_validation_would(store_url: str) -> None:
    # Defence in depth: a row written around the ledger cannot hold a malformed pin.
    store = await open_store(store_url)
    try:
        await store.upgrade()
        await make_account(store, "smpp-a")
    finally:
        await store.close()
    with pytest.raises(Exception, match=r"(?i)check"):
        raw_sql(
            store_url,
            f"UPDATE {{s}}accounts SET client_cert_sha256 = '{PIN.upper()}'"
            " WHERE system_id = 'smpp-a'",
        )


async def test_the_upgrade_to_0013_pins_nothing_on_old_accounts(
    fresh_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = await upgraded_across(fresh_url, clock, monkeypatch, "0013_client_cert")
    try:
        account = await new.get_account("smpp-old")
        assert account.client_cert_sha256 == ""
        assert account.client_cert_refusal(None) is None
    finally:
        await new.close()
