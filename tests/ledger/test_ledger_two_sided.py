"""Contract: every movement has two sides, and the audit proves the books, on every store.

Each journal entry names its counter-account: a house account for movements with the
outside (sales, top-ups, recharges, refunds), the other customer for a transfer (one
pair of entries naming each other; transfers come with a later release, so the pairs
here are written as rows). ``audit()`` proves that each balance equals its entries,
house accounts included, that all balances sum to zero and that each customer pair nets
to zero; the corruption tests break ONE side and see it reported, then mend it (the
``store`` fixture audits again at the end).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ledger.migrate
from ledger.models import AuditCheck, EntryKind, HouseAccount, RechargePolicy
from ledger.rules.planning import COUNTER_OF_KIND
from ledger.store import Store, open_store
from tests.ledger.conftest import raw_sql
from tests.ledger.ledger_helpers import (
    FakeClock,
    full_journal,
    make_account,
    migrations_from,
    request,
)

SALES, TOPUPS = HouseAccount.SALES.value, HouseAccount.TOPUPS.value
RECHARGES, REFUNDS = HouseAccount.RECHARGES.value, HouseAccount.REFUNDS.value


async def _moved(store: Store) -> dict[str, int]:
    """The house accounts that moved (a row may exist at zero: 0004 creates them all)."""
    return {name: b for name, b in (await store.house_balances()).items() if b}


async def _books_total(store: Store) -> int:
    customers = sum(a.balance for a in await store.list_accounts())
    return customers + sum((await store.house_balances()).values())


def _checks(problems: list[object]) -> list[tuple[AuditCheck, str, str | None]]:
    return [(p.check, p.system_id, p.counter_account) for p in problems]  # type: ignore[attr-defined]


async def test_house_accounts_take_the_other_side(store: Store) -> None:
    await make_account(store, balance=10_000)  # a top-up: house:topups gave it
    await make_account(store, "smpp-other")
    await store.credit("smpp-other", 500, idempotency_key="in-1", kind=EntryKind.TRANSFER_IN)
    await store.set_recharge(
        "smpp-acme", RechargePolicy(threshold=9_500, amount=100_000, daily_cap=1)
    )
    results = await store.debit_batch([request(f"k{i}", cost=300) for i in range(3)])
    assert [len(r.recharges) for r in results] == [0, 1, 0]  # 9,400 crossed 9,500
    await store.refund("m-k0", reason="upstream 0x45")

    assert await _moved(store) == {
        REFUNDS: -300,
        RECHARGES: -100_000,
        SALES: 900,
        TOPUPS: -10_500,
    }
    assert await _books_total(store) == 0
    for system_id in ("smpp-acme", "smpp-other"):
        for entry in await full_journal(store, system_id):
            assert entry.counter_account == COUNTER_OF_KIND[entry.kind]
    # A replay moves nothing, on either side.
    await store.debit_batch([request("k1", cost=300)])
    await store.credit("smpp-acme", 10_000, idempotency_key="seed:smpp-acme")
    assert (await store.house_balances())[SALES] == 900
    assert await store.audit() == []


async def test_a_batch_moves_each_house_account_once(store: Store) -> None:
    for n in range(3):
        await make_account(store, f"smpp-a{n}", balance=1_000)
    await store.debit_batch([request(f"k{i}", f"smpp-a{i % 3}", cost=10 + i) for i in range(30)])
    assert (await store.house_balances())[SALES] == sum(10 + i for i in range(30))
    assert await _books_total(store) == 0


# One row of house:sales (a house account may have a row per shard).
_ONE_SALES_ROW = (
    "UPDATE {{s}}house_accounts SET balance = balance {change} WHERE name = 'house:sales'"
    " AND shard = (SELECT MIN(shard) FROM {{s}}house_accounts WHERE name = 'house:sales')"
)


async def test_audit_finds_a_corrupted_house_balance(store: Store, store_url: str) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k1")])
    raw_sql(
        store_url, "UPDATE {s}house_accounts SET balance = balance + 7 WHERE name = 'house:sales'"
    )
    problems = await store.audit()
    assert _checks(problems) == [
        (AuditCheck.HOUSE_BALANCE, SALES, None),
        (AuditCheck.ZERO_SUM, "", None),
    ]
    assert (problems[0].balance, problems[0].journal_sum) == (107, 100)
    assert (problems[1].balance, problems[1].journal_sum) == (7, 0)
    raw_sql(
        store_url, "UPDATE {s}house_accounts SET balance = balance - 7 WHERE name = 'house:sales'"
    )
    assert await store.audit() == []


async def test_audit_finds_a_corrupted_customer_balance(store: Store, store_url: str) -> None:
    await make_account(store, balance=1_000)
    raw_sql(store_url, "UPDATE {s}accounts SET balance = 990 WHERE system_id = 'smpp-acme'")
    problems = await store.audit()
    assert _checks(problems) == [
        (AuditCheck.BALANCE, "smpp-acme", None),
        (AuditCheck.ZERO_SUM, "", None),
    ]
    assert problems[0].detail == "balance 990 != journal sum 1000"
    raw_sql(store_url, "UPDATE {s}accounts SET balance = 1000 WHERE system_id = 'smpp-acme'")
    assert await store.audit() == []


def _transfer_pair(url: str, when: str, amount: int) -> None:
    """smpp-a pays smpp-b ``amount``: one entry on each side naming the other."""
    entry = (
        "INSERT INTO {{s}}journal (system_id, counter_account, kind, amount, balance_after,"
        " idempotency_key, body_hash, message_id, created_at, note) VALUES"
        " ('{sid}', '{other}', '{kind}', {amount}, {after}, '{key}', 'fp', NULL, '{when}', '')"
    )
    raw_sql(
        url,
        entry.format(
            sid="smpp-a",
            other="smpp-b",
            kind="transfer_out",
            amount=-amount,
            after=1_000 - amount,
            key="t1:out",
            when=when,
        ),
        entry.format(
            sid="smpp-b",
            other="smpp-a",
            kind="transfer_in",
            amount=amount,
            after=1_000 + amount,
            key="t1:in",
            when=when,
        ),
        f"UPDATE {{s}}accounts SET balance = balance - {amount} WHERE system_id = 'smpp-a'",
        f"UPDATE {{s}}accounts SET balance = balance + {amount} WHERE system_id = 'smpp-b'",
    )


async def test_audit_proves_customer_pairs_net_to_zero(
    store: Store, store_url: str, clock: FakeClock
) -> None:
    await make_account(store, "smpp-a", balance=1_000)
    await make_account(store, "smpp-b", balance=1_000)
    _transfer_pair(store_url, clock.now.isoformat(), 250)
    assert await store.audit() == []  # a pair moves no house account
    assert (await store.get_account("smpp-b")).balance == 1_250
    [leg] = [e for e in await full_journal(store, "smpp-b") if e.kind is EntryKind.TRANSFER_IN]
    assert (leg.counter_account, leg.amount) == ("smpp-a", 250)

    # Corrupt ONE side: smpp-b's leg says 240, and its balance agrees with it.
    raw_sql(
        store_url,
        "UPDATE {s}journal SET amount = 240, balance_after = 1240 WHERE idempotency_key = 't1:in'",
        "UPDATE {s}accounts SET balance = 1240 WHERE system_id = 'smpp-b'",
    )
    problems = await store.audit()
    assert _checks(problems) == [
        (AuditCheck.ZERO_SUM, "", None),
        (AuditCheck.PAIR, "smpp-a", "smpp-b"),
    ]
    pair = problems[1]
    assert (pair.balance, pair.journal_sum) == (-250, -240)  # -250 should be -(240)
    # The same leg wrong while the balance is right: the balance check sees it too.
    raw_sql(store_url, "UPDATE {s}accounts SET balance = 1250 WHERE system_id = 'smpp-b'")
    assert _checks(await store.audit()) == [
        (AuditCheck.BALANCE, "smpp-b", None),
        (AuditCheck.PAIR, "smpp-a", "smpp-b"),
    ]
    raw_sql(
        store_url,
        "UPDATE {s}journal SET amount = 250, balance_after = 1250 WHERE idempotency_key = 't1:in'",
    )
    assert await store.audit() == []


async def test_audit_finds_entries_naming_no_account(
    store: Store, store_url: str, clock: FakeClock
) -> None:
    await make_account(store, balance=1_000)
    raw_sql(
        store_url,
        "INSERT INTO {s}journal (system_id, counter_account, kind, amount, balance_after,"
        " idempotency_key, body_hash, message_id, created_at, note) VALUES ('smpp-acme',"
        f" 'house:nowhere', 'credit', 5, 1005, 'stray', 'fp', NULL, '{clock.now.isoformat()}', '')",
        "UPDATE {s}accounts SET balance = 1005 WHERE system_id = 'smpp-acme'",
    )
    problems = await store.audit()
    assert _checks(problems) == [
        (AuditCheck.ZERO_SUM, "", None),
        (AuditCheck.COUNTER, "smpp-acme", "house:nowhere"),
    ]
    assert problems[1].balance == 5
    raw_sql(
        store_url,
        "DELETE FROM {s}journal WHERE idempotency_key = 'stray'",
        "UPDATE {s}accounts SET balance = 1000 WHERE system_id = 'smpp-acme'",
    )
    assert await store.audit() == []


# -- migration 0004 on a database with data --------------------------------------------------


@pytest.fixture
def first_three_migrations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make upgrade() stop at 0003, as a database of the previous release is."""
    real = ledger.migrate.load_migrations
    monkeypatch.setattr(ledger.migrate, "load_migrations", lambda dialect: real(dialect)[:3])
    yield
    monkeypatch.setattr(ledger.migrate, "load_migrations", real)


