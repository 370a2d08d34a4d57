"""The transfer planner and the amount limits, directly: no database.

Hypothesis runs random sequences of transfers (and credits) among accounts of two
owners through a tiny in-memory ledger and checks what must hold of every plan: money
is conserved (a transfer touches no house account), each pair of entries nets to zero
and names each other, no balance goes below zero nor past ``max_balance``, a refusal
writes nothing, and a replay returns the first pair with nothing to write.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import (
    AccountClosed,
    AccountNotActive,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidRequest,
    LedgerError,
    LimitExceeded,
    OwnersDiffer,
    SameAccount,
    UnknownAccount,
)
from ledger.models import AccountStatus, EntryKind
from ledger.rules.idempotency import transfer_fingerprint, transfer_in_key
from ledger.rules.limits import LIMIT_CEILING, LedgerLimits, check_threshold
from ledger.rules.planning import AccountState, CreditRequest, Loaded, PlannedEntry, StoredEntry
from ledger.rules.transfers import TransferPlan, TransferRequest
from ledger.rules.validation import validate_transfer

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LIMITS = LedgerLimits(max_credit=5_000, max_balance=10_000)


def acct(system_id: str, balance: int = 1_000, owner: str = "acme", **kw: object) -> AccountState:
    fields: dict[str, object] = {
        "status": AccountStatus.ACTIVE,
        "policy": None,
        "recharge_day": None,
        "recharges_today": 0,
        "owner": owner,
    }
    fields.update(kw)
    return AccountState(system_id=system_id, balance=balance, **fields)


def loaded(*accounts: AccountState, entries: dict[str, StoredEntry] | None = None) -> Loaded:
    return Loaded({a.system_id: a for a in accounts}, entries or {}, {})


def transfer(source: str, target: str, amount: int, key: str = "t1") -> TransferRequest:
    return TransferRequest(source, target, amount, key, "", LIMITS)


def stored(plan_entries: list[PlannedEntry]) -> dict[str, StoredEntry]:
    """The entries of a committed plan, as a later transaction's look-up finds them."""
    return {
        e.idempotency_key: StoredEntry(e.entry(i + 1, NOW), e.fingerprint)
        for i, e in enumerate(plan_entries)
    }


# -- one transfer ---------------------------------------------------------------------------


def test_a_transfer_is_one_pair_naming_each_other() -> None:
    plan = transfer("smpp-a", "smpp-b", 300).plan(
        loaded(acct("smpp-a", 1_000), acct("smpp-b", 50)), NOW
    )
    out, in_ = plan.entries
    assert (out.system_id, out.counter_account, out.kind, out.amount, out.balance_after) == (
        "smpp-a",
        "smpp-b",
        EntryKind.TRANSFER_OUT,
        -300,
        700,
    )
    assert (in_.system_id, in_.counter_account, in_.kind, in_.amount, in_.balance_after) == (
        "smpp-b",
        "smpp-a",
        EntryKind.TRANSFER_IN,
        300,
        350,
    )
    assert out.amount + in_.amount == 0
    assert plan.house_deltas() == []  # no house account takes part
    assert {k: v.balance for k, v in plan.accounts.items()} == {"smpp-a": 700, "smpp-b": 350}
    assert (out.idempotency_key, in_.idempotency_key) == ("t1", transfer_in_key("t1"))
    result = plan.resolve([11, 12], NOW)
    assert (result.out.id, result.in_.id) == (11, 12)
    assert (result.source_balance, result.target_balance) == (700, 350)


def test_the_whole_balance_may_move() -> None:
    plan = transfer("smpp-a", "smpp-b", 1_000).plan(loaded(acct("smpp-a"), acct("smpp-b", 0)), NOW)
    assert plan.accounts["smpp-a"].balance == 0


