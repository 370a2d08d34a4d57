"""A message is found by the upstream's id in every spelling an SMSC uses, on both stores.

SMSCs answer submit_sm with one spelling of an id and receipt it in another: hex in the
response and decimal in the receipt (or the reverse), zero-padded or not, upper or lower
case. The rule is ``ledger.rules.receipts.upstream_keys``; migration 0011 computes the
stored key in SQL for ids recorded before it, and must agree with the Python rule. Ids are
matched per upstream (its name, migration 0012): two SMSCs may give the same id.
"""

from __future__ import annotations

import pytest

from ledger.errors import InvalidRequest
from ledger.models import DEFAULT_UPSTREAM
from ledger.rules.receipts import upstream_key, upstream_keys
from ledger.store import Store
from tests.ledger.conftest import raw_sql
from tests.ledger.ledger_helpers import make_account, request


@pytest.mark.parametrize(
    ("given", "key"),
    [("0000001A", "1a"), ("1a", "1a"), ("000", "0"), ("", ""), ("Msg-01", "msg-01"), ("26", "26")],
)
def test_upstream_key(given: str, key: str) -> None:
    assert upstream_key(given) == key


@pytest.mark.parametrize(
    ("receipt_id", "keys"),
    [
        ("26", ("26", "1a", "38")),  # as given, its value in hex, then read as hex
        ("0000001A", ("1a", "26")),  # hex as given, then its decimal
        ("ff", ("ff", "255")),
        ("10", ("10", "a", "16")),  # as given wins: an id that is both is never misread
        ("msg-1", ("msg-1",)),
        ("0", ("0",)),
    ],
)
def test_upstream_keys(receipt_id: str, keys: tuple[str, ...]) -> None:
    assert upstream_keys(receipt_id) == keys


@pytest.mark.parametrize(
    ("response_id", "receipt_id"),
    [
        ("0000001A", "26"),  # padded upper hex, then decimal
        ("0000001a", "0000001A"),  # case
        ("1A", "000026"),  # padded decimal
        ("26", "1a"),  # decimal, then hex
        ("up-7", "UP-7"),
    ],
)
async def test_a_message_is_found_by_any_spelling_of_its_id(
    store: Store, response_id: str, receipt_id: str
) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k1")])
    await store.mark_forwarded([("m-k1", response_id)])
    found = await store.message_by_upstream_id(receipt_id)
    assert found is not None
    assert (found.message_id, found.upstream_id) == ("m-k1", response_id)  # kept as given
    assert await store.message_by_upstream_id("9999") is None


async def test_the_id_as_given_wins_over_a_conversion(store: Store) -> None:
    # "10" is message A's id in decimal; message B's hex id 0A is 10 too.
    await make_account(store, balance=1_000)
    await store.debit_batch([request("a"), request("b")])
    await store.mark_forwarded([("m-a", "10"), ("m-b", "0A")])
    assert (await store.message_by_upstream_id("10")).message_id == "m-a"  # type: ignore[union-attr]
    assert (await store.message_by_upstream_id("0a")).message_id == "m-b"  # type: ignore[union-attr]


async def test_the_migration_computes_the_same_key(store: Store, store_url: str) -> None:
    ids = ["0000001A", "000", "Abc-01", "42"]
    await make_account(store, balance=10_000)
    await store.debit_batch([request(f"k{i}") for i in range(len(ids))])
    await store.mark_forwarded([(f"m-k{i}", up) for i, up in enumerate(ids)])
    # As a release before 0011 left them: no key. Then the migration's own UPDATE.
    migration = _migration_update(store_url)
    raw_sql(store_url, "UPDATE {s}messages SET upstream_key = NULL", migration)
    for i, up in enumerate(ids):
        found = await store.message_by_upstream_id(upstream_key(up))
        assert found is not None and found.message_id == f"m-k{i}", up