def _old_books(url: str, when: str) -> None:
    """Rows as release 0003 wrote them: one-sided entries of every kind it wrote."""
    entries = [
        ("credit", 10_000, 10_000, "seed", None),
        ("transfer_in", 500, 10_500, "in-1", None),
        ("debit", -100, 10_400, "submit:m-old", "m-old"),
        ("recharge", 100_000, 110_400, "recharge:submit:m-old", None),
        ("debit", -300, 110_100, "submit:m-two", "m-two"),
        ("refund", 300, 110_400, "refund:m-two", "m-two"),
    ]
    statements = [
        "INSERT INTO {s}accounts (system_id, password_hash, balance, created_at)"
        f" VALUES ('smpp-acme', 'x', 110400, '{when}')",
    ]
    for mid, cost, state in (("m-old", 100, "forwarded"), ("m-two", 300, "rejected")):
        statements.append(
            "INSERT INTO {s}messages (message_id, system_id, idempotency_key, source_addr,"
            " destination_addr, segments, cost, registered_delivery, pdu_body, state,"
            f" created_at, updated_at) VALUES ('{mid}', 'smpp-acme', 'submit:{mid}', 'Shop',"
            f" '447700900123', 1, {cost}, 1, {{body}}, '{state}', '{when}', '{when}')"
        )
    for kind, amount, after, key, mid in entries:
        message = "NULL" if mid is None else f"'{mid}'"
        statements.append(
            "INSERT INTO {s}journal (system_id, kind, amount, balance_after, idempotency_key,"
            " body_hash, message_id, created_at, note) VALUES ('smpp-acme',"
            f" '{kind}', {amount}, {after}, '{key}', 'old', {message}, '{when}', '')"
        )
    body = "X'6f6c64'" if url.startswith("sqlite:") else "'\\x6f6c64'::bytea"
    raw_sql(url, *(s.replace("{body}", body) for s in statements))


