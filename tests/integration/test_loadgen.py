"""``gateway.loadgen`` against a live gateway (real sockets, SQLite ledger, the built-in
simulator upstream): every accepted message is charged once and the ledger check says
so; receipts come back to trx and rx binds; refusals are counted by status."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.loadgen import BindType, LoadOptions, run_load
from gateway.loadgen.ledger_check import check, mark
from gateway.loadgen.messages import Kind
from ledger import Store
from ledger.models import EntryKind
from tests.integration.harness import PASSWORD, make_account

ALL_KINDS = {Kind.GSM7: 4, Kind.UCS2: 2, Kind.LONG: 2, Kind.LONG_UCS2: 1}
#: Milli-credits per segment in the shipped tariff (config/tariff.csv).
PRICES = {"FR": 1000, "GB": 500, "IN": 100}


def load(gw: Gateway, system_id: str, **changes: object) -> LoadOptions:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": gw.endpoints.port if gw.endpoints else 0,
        "system_id": system_id,
        "password": PASSWORD,
        "seed": 42,
        "keep_ids": True,
    }
    return LoadOptions(**(base | changes))  # type: ignore[arg-type]


async def test_ledger_check_agrees_with_a_mixed_run(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-load", credits="10000")
    before = await mark(store, "smpp-load")
    options = load(
        gw,
        "smpp-load",
        binds=3,
        window=10,
        count=400,
        mix=ALL_KINDS,
        to={"FR": 2, "GB": 1, "IN": 1},
    )
    result = await run_load(options)
    s = result.stats
    assert result.complete and s.binds_ok == 3
    assert s.sent == s.answered == s.accepted >= 400
    assert s.statuses() == {"ESME_ROK": s.sent}
    assert len(set(result.accepted_ids)) == s.accepted
    ledger = await check(store, before, result.accepted_ids)
    assert ledger.ok, ledger.describe()
    assert ledger.debited == ledger.accepted == s.accepted
    assert ledger.change == -ledger.cost
    assert ledger.records_checked == 200 and ledger.records_wrong == 0
    # Each part is one segment at its country's price: the cost is a sum of those prices.
    costs = {-e.amount for e in await store.journal("smpp-load", limit=1000)
             if e.kind is EntryKind.DEBIT}  # fmt: skip
    assert costs == set(PRICES.values())
    assert "OK: smpp-load balance 10000 ->" in ledger.describe()


async def test_ledger_check_catches_a_foreign_debit(gw: Gateway, store: Store) -> None:
    """A message charged that the run did not see accepted is a mismatch."""
    await make_account(store, "smpp-load", credits="100")
    before = await mark(store, "smpp-load")
    result = await run_load(load(gw, "smpp-load", count=10))
    ledger = await check(store, before, result.accepted_ids[1:])  # "forget" one ack
    assert not ledger.ok
    assert ledger.foreign_debits == 1 and ledger.accepted == 9
    assert ledger.describe().startswith("MISMATCH")


async def test_no_credit_is_counted_and_nothing_more_is_charged(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-poor", credits="5")
    before = await mark(store, "smpp-poor")
    result = await run_load(load(gw, "smpp-poor", count=20, window=1))
    assert result.stats.statuses() == {"ESME_RNOCREDIT": 15, "ESME_ROK": 5}
    ledger = await check(store, before, result.accepted_ids)
    assert ledger.ok and ledger.cost == 5000 and ledger.balance_after == 0


async def test_receipts_round_trip_on_trx_binds(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-dlr", credits="1000")
    result = await run_load(
        load(gw, "smpp-dlr", binds=2, window=10, count=200, receipts=True, mix=ALL_KINDS)
    )
    s = result.stats
    assert result.complete and s.accepted == s.sent
    assert s.receipts == s.receipts_matched == s.accepted
    assert result.receipts_missing == 0
    assert dict(s.receipts_by_stat) == {"DELIVRD": s.accepted}


async def test_receipts_come_to_a_receiver_when_submitting_on_tx(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-rx", credits="1000")
    result = await run_load(
        load(gw, "smpp-rx", bind_type=BindType.TX, rx_binds=1, count=100, receipts=True)
    )
    s = result.stats
    assert s.binds_ok == 2 and s.accepted == 100
    assert s.receipts_matched == 100 and result.receipts_missing == 0


async def test_a_refused_bind_is_counted_not_raised(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-load", credits="1")
    result = await run_load(load(gw, "smpp-load", binds=2, password="wrong123"))
    assert result.stats.bind_failures == 2 and result.stats.binds_ok == 0
    assert not result.complete and result.stats.sent == 0
    assert result.stats.bind_errors[0].startswith("BindTransceiver: bind refused with ESME_R")