def _migration_update(store_url: str) -> str:
    from pathlib import Path

    import ledger

    dialect = "sqlite" if store_url.startswith("sqlite:") else "postgresql"
    path = Path(ledger.__file__).parent / "migrations" / dialect / "0011_upstream_key.sql"
    sql = path.read_text()
    start = sql.index("UPDATE messages")
    update = sql[start : sql.index(";", start)]
    return update.replace("UPDATE messages", "UPDATE {s}messages", 1)


async def test_ids_are_matched_per_upstream(store: Store) -> None:
    # Two SMSCs both answer "1": each receipt finds the message its own upstream took.
    await make_account(store, balance=1_000)
    await store.debit_batch([request("a"), request("b")])
    await store.mark_forwarded([("m-a", "1")], upstream="smsc-a")
    await store.mark_forwarded([("m-b", "00000001")], upstream="smsc-b")
    a = await store.message_by_upstream_id("1", upstream="smsc-a")
    b = await store.message_by_upstream_id("1", upstream="smsc-b")
    assert a is not None and (a.message_id, a.upstream) == ("m-a", "smsc-a")
    assert b is not None and (b.message_id, b.upstream) == ("m-b", "smsc-b")
    assert await store.message_by_upstream_id("1", upstream="smsc-c") is None
    newest = await store.message_by_upstream_id("1")  # any upstream: the newest
    assert newest is not None and newest.message_id == "m-b"


async def test_the_one_upstream_of_old_is_named_default(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("a")])
    await store.mark_forwarded([("m-a", "7")])
    found = await store.message_by_upstream_id("7", upstream=DEFAULT_UPSTREAM)
    assert found is not None and found.upstream == DEFAULT_UPSTREAM
    with pytest.raises(InvalidRequest):
        await store.mark_forwarded([("m-a", "8")], upstream="")
    assert (await store.get_message("m-a")).upstream_id == "7"  # nothing written


async def test_0012_names_what_was_forwarded_before_it(store: Store, store_url: str) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("a"), request("b")])
    await store.mark_forwarded([("m-a", "7")], upstream="x")
    raw_sql(store_url, "UPDATE {s}messages SET upstream = NULL", _migration_0012_update(store_url))
    assert (await store.get_message("m-a")).upstream == DEFAULT_UPSTREAM
    assert (await store.get_message("m-b")).upstream is None  # never forwarded


def _migration_0012_update(store_url: str) -> str:
    from pathlib import Path

    import ledger

    dialect = "sqlite" if store_url.startswith("sqlite:") else "postgresql"
    path = Path(ledger.__file__).parent / "migrations" / dialect / "0012_upstreams_and_mo.sql"
    sql = path.read_text()
    start = sql.index("UPDATE messages")
    update = sql[start : sql.index(";", start)]
    return update.replace("UPDATE messages", "UPDATE {s}messages", 1)


@pytest.mark.parametrize(
    ("receipt_id", "form", "keys"),
    [
        ("16", "decimal", ("10",)),  # hex in the response, decimal in the receipt
        ("0000000A", "decimal", ("a",)),  # not decimal: taken as given
        ("1A", "hex", ("26",)),  # decimal in the response, hex in the receipt
        ("up-7", "hex", ("up-7",)),
        ("0016", "same", ("16",)),
        ("16", "auto", ("16", "10", "22")),
    ],
)
def test_upstream_keys_of_a_known_habit(receipt_id: str, form: str, keys: tuple[str, ...]) -> None:
    assert upstream_keys(receipt_id, form) == keys


def test_an_unknown_habit_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        upstream_keys("1", "octal")


async def test_a_known_habit_resolves_what_auto_cannot(store: Store) -> None:
    # A hex counter: message A got 0x10, message B 0x16. A's receipt says "16".
    await make_account(store, balance=1_000)
    await store.debit_batch([request("a"), request("b")])
    await store.mark_forwarded([("m-a", "00000010"), ("m-b", "00000016")], upstream="hexdec")
    known = await store.message_by_upstream_id("16", upstream="hexdec", form="decimal")
    assert known is not None and known.message_id == "m-a"
    guessed = await store.message_by_upstream_id("16", upstream="hexdec")
    assert guessed is not None and guessed.message_id == "m-b"  # the id as given wins