async def test_upgrade_from_0003_names_every_counter_and_audits_clean(
    fresh_url: str, clock: FakeClock, first_three_migrations: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = await open_store(fresh_url, clock=clock)
    try:
        assert await old.upgrade() == ["0001_initial", "0002_multi_gateway", "0003_outbox_owner"]
    finally:
        await old.close()
    _old_books(fresh_url, clock.now.isoformat())

    monkeypatch.undo()  # the new release: every migration
    new = await open_store(fresh_url, clock=clock)
    try:
        assert await new.upgrade() == migrations_from("0004_two_sided_journal")
        journal = await full_journal(new, "smpp-acme")
        assert len(journal) == 6
        # The migration's table is the code's table.
        assert [(e.kind, e.counter_account) for e in journal] == [
            (e.kind, COUNTER_OF_KIND[e.kind].value) for e in journal
        ]
        assert await new.house_balances() == {
            "house:packages": 0,
            REFUNDS: -300,
            RECHARGES: -100_000,
            SALES: 400,
            TOPUPS: -10_500,
            "house:write-offs": 0,
            # Migration 0006's house accounts of credit packages.
            "house:package-refunds": 0,
            "house:package-sales": 0,
            "house:package-write-offs": 0,
        }
        assert await new.audit() == []
        # The upgraded books go on: new movements take both sides.
        await new.debit_batch([request("k1", cost=400)])
        await new.credit("smpp-acme", 1_000, idempotency_key="more")
        houses = await new.house_balances()
        assert (houses[SALES], houses[TOPUPS]) == (800, -11_500)
        assert await _books_total(new) == 0
        assert await new.audit() == []
    finally:
        await new.close()
