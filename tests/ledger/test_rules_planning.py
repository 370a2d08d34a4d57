"""The planners of ``ledger.rules.planning``, directly: no database, plans in, plans out.

Hypothesis drives ``plan_debits`` with random batches over a few accounts (balances,
recharge policies and caps, throughput buckets, disabled and unknown accounts, repeated
keys, changed bodies, reused message ids) and checks what must hold of every plan:
money is conserved house accounts included, no balance goes below zero, balances follow
their entries, a recharge fires exactly when a debit crosses the threshold (or cannot be
paid without it) and the cap allows, a bucket never gives more than it holds, and a
committed batch replayed is DUPLICATE with nothing to write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import IdempotencyConflict, UnknownAccount, UnknownMessage
from ledger.models import (
    AccountStatus,
    DebitRequest,
    DebitStatus,
    EntryKind,
    HouseAccount,
    JournalEntry,
    MessageState,
    OutboundMessage,
    RechargePolicy,
)
from ledger.models.notices import NoticeKind
from ledger.rules.debits import DebitBatch, plan_debits
from ledger.rules.idempotency import RECHARGE_KEY_PREFIX, credit_fingerprint
from ledger.rules.package_moves import RefundRequest
from ledger.rules.planning import (
    COUNTER_OF_KIND,
    AccountState,
    CreditRequest,
    Loaded,
    Plan,
    PlannedEntry,
    StoredEntry,
    StoredMessage,
    is_house,
)
from ledger.rules.throughput import TOKEN, available_tokens
from ledger.rules.validation import CREDIT_KINDS

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
ACCOUNTS = ("smpp-a", "smpp-b", "smpp-c")


def msg(key: str, system_id: str, cost: int, text: str = "", message_id: str = "") -> DebitRequest:
    """A debit request; the body (so the fingerprint) follows ``text``."""
    return DebitRequest(
        key,
        OutboundMessage(
            message_id=message_id or f"m-{key}",
            system_id=system_id,
            source_addr="Shop",
            destination_addr="447700900123",
            segments=1,
            cost=cost,
            registered_delivery=0,
            pdu_body=f"body {text or key}".encode(),
        ),
    )


def state(system_id: str = "smpp-a", balance: int = 1_000, **kw: object) -> AccountState:
    """An active account without policy or bucket unless told."""
    fields: dict[str, object] = {
        "status": AccountStatus.ACTIVE,
        "policy": None,
        "recharge_day": None,
        "recharges_today": 0,
    }
    fields.update(kw)
    return AccountState(system_id=system_id, balance=balance, **fields)


def loaded(*accounts: AccountState, entries: dict[str, StoredEntry] | None = None) -> Loaded:
    return Loaded({a.system_id: a for a in accounts}, entries or {}, {})


# -- a tiny in-memory ledger: commit a plan, as a backend would --------------------------------


@dataclass
class Books:
    """What a backend holds: account states, committed entries, message ids, houses."""

    accounts: dict[str, AccountState]
    entries: dict[str, StoredEntry]
    messages: dict[str, StoredMessage]
    houses: dict[str, int]
    next_id: int = 1

    def load(self) -> Loaded:
        return Loaded(
            {k: replace(v) for k, v in self.accounts.items()},
            dict(self.entries),
            dict(self.messages),
        )

    def commit(self, plan: Plan[object]) -> list[int]:
        self.accounts.update({k: replace(v) for k, v in plan.accounts.items()})
        ids = []
        for e in plan.entries:
            ids.append(self.next_id)
            self.entries[e.idempotency_key] = StoredEntry(e.entry(self.next_id, NOW), e.fingerprint)
            self.next_id += 1
        for m in plan.messages:
            self.messages[m.message.message_id] = StoredMessage(
                m.message.message_id, m.message.system_id, m.message.cost
            )
        for name, delta in plan.house_deltas():
            self.houses[name] = self.houses.get(name, 0) + delta
        return ids

    def total(self) -> int:
        return sum(a.balance for a in self.accounts.values()) + sum(self.houses.values())


# -- strategies ------------------------------------------------------------------------------

policies = st.one_of(
    st.none(),
    st.builds(
        RechargePolicy,
        threshold=st.integers(0, 1_500),
        amount=st.integers(1, 2_000),
        daily_cap=st.integers(1, 3),
    ),
)


@st.composite
def account_states(draw: st.DrawFn, system_id: str) -> AccountState:
    throughput = draw(st.sampled_from([0, 0, 1, 3]))
    bucket_at = draw(st.one_of(st.none(), st.integers(0, 2_000_000)))
    return AccountState(
        system_id=system_id,
        status=draw(st.sampled_from([AccountStatus.ACTIVE] * 5 + [AccountStatus.DISABLED])),
        balance=draw(st.integers(0, 3_000)),
        policy=draw(policies),
        recharge_day=draw(st.sampled_from([None, TODAY, TODAY - timedelta(days=1)])),
        recharges_today=draw(st.integers(0, 3)),
        throughput=throughput,
        tb_tokens=draw(st.integers(0, 3 * TOKEN)),
        tb_updated_at=None if bucket_at is None else NOW - timedelta(microseconds=bucket_at),
    )


@st.composite
def batches(draw: st.DrawFn) -> list[DebitRequest]:
    n = draw(st.integers(1, 25))
    out: list[DebitRequest] = []
    for i in range(n):
        if out and draw(st.integers(0, 3)) == 0:
            # A client's retry: the same key and body, a new message id from the gateway.
            again = draw(st.sampled_from(out))
            out.append(replace(again, message=replace(again.message, message_id=f"m{i}")))
            continue
        key = draw(st.sampled_from([f"k{j}" for j in range(8)] + [f"u{i}"]))
        out.append(
            msg(
                key,
                draw(st.sampled_from([*ACCOUNTS, *ACCOUNTS, "smpp-unknown"])),
                draw(st.integers(1, 700)),
                text=draw(st.sampled_from(["", "other"])),
                message_id=draw(st.sampled_from([f"m{i}", f"m{i}", "m-shared"])),
            )
        )
    return out


@st.composite
def books(draw: st.DrawFn) -> Books:
    present = draw(st.lists(st.sampled_from(ACCOUNTS), unique=True, min_size=1))
    accounts = {sid: draw(account_states(sid)) for sid in present}
    # Money came from outside once: the houses start as minus the customers.
    houses = {HouseAccount.TOPUPS.value: -sum(a.balance for a in accounts.values())}
    return Books(accounts, {}, {}, houses)


# -- the properties of a debit plan ------------------------------------------------------------


def check_plan(before: Books, requests: list[DebitRequest], plan: Plan[object]) -> None:
    """Everything every debit plan must satisfy, against the books it was planned on."""
    results = plan.results
    assert len(results) == len(requests)
    # Money is conserved: every entry's other side is a house delta (or another entry).
    assert sum(e.amount for e in plan.entries) + sum(d for _, d in plan.house_deltas()) == 0
    assert all(is_house(e.counter_account) for e in plan.entries)
    names = [name for name, _ in plan.house_deltas()]
    assert names == sorted(names)  # the lock order
    # Balances follow their entries, and never go below zero on the way.
    running = {sid: a.balance for sid, a in before.accounts.items()}
    for e in plan.entries:
        running[e.system_id] += e.amount
        assert e.balance_after == running[e.system_id] >= 0
        assert e.counter_account == COUNTER_OF_KIND[e.kind]
    for sid, after in plan.accounts.items():
        assert after.balance == running[sid] >= 0
    for sid in running:
        if sid not in plan.accounts:
            assert running[sid] == before.accounts[sid].balance  # untouched
    # One debit entry and one message per OK result; nothing for the others.
    ok = [(req, r) for req, r in zip(requests, results, strict=True) if r.status is DebitStatus.OK]
    debits = [e for e in plan.entries if e.kind is EntryKind.DEBIT]
    assert [e.idempotency_key for e in debits] == [req.idempotency_key for req, _ in ok]
    assert [m.message.message_id for m in plan.messages] == [r.message_id for _, r in ok]
    recharges = [e for e in plan.entries if e.kind is EntryKind.RECHARGE]
    assert {e.idempotency_key for e in recharges} <= {
        RECHARGE_KEY_PREFIX + req.idempotency_key for req, _ in ok
    }
    # A replay within the batch answers the first request's message id.
    first: dict[str, str] = {}
    for req, r in zip(requests, results, strict=True):
        if r.status is DebitStatus.OK:
            first[req.idempotency_key] = r.message_id
        if r.status is DebitStatus.DUPLICATE and req.idempotency_key in first:
            assert r.message_id == first[req.idempotency_key]


def check_recharges(before: Books, requests: list[DebitRequest], plan: Plan[object]) -> None:
    """A recharge fires exactly when the rule says: once per crossing, within the cap."""
    by_key = {e.idempotency_key: e for e in plan.entries}
    balance = {sid: a.balance for sid, a in before.accounts.items()}
    used: dict[str, int] = defaultdict(int)
    for sid, a in before.accounts.items():
        used[sid] = a.recharges_today if a.recharge_day == TODAY else 0
    results = plan.results
    capped: set[str] = set()  # accounts a recharge was due on, with the cap used up
    for req, r in zip(requests, results, strict=True):
        sid, cost = req.message.system_id, req.message.cost
        if r.status is DebitStatus.INSUFFICIENT_CREDIT and sid in before.accounts:
            policy = before.accounts[sid].policy
            due = policy is not None and balance[sid] + policy.amount >= cost
            if due and policy is not None and used[sid] >= policy.daily_cap:
                capped.add(sid)
        if r.status is not DebitStatus.OK:
            continue
        policy = before.accounts[sid].policy
        b = balance[sid]
        recharge = by_key.get(RECHARGE_KEY_PREFIX + req.idempotency_key)
        if b < cost:
            # Accepted although short: only because it recharged first.
            assert policy is not None and recharge is not None
            assert recharge.balance_after == b + policy.amount
        else:
            crossed = policy is not None and b - cost <= policy.threshold < b
            cap_left = policy is not None and used[sid] < policy.daily_cap
            assert (recharge is not None) == (crossed and cap_left)
            if crossed and not cap_left:
                capped.add(sid)
        if recharge is not None:
            assert policy is not None
            used[sid] += 1
            assert used[sid] <= policy.daily_cap
            balance[sid] += policy.amount
        balance[sid] -= cost
        assert r.balance_after == balance[sid]
    told = {n.system_id for n in plan.notices if n.kind is NoticeKind.RECHARGE_CAPPED}
    assert told == capped


def check_notices(plan: Plan[object]) -> None:
    """Every recharge planned has its one mail notice; a capped one at most one an account."""
    recharges = [i for i, e in enumerate(plan.entries) if e.kind is EntryKind.RECHARGE]
    fired = [n for n in plan.notices if n.kind is NoticeKind.RECHARGE_FIRED]
    assert [n.entry_index for n in fired] == recharges
    for n in fired:
        assert n.entry_index is not None
        recharge = plan.entries[n.entry_index]
        assert n.key == "notice:recharge_fired:" + recharge.idempotency_key
        assert n.amount == recharge.amount
    capped = [n.system_id for n in plan.notices if n.kind is NoticeKind.RECHARGE_CAPPED]
    assert len(capped) == len(set(capped))


def check_throughput(before: Books, requests: list[DebitRequest], plan: Plan[object]) -> None:
    """An account with a limit accepts at most the tokens its bucket holds now."""
    results = plan.results
    for sid, a in before.accounts.items():
        if a.throughput == 0:
            continue
        accepted = sum(
            1
            for req, r in zip(requests, results, strict=True)
            if r.status is DebitStatus.OK and req.message.system_id == sid
        )
        tokens = available_tokens(a.throughput, a.tb_tokens, a.tb_updated_at, NOW)
        assert accepted <= tokens // TOKEN
        if sid in plan.accounts:
            assert plan.accounts[sid].tb_tokens == tokens - accepted * TOKEN


@settings(max_examples=300, deadline=None)
@given(books(), batches(), batches())
def test_debit_plans_keep_the_books(
    ledger: Books, first: list[DebitRequest], second: list[DebitRequest]
) -> None:
    for requests in (first, second, first):  # the second ``first`` replays a committed batch
        before = Books(
            {k: replace(v) for k, v in ledger.accounts.items()},
            dict(ledger.entries),
            dict(ledger.messages),
            dict(ledger.houses),
        )
        plan = plan_debits(requests, ledger.load(), NOW)
        check_plan(before, requests, plan)
        check_recharges(before, requests, plan)
        check_notices(plan)
        check_throughput(before, requests, plan)
        ids = ledger.commit(plan)
        results = plan.resolve(ids, NOW)
        assert [r.status for r in results] == [r.status for r in plan.results]
        assert ledger.total() == 0  # customers and houses sum to zero after every commit
        assert all(a.balance >= 0 for a in ledger.accounts.values())


@settings(max_examples=200, deadline=None)
@given(books(), batches())
def test_a_committed_batch_replays_as_duplicate_writing_nothing(
    ledger: Books, requests: list[DebitRequest]
) -> None:
    plan = plan_debits(requests, ledger.load(), NOW)
    ledger.commit(plan)
    # The body and message id each key was committed with (its first OK request).
    done: dict[str, tuple[tuple[object, ...], str]] = {}
    for req, r in zip(requests, plan.results, strict=True):
        if r.status is DebitStatus.OK:
            done.setdefault(req.idempotency_key, (debit_body(req), r.message_id))
    again = plan_debits(requests, ledger.load(), NOW)
    for req, r in zip(requests, again.results, strict=True):
        if req.idempotency_key not in done:
            continue
        body, message_id = done[req.idempotency_key]
        if debit_body(req) == body:
            assert (r.status, r.message_id) == (DebitStatus.DUPLICATE, message_id)
        else:
            assert r.status is DebitStatus.IDEMPOTENCY_CONFLICT
    # Replays and conflicts write nothing; only requests new to the books may.
    assert [e for e in again.entries if e.idempotency_key in done] == []


def debit_body(req: DebitRequest) -> tuple[object, ...]:
    m = req.message
    return (m.system_id, m.cost, m.source_addr, m.destination_addr, m.pdu_body)


# -- tables: idempotency, refusals, throttling -------------------------------------------------


def test_replay_is_duplicate_and_another_body_conflicts() -> None:
    ledger = Books({"smpp-a": state(balance=1_000)}, {}, {}, {HouseAccount.TOPUPS.value: -1_000})
    first = plan_debits([msg("k1", "smpp-a", 100, text="hi")], ledger.load(), NOW)
    ledger.commit(first)
    plan = plan_debits(
        [
            msg("k1", "smpp-a", 100, text="hi", message_id="m-retry"),  # same body: replay
            msg("k1", "smpp-a", 100, text="changed"),  # another body: conflict
            msg("k1", "smpp-a", 101, text="hi"),  # another cost: conflict
            msg("k2", "smpp-a", 100, message_id="m-k1"),  # a used message id: conflict
        ],
        ledger.load(),
        NOW,
    )
    assert [(r.status, r.message_id) for r in plan.results] == [
        (DebitStatus.DUPLICATE, "m-k1"),
        (DebitStatus.IDEMPOTENCY_CONFLICT, "m-k1"),
        (DebitStatus.IDEMPOTENCY_CONFLICT, "m-k1"),
        (DebitStatus.IDEMPOTENCY_CONFLICT, "m-k1"),
    ]
    assert not plan.writes


@pytest.mark.parametrize(
    ("account", "status"),
    [
        (None, DebitStatus.UNKNOWN_ACCOUNT),
        (state(status=AccountStatus.DISABLED), DebitStatus.ACCOUNT_DISABLED),
        (state(balance=99), DebitStatus.INSUFFICIENT_CREDIT),
        (state(throughput=2, tb_tokens=TOKEN - 1, tb_updated_at=NOW), DebitStatus.THROTTLED),
        (state(throughput=2, tb_tokens=TOKEN, tb_updated_at=NOW), DebitStatus.OK),
        (state(balance=100), DebitStatus.OK),
    ],
)
def test_one_debit(account: AccountState | None, status: DebitStatus) -> None:
    accounts = () if account is None else (account,)
    plan = plan_debits([msg("k1", "smpp-a", 100)], loaded(*accounts), NOW)
    assert [r.status for r in plan.results] == [status]
    assert plan.writes is (status is DebitStatus.OK)


def test_throttled_only_when_otherwise_accepted() -> None:
    # No token and no credit: the credit answer, and the bucket is not drawn.
    empty = state(balance=50, throughput=1, tb_tokens=0, tb_updated_at=NOW)
    plan = plan_debits([msg("k1", "smpp-a", 100)], loaded(empty), NOW)
    assert [r.status for r in plan.results] == [DebitStatus.INSUFFICIENT_CREDIT]
    # Three in one instant at 2/s from a full bucket: two pass.
    full = state(balance=10_000, throughput=2)
    plan = plan_debits([msg(f"k{i}", "smpp-a", 100) for i in range(3)], loaded(full), NOW)
    assert [r.status for r in plan.results] == [DebitStatus.OK] * 2 + [DebitStatus.THROTTLED]
    assert (plan.accounts["smpp-a"].tb_tokens, plan.accounts["smpp-a"].tb_updated_at) == (0, NOW)


def test_recharge_once_per_crossing_then_cap() -> None:
    policy = RechargePolicy(threshold=500, amount=1_000, daily_cap=2)
    plan = plan_debits(
        [msg(f"k{i}", "smpp-a", 300) for i in range(8)],
        loaded(state(balance=700, policy=policy)),
        NOW,
    )
    kinds = [(e.kind, e.balance_after) for e in plan.entries]
    assert kinds == [
        (EntryKind.DEBIT, 400),  # 700 -> 400 crosses 500
        (EntryKind.RECHARGE, 1_400),
        (EntryKind.DEBIT, 1_100),  # above the threshold
        (EntryKind.DEBIT, 800),
        (EntryKind.DEBIT, 500),  # lands on it: crossed
        (EntryKind.RECHARGE, 1_500),
        (EntryKind.DEBIT, 1_200),
        (EntryKind.DEBIT, 900),
        (EntryKind.DEBIT, 600),
        (EntryKind.DEBIT, 300),  # crosses again, but the cap is reached
    ]
    assert plan.accounts["smpp-a"].recharges_today == 2
    assert plan.house_deltas() == [("house:recharges", -2_000), ("house:sales", 2_400)]
    # Each recharge has its mail; the crossing the cap refused has one, for the day.
    assert [(n.kind, n.entry_index, n.balance) for n in plan.notices] == [
        (NoticeKind.RECHARGE_FIRED, 1, 1_400),
        (NoticeKind.RECHARGE_FIRED, 5, 1_500),
        (NoticeKind.RECHARGE_CAPPED, None, 300),
    ]
    assert plan.notices[2].key == f"notice:recharge_capped:smpp-a:{TODAY.isoformat()}"


def test_recharge_first_when_short() -> None:
    policy = RechargePolicy(threshold=0, amount=1_000, daily_cap=1)
    plan = plan_debits([msg("k1", "smpp-a", 300)], loaded(state(balance=100, policy=policy)), NOW)
    assert [(e.kind, e.amount, e.balance_after) for e in plan.entries] == [
        (EntryKind.RECHARGE, 1_000, 1_100),
        (EntryKind.DEBIT, -300, 800),
    ]
    [result] = plan.resolve([7, 8], NOW)
    [recharge] = result.recharges
    assert (recharge.id, recharge.counter_account, recharge.idempotency_key) == (
        7,
        "house:recharges",
        "recharge:k1",
    )
    assert "below cost" in recharge.note


def test_debit_batch_movement_loads_what_the_planner_reads() -> None:
    batch = DebitBatch([msg("k2", "smpp-b", 1), msg("k1", "smpp-a", 1), msg("k3", "smpp-b", 1)])
    load = batch.load()
    assert list(load.accounts) == ["smpp-a", "smpp-b"]  # sorted: the lock order
    assert list(load.keys) == ["k2", "recharge:k2", "k1", "recharge:k1", "k3", "recharge:k3"]
    assert list(load.message_ids) == ["m-k2", "m-k1", "m-k3"]
    assert not load.lock_message_owners


# -- credits and refunds --------------------------------------------------------------------


def stored(
    key: str, entry_id: int, fingerprint: str, kind: EntryKind = EntryKind.CREDIT
) -> StoredEntry:
    entry = JournalEntry(
        id=entry_id,
        system_id="smpp-a",
        counter_account=COUNTER_OF_KIND[kind].value,
        kind=kind,
        amount=500,
        balance_after=500,
        idempotency_key=key,
        message_id=None,
        created_at=NOW,
    )
    return StoredEntry(entry, fingerprint)


@pytest.mark.parametrize("kind", sorted(CREDIT_KINDS))
def test_credit_names_its_house_account(kind: EntryKind) -> None:
    request = CreditRequest("smpp-a", 500, kind, "topup-1", "invoice 7")
    plan = request.plan(loaded(state(balance=1_000)), NOW)
    [entry] = plan.entries
    assert (entry.kind, entry.amount, entry.balance_after) == (kind, 500, 1_500)
    assert entry.counter_account == COUNTER_OF_KIND[kind] and is_house(entry.counter_account)
    assert plan.house_deltas() == [(COUNTER_OF_KIND[kind].value, -500)]
    assert plan.accounts["smpp-a"].balance == 1_500
    made = plan.resolve([42], NOW)
    assert (made.id, made.note, made.created_at) == (42, "invoice 7", NOW)


def test_credit_replay_conflict_and_unknown_account() -> None:
    request = CreditRequest("smpp-a", 500, EntryKind.CREDIT, "topup-1")
    fp = credit_fingerprint("smpp-a", EntryKind.CREDIT, 500)
    prior = stored("topup-1", 3, fp)
    replay = request.plan(loaded(state(), entries={"topup-1": prior}), NOW)
    assert not replay.writes
    assert replay.resolve([], NOW) == prior.entry
    with pytest.raises(IdempotencyConflict):
        request.plan(loaded(state(), entries={"topup-1": stored("topup-1", 3, "other")}), NOW)
    with pytest.raises(UnknownAccount):
        request.plan(loaded(), NOW)
    assert list(request.load().accounts) == ["smpp-a"]


def test_refund_gives_the_cost_back_once_and_rejects() -> None:
    request = RefundRequest("m-1", "upstream 0x45")
    load = request.load()
    assert (list(load.message_ids), list(load.keys), load.lock_message_owners) == (
        ["m-1"],
        ["refund:m-1"],
        True,
    )
    books_ = Loaded(
        {"smpp-a": state(balance=700)}, {}, {"m-1": StoredMessage("m-1", "smpp-a", 300)}
    )
    plan = request.plan(books_, NOW)
    [entry] = plan.entries
    assert (entry.kind, entry.amount, entry.balance_after, entry.message_id) == (
        EntryKind.REFUND,
        300,
        1_000,
        "m-1",
    )
    assert (entry.counter_account, entry.note) == ("house:refunds", "upstream 0x45")
    assert plan.message_states == {"m-1": MessageState.REJECTED}
    with pytest.raises(UnknownMessage):
        request.plan(Loaded({}, {}, {}), NOW)


# -- the two-sided model -----------------------------------------------------------------------


def test_every_kind_has_a_counter_account() -> None:
    assert set(COUNTER_OF_KIND) == set(EntryKind)
    assert set(COUNTER_OF_KIND) >= CREDIT_KINDS
    assert all(h.value.startswith("house:") for h in HouseAccount)
    assert not is_house("smpp-acme")


def test_a_customer_pair_moves_no_house_account() -> None:
    # A transfer (a later issue) is one entry on each side, naming each other.
    def leg(system_id: str, counter: str, amount: int, key: str) -> PlannedEntry:
        return PlannedEntry(
            system_id,
            counter,
            EntryKind.TRANSFER_OUT if amount < 0 else EntryKind.TRANSFER_IN,
            amount,
            1_000 + amount,
            key,
            "fp",
            None,
        )

    plan: Plan[None] = Plan(
        entries=[leg("smpp-a", "smpp-b", -250, "t1:out"), leg("smpp-b", "smpp-a", 250, "t1:in")]
    )
    assert plan.house_deltas() == []
    assert sum(e.amount for e in plan.entries) == 0


def test_house_deltas_are_aggregated_and_sorted() -> None:
    plan = plan_debits(
        [msg(f"k{i}", sid, 100) for i, sid in enumerate(["smpp-b", "smpp-a", "smpp-b"])],
        loaded(state("smpp-a"), state("smpp-b")),
        NOW,
    )
    assert plan.house_deltas() == [("house:sales", 300)]  # one update for three entries


def test_plans_do_not_touch_their_inputs() -> None:
    account = state(balance=1_000, throughput=5)
    before = replace(account)
    plan_debits([msg("k1", "smpp-a", 100)], loaded(account), NOW)
    assert account == before


def test_naive_now_counts_as_utc_day() -> None:
    late = datetime(2024, 5, 1, 23, 59)
    policy = RechargePolicy(threshold=0, amount=1_000, daily_cap=1)
    account = state(balance=50, policy=policy, recharge_day=date(2024, 5, 1), recharges_today=1)
    plan = plan_debits([msg("k1", "smpp-a", 100)], loaded(account), late)
    assert [r.status for r in plan.results] == [DebitStatus.INSUFFICIENT_CREDIT]
