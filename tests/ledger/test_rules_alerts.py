"""The low-balance alert rule (pure): table tests and the crossing property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidAccountData, LimitExceeded
from ledger.models import EntryKind
from ledger.rules.alerts import (
    BalanceStep,
    JournalStep,
    alert_mail_key,
    armed_for,
    balance_steps,
    count_fired,
    scan,
    step,
    validate_alert,
)
from ledger.rules.idempotency import recharge_key
from ledger.rules.limits import LedgerLimits


@pytest.mark.parametrize(
    ("armed", "balance", "fires", "armed_after"),
    [
        (True, 5_000, False, True),  # at the threshold: not below
        (True, 4_999, True, False),  # the crossing
        (False, 4_999, False, False),  # still below: quiet
        (False, 1, False, False),
        (False, 5_000, False, True),  # back at the threshold re-arms
        (True, 9_000, False, True),
        (True, 0, True, False),
    ],
)
def test_one_step(armed: bool, balance: int, fires: bool, armed_after: bool) -> None:
    assert step(armed, balance, 5_000) == (fires, armed_after)


@pytest.mark.parametrize(
    ("start", "balances", "fired"),
    [
        (10, [9, 8, 7], 0),  # never below 5
        (10, [4, 3, 2], 1),  # one crossing, then hovering below
        (10, [4, 6, 4, 6, 4], 3),  # each dip after being back up
        (10, [4, 4, 5, 4], 2),  # 5 is "back at", so the next dip fires
        (3, [2, 1, 4], 0),  # set while below: no crossing happened
        (3, [6, 2], 1),  # ... until it has been back up
        (10, [], 0),
    ],
)
def test_sequences(start: int, balances: list[int], fired: int) -> None:
    assert count_fired(armed_for(start, 5), 5, balances) == fired


def test_scan_reports_the_firing_steps_and_the_cursor() -> None:
    steps = [BalanceStep(11, 6), BalanceStep(12, 4), BalanceStep(15, 3), BalanceStep(16, 7)]
    result = scan(True, 5, steps, 10)
    assert result.fired == (BalanceStep(12, 4),)
    assert (result.armed, result.through) == (True, 16)
    assert scan(False, 5, [], 10).through == 10


def downward_crossings(start: int, balances: list[int], threshold: int) -> int:
    """The oracle: steps from >= threshold to < threshold."""
    previous, count = start, 0
    for b in balances:
        if previous >= threshold > b:
            count += 1
        previous = b
    return count


@given(
    start=st.integers(0, 100),
    balances=st.lists(st.integers(0, 100), max_size=60),
    threshold=st.integers(1, 100),
)
def test_alerts_equal_downward_crossings(start: int, balances: list[int], threshold: int) -> None:
    armed = armed_for(start, threshold)
    assert count_fired(armed, threshold, balances) == downward_crossings(start, balances, threshold)
    steps = [BalanceStep(i, b) for i, b in enumerate(balances, start=1)]
    # Armed afterwards means exactly "the last balance was at or above the threshold".
    last = balances[-1] if balances else start
    assert scan(armed, threshold, steps, 0).armed == (last >= threshold)


def _entry(i: int, kind: EntryKind, key: str, balance: int) -> JournalStep:
    return JournalStep(i, kind, key, balance)


def test_a_debit_and_its_recharge_are_one_step() -> None:
    entries = [
        _entry(1, EntryKind.CREDIT, "seed", 6_000),
        _entry(2, EntryKind.DEBIT, "d1", 4_000),
        _entry(3, EntryKind.RECHARGE, recharge_key("d1"), 14_000),
        _entry(4, EntryKind.DEBIT, "d2", 3_000),  # not followed by its recharge
        _entry(5, EntryKind.RECHARGE, recharge_key("other"), 13_000),
        _entry(6, EntryKind.DEBIT, "d3", 2_000),  # last: a step of its own
    ]
    assert balance_steps(entries) == [
        BalanceStep(1, 6_000),
        BalanceStep(3, 14_000),
        BalanceStep(4, 3_000),
        BalanceStep(5, 13_000),
        BalanceStep(6, 2_000),
    ]


@pytest.mark.parametrize("threshold", [0, -1, True, 1.5])
def test_a_threshold_must_be_above_zero(threshold: int) -> None:
    with pytest.raises(InvalidAccountData, match="above 0"):
        validate_alert(threshold, None, LedgerLimits())


def test_a_threshold_within_max_balance_and_a_known_category() -> None:
    limits = LedgerLimits(max_balance=10_000)
    assert validate_alert(10_000, None, limits) is None
    assert validate_alert(10, "marketing", limits) == "marketing"
    with pytest.raises(LimitExceeded):
        validate_alert(10_001, None, limits)
    with pytest.raises(InvalidAccountData, match="unknown category 'promo'"):
        validate_alert(10, "promo", limits)


def test_mail_keys_name_the_crossing() -> None:
    assert alert_mail_key("smpp-a", None, 42) == "alert:smpp-a:credits:42"
    assert alert_mail_key("smpp-a", "verification", 42) == "alert:smpp-a:verification:42"