def test_both_accounts_are_locked_and_both_keys_looked_up() -> None:
    load = transfer("smpp-b", "smpp-a", 1, key="k").load()
    assert list(load.accounts) == ["smpp-a", "smpp-b"]  # sorted: the lock order
    assert set(load.keys) == {"k", transfer_in_key("k")}


@pytest.mark.parametrize(
    ("accounts", "error"),
    [
        ((acct("smpp-b"),), UnknownAccount),
        ((acct("smpp-a"),), UnknownAccount),
        ((acct("smpp-a", status=AccountStatus.DISABLED), acct("smpp-b")), AccountNotActive),
        ((acct("smpp-a"), acct("smpp-b", status=AccountStatus.DISABLED)), AccountNotActive),
        ((acct("smpp-a"), acct("smpp-b", status=AccountStatus.CLOSED)), AccountClosed),
        ((acct("smpp-a", status=AccountStatus.CLOSED), acct("smpp-b")), AccountClosed),
        ((acct("smpp-a"), acct("smpp-b", owner="other")), OwnersDiffer),
        ((acct("smpp-a", owner=""), acct("smpp-b", owner="")), OwnersDiffer),
        ((acct("smpp-a", 299), acct("smpp-b")), InsufficientCredit),
        ((acct("smpp-a"), acct("smpp-b", 9_701)), LimitExceeded),
    ],
)
def test_each_refusal_raises_its_error(
    accounts: tuple[AccountState, ...], error: type[LedgerError]
) -> None:
    with pytest.raises(error):
        transfer("smpp-a", "smpp-b", 300).plan(loaded(*accounts), NOW)


def test_the_target_may_reach_max_balance_exactly() -> None:
    plan = transfer("smpp-a", "smpp-b", 300).plan(
        loaded(acct("smpp-a"), acct("smpp-b", 9_700)), NOW
    )
    assert plan.accounts["smpp-b"].balance == LIMITS.max_balance


def test_a_replay_returns_the_first_pair_and_writes_nothing() -> None:
    first = transfer("smpp-a", "smpp-b", 300).plan(loaded(acct("smpp-a"), acct("smpp-b")), NOW)
    entries = stored(first.entries)
    # Later: the source is empty and disabled; the replay still answers the first result.
    again = transfer("smpp-a", "smpp-b", 300).plan(
        loaded(acct("smpp-a", 0, status=AccountStatus.DISABLED), acct("smpp-b"), entries=entries),
        NOW,
    )
    assert not again.writes
    result = again.resolve([], NOW)
    assert (result.out.id, result.in_.id) == (1, 2)
    assert (result.source_balance, result.target_balance) == (700, 1_300)


@pytest.mark.parametrize(
    "other",
    [
        transfer("smpp-a", "smpp-b", 301),
        transfer("smpp-a", "smpp-c", 300),
        transfer("smpp-c", "smpp-b", 300),
    ],
)
def test_the_key_with_another_body_conflicts(other: TransferRequest) -> None:
    first = transfer("smpp-a", "smpp-b", 300).plan(loaded(acct("smpp-a"), acct("smpp-b")), NOW)
    accounts = (acct("smpp-a"), acct("smpp-b"), acct("smpp-c"))
    with pytest.raises(IdempotencyConflict):
        other.plan(loaded(*accounts, entries=stored(first.entries)), NOW)


def test_a_key_used_by_a_credit_conflicts() -> None:
    credit = CreditRequest("smpp-a", 100, EntryKind.CREDIT, "t1", limits=LIMITS)
    entries = stored(credit.plan(loaded(acct("smpp-a")), NOW).entries)
    with pytest.raises(IdempotencyConflict):
        transfer("smpp-a", "smpp-b", 100).plan(
            loaded(acct("smpp-a"), acct("smpp-b"), entries=entries), NOW
        )


