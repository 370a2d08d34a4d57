"""The pure rules besides planning, directly: validation, idempotency, binds, receipts,
adoption order and the audit's descriptions. No database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.errors import (
    BindHeldElsewhere,
    ForeignMessage,
    GatewayNotRegistered,
    InvalidAccountData,
    InvalidRequest,
    LedgerError,
    LimitExceeded,
    RefundRequired,
    UnknownAccount,
    UnknownMessage,
)
from ledger.models import (
    AuditCheck,
    DebitRequest,
    EntryKind,
    MessageRecord,
    MessageState,
    NewAccount,
    NewReceipt,
    OutboundMessage,
    RechargePolicy,
    Sender,
)
from ledger.rules.adoption import adoption_order, validate_adopt
from ledger.rules.audit import AuditRow, audit_problems, balance_problem
from ledger.rules.binds import BindState, already_bound, has_room
from ledger.rules.idempotency import (
    credit_fingerprint,
    debit_fingerprint,
    debit_lookup_keys,
    fingerprint,
    recharge_key,
    refund_key,
)
from ledger.rules.limits import LedgerLimits, check_threshold
from ledger.rules.receipts import (
    ReceiptTarget,
    accounts_to_notify,
    check_targets,
    final_states,
    outcome_state,
)
from ledger.rules.validation import (
    normalise_cidr,
    require_limit,
    validate_credit,
    validate_max_binds,
    validate_new_account,
    validate_policy,
    validate_receipt_ids,
    validate_request,
    validate_sender,
    validate_system_id,
    validate_throughput,
)

HASH = "scrypt$x"

# -- account data ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system_id", "ok"),
    [
        ("smpp-acme", True),
        ("smpp-a", True),
        ("smpp-abcdefghij", True),  # 15 characters, the SMPP limit
        ("smpp-a.b_c-d", True),
        ("smpp-abcdefghijk", False),
        ("smpp-", False),
        ("smpp-ACME", False),
        ("smpp-_x", False),
        ("acme", False),
        ("house:sales", False),  # house accounts can never be system_ids
        ("", False),
    ],
)
def test_system_id(system_id: str, ok: bool) -> None:
    if ok:
        assert validate_system_id(system_id) == system_id
    else:
        with pytest.raises(InvalidAccountData, match="smpp-"):
            validate_system_id(system_id)


@pytest.mark.parametrize(
    ("cidr", "normal"),
    [
        ("10.1.2.3", "10.1.2.3/32"),
        (" 192.168.7.9/24 ", "192.168.7.0/24"),
        ("2001:db8::1/64", "2001:db8::/64"),
        ("::1", "::1/128"),
    ],
)
def test_cidr_is_normalised(cidr: str, normal: str) -> None:
    assert normalise_cidr(cidr) == normal


@pytest.mark.parametrize("cidr", ["10.0.0.300", "not-an-ip", "", "10.0.0.0/33"])
def test_bad_cidr(cidr: str) -> None:
    with pytest.raises(InvalidAccountData, match="CIDR"):
        normalise_cidr(cidr)


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        (Sender(5, 0, "Shop"), True),
        (Sender(5, 0, "Elevenchars"), True),
        (Sender(1, 1, "447700900000"), True),
        (Sender(3, 0, "12345"), True),
        (Sender(2, 1, "12345"), False),  # national TON is not offered
        (Sender(5, 0, "TwelveChars1"), False),
        (Sender(5, 0, "Shop!"), False),
        (Sender(5, 0, ""), False),
        (Sender(1, 1, "+447700900000"), False),
        (Sender(1, 256, "4477"), False),
    ],
)
def test_sender(sender: Sender, ok: bool) -> None:
    if ok:
        assert validate_sender(sender) == sender
    else:
        with pytest.raises(InvalidAccountData):
            validate_sender(sender)


@pytest.mark.parametrize(
    ("policy", "ok"),
    [
        (RechargePolicy(threshold=0, amount=100_000, daily_cap=1), True),
        (RechargePolicy(threshold=5_000, amount=10_000_000, daily_cap=9), True),
        (RechargePolicy(threshold=0, amount=150_000, daily_cap=1), False),
        (RechargePolicy(threshold=0, amount=100, daily_cap=1), False),
        (RechargePolicy(threshold=0, amount=100_000, daily_cap=0), False),
        (RechargePolicy(threshold=-1, amount=100_000, daily_cap=1), False),
        # A cap its INTEGER column could not hold: refused by the rule, on both stores.
        (RechargePolicy(threshold=0, amount=100_000, daily_cap=2**31 - 1), True),
        (RechargePolicy(threshold=0, amount=100_000, daily_cap=2**31), False),
    ],
)
def test_policy(policy: RechargePolicy, ok: bool) -> None:
    if ok:
        assert validate_policy(policy) == policy
    else:
        with pytest.raises(InvalidAccountData):
            validate_policy(policy)


@pytest.mark.parametrize("threshold", [LedgerLimits().max_balance + 1, 2**63, 10**33])
def test_a_threshold_a_column_could_not_hold_is_beyond_the_balance_limit(threshold: int) -> None:
    with pytest.raises(LimitExceeded):
        check_threshold(threshold, LedgerLimits())
    assert check_threshold(LedgerLimits().max_balance, LedgerLimits()) == LedgerLimits().max_balance


@pytest.mark.parametrize(
    ("value", "binds_ok", "throughput_ok"),
    [
        (0, False, True),
        (1, True, True),
        (2**31 - 1, True, True),
        (2**31, False, False),
        (-1, False, False),
        (True, False, False),
        (1.5, False, False),
    ],
)
def test_limits(value: int, binds_ok: bool, throughput_ok: bool) -> None:
    for check, ok in ((validate_max_binds, binds_ok), (validate_throughput, throughput_ok)):
        if ok:
            assert check(value) == value
        else:
            with pytest.raises(InvalidAccountData):
                check(value)


def test_new_account_is_normalised() -> None:
    new = validate_new_account(
        NewAccount(
            system_id="smpp-acme",
            password_hash=HASH,
            contact_email="ops@acme.example",
            allowed_ips=("10.0.0.1", "10.0.0.1/32", "10.1.0.0/16"),
            senders=(Sender(5, 0, "Shop"), Sender(5, 0, "Shop")),
        )
    )
    assert new.allowed_ips == ("10.0.0.1/32", "10.1.0.0/16")
    assert new.senders == (Sender(5, 0, "Shop"),)


@pytest.mark.parametrize(
    "new",
    [
        NewAccount(system_id="smpp-acme", password_hash=""),
        NewAccount(system_id="smpp-acme", password_hash=HASH, contact_email="nobody"),
        NewAccount(system_id="smpp-acme", password_hash=HASH, max_binds=0),
        NewAccount(system_id="smpp-acme", password_hash=HASH, throughput=-1),
        NewAccount(system_id="smpp-acme", password_hash=HASH, senders=(Sender(2, 0, "1"),)),
        NewAccount(system_id="smpp-acme", password_hash=HASH, allowed_ips=("x",)),
        NewAccount(system_id="acme", password_hash=HASH),
    ],
)
def test_bad_new_account(new: NewAccount) -> None:
    with pytest.raises(InvalidAccountData):
        validate_new_account(new)


# -- requests and arguments: programming errors are InvalidRequest (and ValueError) --------


def _debit(key: str = "k1", cost: int = 100, segments: int = 1, mid: str = "m1") -> DebitRequest:
    return DebitRequest(
        key, OutboundMessage(mid, "smpp-acme", "Shop", "4477", segments, cost, 0, b"x")
    )


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (_debit(key=""), "idempotency key"),
        (_debit(cost=0), "more than zero"),
        (_debit(cost=-5), "more than zero"),
        (_debit(segments=0), "segment"),
        (_debit(mid=""), "message_id"),
    ],
)
def test_bad_debit_request(request_: DebitRequest, match: str) -> None:
    with pytest.raises(InvalidRequest, match=match) as caught:
        validate_request(request_)
    assert isinstance(caught.value, LedgerError) and isinstance(caught.value, ValueError)


def test_good_debit_request() -> None:
    validate_request(_debit())


@pytest.mark.parametrize(
    ("amount", "kind", "key", "match"),
    [
        (0, EntryKind.CREDIT, "k", "positive"),
        (-5, EntryKind.CREDIT, "k", "positive"),
        (True, EntryKind.CREDIT, "k", "positive"),
        (5, EntryKind.DEBIT, "k", "debit"),
        (5, EntryKind.WRITE_OFF, "k", "write_off"),
        (5, EntryKind.CREDIT, "", "idempotency key"),
    ],
)
def test_bad_credit(amount: int, kind: EntryKind, key: str, match: str) -> None:
    with pytest.raises(InvalidRequest, match=match):
        validate_credit(amount, kind, key)


def test_good_credit_kinds() -> None:
    for kind in ("credit", "recharge", "refund", "transfer_in"):
        assert validate_credit(1, EntryKind(kind), "k") is EntryKind(kind)


def test_arguments() -> None:
    assert require_limit(1) == 1
    for bad in (0, -1, True, 2.0):
        with pytest.raises(InvalidRequest, match="limit"):
            require_limit(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="gateway id"):
        validate_adopt("", 10)
    assert validate_receipt_ids([3, 1, 3]) == [3, 1]
    with pytest.raises(InvalidRequest, match="receipt id"):
        validate_receipt_ids([1, "2"])  # type: ignore[list-item]


# -- idempotency -------------------------------------------------------------------------------


def test_fingerprints() -> None:
    assert fingerprint("ab", "c") != fingerprint("a", "bc")  # length-prefixed
    assert fingerprint("x", b"y") == fingerprint("x", "y")
    a = _debit().message
    # Neither the message id nor the owner is part of a debit's body.
    same = OutboundMessage("m-other", a.system_id, "Shop", "4477", 1, 100, 0, b"x", owner="gw")
    assert debit_fingerprint(a) == debit_fingerprint(same)
    dearer = OutboundMessage("m1", a.system_id, "Shop", "4477", 1, 101, 0, b"x")
    assert debit_fingerprint(a) != debit_fingerprint(dearer)
    assert credit_fingerprint("smpp-a", EntryKind.CREDIT, 1) != credit_fingerprint(
        "smpp-b", EntryKind.CREDIT, 1
    )
    assert (recharge_key("k"), refund_key("m")) == ("recharge:k", "refund:m")
    assert debit_lookup_keys([_debit("a"), _debit("b")]) == ["a", "recharge:a", "b", "recharge:b"]


# -- binds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (BindState(True, True, None), False),  # go on and count
        (BindState(True, True, "smpp-acme"), True),  # already holds its slot
        (BindState(False, True, None), UnknownAccount),
        (BindState(True, False, None), GatewayNotRegistered),
        (BindState(True, True, "smpp-other"), BindHeldElsewhere),
    ],
)
def test_already_bound(state: BindState, outcome: bool | type[Exception]) -> None:
    if isinstance(outcome, bool):
        assert already_bound(state, "smpp-acme", "gw-a", "s1") is outcome
    else:
        with pytest.raises(outcome):
            already_bound(state, "smpp-acme", "gw-a", "s1")


def test_has_room() -> None:
    assert [has_room(n, 2) for n in (0, 1, 2, 3)] == [True, True, False, False]


# -- receipts and outcomes ----------------------------------------------------------------------


def _receipt(mid: str, state: MessageState | None = None, claimed: str | None = None) -> NewReceipt:
    return NewReceipt("smpp-acme", mid, b"dr", state, claimed)


def test_outcome_states() -> None:
    assert outcome_state(MessageState.DELIVERED) is MessageState.DELIVERED
    with pytest.raises(RefundRequired, match="refund"):
        outcome_state(MessageState.REJECTED)
    items = [
        _receipt("m1", MessageState.FAILED),
        _receipt("m2"),
        _receipt("m1", MessageState.DELIVERED),
    ]
    assert final_states(items) == {"m1": MessageState.DELIVERED}  # the later one wins
    with pytest.raises(RefundRequired):
        final_states([*items, _receipt("m3", MessageState.REJECTED)])


def test_accounts_to_notify() -> None:
    items = [
        NewReceipt("smpp-b", "m1", b"", None, None),
        NewReceipt("smpp-a", "m2", b"", None, "gw-a"),  # claimed: pushed by gw-a itself
        NewReceipt("smpp-b", "m3", b"", None, None),
        NewReceipt("smpp-c", "m4", b"", None, None),
    ]
    assert accounts_to_notify(items) == ["smpp-b", "smpp-c"]


@pytest.mark.parametrize(
    ("target", "error"),
    [
        (ReceiptTarget(True, "smpp-acme"), None),
        (ReceiptTarget(False, "smpp-acme"), UnknownAccount),
        (ReceiptTarget(True, None), UnknownMessage),
        (ReceiptTarget(True, "smpp-other"), ForeignMessage),
    ],
)
def test_receipt_targets(target: ReceiptTarget, error: type[Exception] | None) -> None:
    items = [_receipt("m0"), _receipt("m1")]
    targets = [ReceiptTarget(True, "smpp-acme"), target]
    if error is None:
        check_targets(items, targets)
    else:
        with pytest.raises(error):
            check_targets(items, targets)


def test_adoption_order() -> None:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)

    def rec(mid: str, second: int) -> MessageRecord:
        when = t0.replace(second=second)
        return MessageRecord(
            mid, "smpp-acme", "S", "D", 1, 1, 0, b"", MessageState.ACCEPTED, None, when, when
        )

    found = [rec("m-b", 1), rec("m-c", 0), rec("m-a", 1)]
    assert [m.message_id for m in sorted(found, key=adoption_order)] == ["m-c", "m-a", "m-b"]


# -- the audit's descriptions -------------------------------------------------------------------


def test_balance_problem() -> None:
    assert balance_problem("smpp-a", 5, 7).detail == "balance 5 != journal sum 7"
    assert balance_problem("smpp-a", -1, -1).detail == "negative balance -1"
    assert (
        balance_problem("smpp-a", -1, 3).detail
        == "balance -1 != journal sum 3; negative balance -1"
    )


def test_audit_problems_are_described_once_in_order() -> None:
    rows = [
        AuditRow(AuditCheck.PAIR, "smpp-b", "smpp-a", 90, 100),  # the same pair, seen from
        AuditRow(AuditCheck.PAIR, "smpp-a", "smpp-b", -100, -90),  # both sides
        AuditRow(AuditCheck.ZERO_SUM, "", None, -10, 0),
        AuditRow(AuditCheck.HOUSE_BALANCE, "house:sales", None, 5, 0),
        AuditRow(AuditCheck.COUNTER, "smpp-a", "", 7, 0),
        AuditRow(AuditCheck.BALANCE, "smpp-z", None, 1, 0),
    ]
    problems = audit_problems(rows)
    assert [(p.check, p.system_id, p.counter_account) for p in problems] == [
        (AuditCheck.BALANCE, "smpp-z", None),
        (AuditCheck.HOUSE_BALANCE, "house:sales", None),
        (AuditCheck.ZERO_SUM, "", None),
        (AuditCheck.PAIR, "smpp-a", "smpp-b"),
        (AuditCheck.COUNTER, "smpp-a", ""),
    ]
    details = [p.detail for p in problems]
    assert details[1] == "house balance 5 != minus the entries naming it, 0"
    assert details[2] == "all balances sum to -10, not 0"
    assert "smpp-a naming smpp-b sum to -100" in details[3] and "90" in details[3]
    assert "no counter-account" in details[4]
    assert audit_problems([]) == []
