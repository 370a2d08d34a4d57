"""The account's default country (migration 0009, issue 9), on both stores."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidAccountData
from ledger.models import AccountChanges
from ledger.rules.validation import validate_changes, validate_country
from ledger.store import Store, open_store
from tests.ledger.conftest import raw_sql, upgraded_across
from tests.ledger.ledger_helpers import FakeClock, make_account


async def test_default_country_is_none_until_set_then_set_and_cleared(store: Store) -> None:
    await make_account(store, "smpp-a", owner="acme")
    assert (await store.get_account("smpp-a")).default_country == ""
    changed = await store.update_account("smpp-a", AccountChanges(default_country="fr"))
    assert changed.default_country == "FR"  # stored upper-case
    assert changed.owner == "acme"  # nothing else moved
    assert (await store.get_account("smpp-a")).default_country == "FR"
    cleared = await store.update_account("smpp-a", AccountChanges(default_country=""))
    assert cleared.default_country == ""


@pytest.mark.parametrize("bad", ["XX", "FRA", "F", "33", "fr-FR", "ZZ"])
async def test_an_unknown_region_is_refused_and_nothing_written(store: Store, bad: str) -> None:
    await make_account(store, "smpp-a")
    await store.update_account("smpp-a", AccountChanges(default_country="GB"))
    with pytest.raises(InvalidAccountData, match="ISO 3166-1 alpha-2"):
        await store.update_account("smpp-a", AccountChanges(default_country=bad))
    assert (await store.get_account("smpp-a")).default_country == "GB"


def test_validate_country_is_the_one_rule() -> None:
    assert validate_country("gb") == "GB"
    assert validate_country(" FR ") == "FR"
    assert validate_country("") == ""
    with pytest.raises(InvalidAccountData):
        validate_country("UK")  # the ISO code of the United Kingdom is GB
    with pytest.raises(InvalidAccountData):
        validate_country(33)  # type: ignore[arg-type]
    assert validate_changes(AccountChanges(default_country="de")).default_country == "DE"
    assert not AccountChanges(default_country="").empty  # clearing is a change


async def test_the_check_constraint_refuses_what_validation_would(store_url: str) -> None:
    # Defence in depth: a row written around the ledger cannot hold a malformed code.
    store = await open_store(store_url)
    try:
        await store.upgrade()
        await make_account(store, "smpp-a")
    finally:
        await store.close()
    with pytest.raises(Exception, match=r"(?i)check"):
        raw_sql(
            store_url, "UPDATE {s}accounts SET default_country = 'fr' WHERE system_id = 'smpp-a'"
        )


async def test_the_upgrade_from_0008_gives_old_accounts_no_default_country(
    fresh_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = await upgraded_across(fresh_url, clock, monkeypatch, "0009_default_country")
    try:
        assert (await new.get_account("smpp-old")).default_country == ""
        changed = await new.update_account("smpp-old", AccountChanges(default_country="FR"))
        assert changed.default_country == "FR"
    finally:
        await new.close()