def test_the_derived_key_alone_conflicts() -> None:
    # Someone credited with the key a transfer derives for its target: not a replay.
    credit = CreditRequest("smpp-b", 100, EntryKind.CREDIT, transfer_in_key("t1"), limits=LIMITS)
    entries = stored(credit.plan(loaded(acct("smpp-b")), NOW).entries)
    with pytest.raises(IdempotencyConflict):
        transfer("smpp-a", "smpp-b", 100).plan(
            loaded(acct("smpp-a"), acct("smpp-b"), entries=entries), NOW
        )


def test_both_entries_share_the_transfer_fingerprint() -> None:
    plan = transfer("smpp-a", "smpp-b", 5).plan(loaded(acct("smpp-a"), acct("smpp-b")), NOW)
    assert {e.fingerprint for e in plan.entries} == {transfer_fingerprint("smpp-a", "smpp-b", 5)}


@pytest.mark.parametrize(
    ("source", "target", "amount", "key", "error"),
    [
        ("smpp-a", "smpp-b", 0, "k", InvalidRequest),
        ("smpp-a", "smpp-b", -5, "k", InvalidRequest),
        ("smpp-a", "smpp-b", 1.5, "k", InvalidRequest),
        ("smpp-a", "smpp-b", True, "k", InvalidRequest),
        ("smpp-a", "smpp-a", 5, "k", SameAccount),
        ("smpp-a", "smpp-b", 5, "", InvalidRequest),
    ],
)
def test_arguments_no_store_accepts(
    source: str, target: str, amount: object, key: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        validate_transfer(source, target, amount, key)  # type: ignore[arg-type]


# -- limits ---------------------------------------------------------------------------------


def test_a_credit_beyond_max_credit_is_refused() -> None:
    with pytest.raises(LimitExceeded) as caught:
        CreditRequest("smpp-a", 5_001, EntryKind.CREDIT, "c", limits=LIMITS).plan(
            loaded(acct("smpp-a", 0)), NOW
        )
    assert (caught.value.limit, caught.value.maximum, caught.value.amount) == (
        "max_credit",
        5_000,
        5_001,
    )


def test_a_credit_beyond_max_balance_is_refused_and_up_to_it_accepted() -> None:
    request = CreditRequest("smpp-a", 5_000, EntryKind.CREDIT, "c", limits=LIMITS)
    assert request.plan(loaded(acct("smpp-a", 5_000)), NOW).accounts["smpp-a"].balance == 10_000
    with pytest.raises(LimitExceeded) as caught:
        request.plan(loaded(acct("smpp-a", 5_001)), NOW)
    assert caught.value.limit == "max_balance"


@pytest.mark.parametrize("huge", [10**21 * 1000, 2**63, 2**64 + 1, 10**100])
def test_amounts_beyond_int64_are_a_limit_refusal(huge: int) -> None:
    with pytest.raises(LimitExceeded):
        CreditRequest("smpp-a", huge, EntryKind.CREDIT, "c").plan(loaded(acct("smpp-a", 0)), NOW)
    with pytest.raises(InsufficientCredit):
        transfer("smpp-a", "smpp-b", huge).plan(loaded(acct("smpp-a"), acct("smpp-b")), NOW)


def test_a_closed_account_takes_no_credit() -> None:
    with pytest.raises(AccountClosed):
        CreditRequest("smpp-a", 1, EntryKind.CREDIT, "c").plan(
            loaded(acct("smpp-a", status=AccountStatus.CLOSED)), NOW
        )


def test_a_replayed_credit_is_answered_even_past_the_limit_now() -> None:
    first = CreditRequest("smpp-a", 5_000, EntryKind.CREDIT, "c", limits=LIMITS)
    entries = stored(first.plan(loaded(acct("smpp-a", 0)), NOW).entries)
    again = first.plan(loaded(acct("smpp-a", 9_999), entries=entries), NOW)
    assert not again.writes


@pytest.mark.parametrize("bad", [0, -1, LIMIT_CEILING + 1, 1.5, True])
def test_limits_themselves_are_checked(bad: object) -> None:
    with pytest.raises(InvalidRequest):
        LedgerLimits(max_credit=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        LedgerLimits(max_balance=bad)  # type: ignore[arg-type]


def test_a_recharge_threshold_stays_within_max_balance() -> None:
    assert check_threshold(10_000, LIMITS) == 10_000
    with pytest.raises(LimitExceeded):
        check_threshold(10_001, LIMITS)


# -- properties -----------------------------------------------------------------------------

OWNERS = {"smpp-a": "acme", "smpp-b": "acme", "smpp-c": "acme", "smpp-x": "other"}

operations = st.lists(
    st.tuples(
        st.sampled_from(sorted(OWNERS)),
        st.sampled_from(sorted(OWNERS)),
        st.integers(-5, 6_000),
        st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6"]),
    ),
    max_size=40,
)


def _plan_or_refusal(
    source: str, target: str, amount: int, key: str, state: Loaded
) -> TransferPlan | LedgerError:
    """The plan of the transfer on a copy of ``state``, or the error refusing it."""
    try:
        validate_transfer(source, target, amount, key)
        copies = {k: replace(v) for k, v in state.accounts.items()}
        return transfer(source, target, amount, key).plan(Loaded(copies, state.entries, {}), NOW)
    except LedgerError as refused:
        return refused


@settings(max_examples=300, deadline=None)
@given(
    balances=st.fixed_dictionaries({sid: st.integers(0, 10_000) for sid in OWNERS}),
    ops=operations,
)
def test_transfers_conserve_money_and_keep_every_rule(
    balances: dict[str, int], ops: list[tuple[str, str, int, str]]
) -> None:
    accounts = {sid: acct(sid, b, OWNERS[sid]) for sid, b in balances.items()}
    entries: dict[str, StoredEntry] = {}
    first_body: dict[str, tuple[str, str, int]] = {}
    next_id = 1
    total = sum(balances.values())
    for source, target, amount, key in ops:
        plan = _plan_or_refusal(
            source, target, amount, key, Loaded(dict(accounts), dict(entries), {})
        )
        if isinstance(plan, LedgerError):
            if key in first_body and first_body[key] != (source, target, amount):
                assert isinstance(plan, IdempotencyConflict | SameAccount | InvalidRequest)
            continue
        if key in first_body:
            assert first_body[key] == (source, target, amount)
            assert not plan.writes  # a replay writes nothing
            continue
        first_body[key] = (source, target, amount)
        out, in_ = plan.entries
        assert out.amount == -in_.amount == -amount
        assert (out.counter_account, in_.counter_account) == (target, source)
        assert OWNERS[source] == OWNERS[target]
        assert plan.house_deltas() == []
        for e in plan.entries:
            entries[e.idempotency_key] = StoredEntry(e.entry(next_id, NOW), e.fingerprint)
            next_id += 1
        accounts.update({k: replace(v) for k, v in plan.accounts.items()})
        assert accounts[source].balance == out.balance_after >= 0
        assert accounts[target].balance == in_.balance_after <= LIMITS.max_balance
        assert sum(a.balance for a in accounts.values()) == total
    # Every balance is its start plus its entries.
    for sid, a in accounts.items():
        moved = sum(s.entry.amount for s in entries.values() if s.entry.system_id == sid)
        assert a.balance == balances[sid] + moved


def test_the_recharge_note_says_credits() -> None:
    from ledger.models import RechargePolicy
    from ledger.rules.recharge import recharge_note

    policy = RechargePolicy(threshold=5_000, amount=100_000, daily_cap=2)
    assert recharge_note(policy, 5_000, 1_000, 1, False) == (
        "auto-recharge: debit of 1 left 5, at or below threshold 5 (1 of 2 today)"
    )
    assert recharge_note(policy, 50, 1_500, 2, True) == (
        "auto-recharge: balance 0.05 below cost 1.5 (2 of 2 today)"
    )
