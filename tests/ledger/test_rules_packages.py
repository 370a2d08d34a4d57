"""The rules of credit packages, directly: no database.

Status at the boundary, purchase checks, the consumption order, and properties over
random packages and messages: every segment is paid exactly once, by one source; a
package pays only whole segments and never more than it holds; the order is category,
then general, then credits, earliest expiry first; the debit planner's package entries
plus the house deltas sum to zero in each unit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidRequest
from ledger.models import AccountStatus, Category, DebitRequest, DebitStatus, OutboundMessage
from ledger.models.packages import PackageStatus
from ledger.rules.debits import plan_debits
from ledger.rules.packages import (
    MESSAGE,
    Draw,
    PackageState,
    add_months,
    consumption_order,
    map_service_type,
    message_category,
    package_status,
    plan_consumption,
    plan_refund,
    remaining_by_category,
    segment_draw,
    validate_purchase,
)
from ledger.rules.planning import AccountState, Loaded, draw_key

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CATEGORIES = [c.value for c in Category]


def pkg(
    pid: str, category: str = "general", remaining: int = 100 * MESSAGE, days: int = 30
) -> PackageState:
    return PackageState(
        pid, "smpp-a", category, 100 * MESSAGE, remaining, NOW, NOW + timedelta(days=days)
    )


def test_status_is_exact_at_the_expiry() -> None:
    expires = NOW + timedelta(days=1)
    assert package_status(1, expires, expires - timedelta(microseconds=1)) is PackageStatus.VALID
    assert package_status(1, expires, expires) is PackageStatus.EXPIRED
    assert package_status(0, expires, NOW) is PackageStatus.EXHAUSTED
    assert package_status(0, expires, expires) is PackageStatus.EXPIRED


@pytest.mark.parametrize("quantity", [100, 200, 1_000, 10_000_000])
def test_valid_purchases(quantity: int) -> None:
    assert validate_purchase("marketing", quantity, "") == (Category.MARKETING, quantity * MESSAGE)


@pytest.mark.parametrize(
    ("category", "quantity", "name"),
    [
        ("general", 99, ""),
        ("general", 0, ""),
        ("general", -100, ""),
        ("general", 101, ""),
        ("general", 10_000_100, ""),
        ("otp", 100, ""),
        ("general", 100, "x" * 65),
        ("general", 100, "a\nb"),
    ],
)
def test_refused_purchases(category: str, quantity: int, name: str) -> None:
    with pytest.raises(InvalidRequest):
        validate_purchase(category, quantity, name)


def test_months_are_calendar_months_clamped() -> None:
    start = datetime(2024, 1, 31, 10, 0, tzinfo=UTC)
    assert add_months(start, 1) == datetime(2024, 2, 29, 10, 0, tzinfo=UTC)
    assert add_months(start, 12) == datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
    with pytest.raises(InvalidRequest):
        add_months(start, 0)


def test_segment_weights() -> None:
    assert segment_draw(500) == MESSAGE  # a light destination still takes one message
    assert segment_draw(1000) == MESSAGE
    assert segment_draw(2500) == 2500


def test_order_is_category_then_general_by_expiry() -> None:
    packages = [
        pkg("PKGG1", "general", days=5),
        pkg("PKGV2", "verification", days=20),
        pkg("PKGV1", "verification", days=10),
        pkg("PKGM1", "marketing", days=1),
        pkg("PKGX", "verification", days=-1),  # expired
        pkg("PKGE", "verification", remaining=0),  # exhausted
    ]
    order = [p.package_id for p in consumption_order(packages, "verification", NOW)]
    assert order == ["PKGV1", "PKGV2", "PKGG1"]
    assert [p.package_id for p in consumption_order(packages, "general", NOW)] == ["PKGG1"]


def test_a_message_spans_two_packages_and_the_credits() -> None:
    packages = [pkg("PKGA", remaining=2 * MESSAGE, days=1), pkg("PKGB", remaining=1500, days=2)]
    c = plan_consumption(packages, "general", 4, 4000, NOW)
    assert c.packages == (Draw("PKGA", 2000, 2), Draw("PKGB", 1000, 1))
    assert (c.credit_segments, c.credit_cost) == (1, 1000)


def test_a_package_short_of_a_heavy_segment_is_skipped() -> None:
    c = plan_consumption([pkg("PKGA", remaining=2000)], "general", 1, 2500, NOW)
    assert c.packages == () and c.credit_cost == 2500


def test_category_and_service_type_mapping() -> None:
    mapping = {"OTP": "verification", "promo": "marketing"}
    assert map_service_type("OTP", mapping) == "verification"
    assert map_service_type("otp", mapping) == "verification"
    assert map_service_type("PROMO", mapping) == "marketing"
    assert map_service_type("", mapping) == ""
    assert map_service_type("CMT", mapping) == ""
    assert message_category("", "marketing") == "marketing"
    assert message_category("verification", "marketing") == "verification"


def test_refund_to_an_expired_package_is_written_off() -> None:
    live, gone = pkg("PKGL", days=2), pkg("PKGG", days=1)
    draws = [Draw("PKGL", 1000, 1), Draw("PKGG", 1000, 1), Draw("credits", 500, 1)]
    legs = plan_refund(draws, {"PKGL": live, "PKGG": gone}, NOW + timedelta(days=1))
    assert [(leg.draw.source, leg.write_off) for leg in legs] == [
        ("PKGL", False),
        ("PKGG", True),
        ("credits", False),
    ]


def test_remaining_by_category_counts_valid_packages_only() -> None:
    totals = remaining_by_category(
        [
            ("general", 5, PackageStatus.VALID),
            ("general", 7, PackageStatus.EXPIRED),
            ("marketing", 3, PackageStatus.VALID),
        ]
    )
    assert totals == {"verification": 0, "marketing": 3, "general": 5}


packages_st = st.lists(
    st.builds(
        lambda i, cat, rem, days: PackageState(
            f"PKG{i:03d}", "smpp-a", cat, 10_000_000, rem, NOW, NOW + timedelta(days=days)
        ),
        st.integers(0, 999),
        st.sampled_from(CATEGORIES),
        st.integers(0, 20_000),
        st.integers(-3, 30),
    ),
    max_size=6,
    unique_by=lambda p: p.package_id,
)


@settings(max_examples=300, deadline=None)
@given(
    packages=packages_st,
    category=st.sampled_from(CATEGORIES),
    segments=st.integers(1, 12),
    weight=st.sampled_from([300, 1000, 1500, 2500, 7000]),
)
def test_consumption_properties(
    packages: list[PackageState], category: str, segments: int, weight: int
) -> None:
    c = plan_consumption(packages, category, segments, segments * weight, NOW)
    by_id = {p.package_id: p for p in packages}
    need = segment_draw(weight)
    # Every segment paid once, by exactly one source.
    assert sum(d.segments for d in c.packages) + c.credit_segments == segments
    assert c.credit_cost == c.credit_segments * weight
    order = [p.package_id for p in consumption_order(packages, category, NOW)]
    used = [d.source for d in c.packages]
    # Draws follow the order, each source at most once, only valid eligible packages.
    assert used == [pid for pid in order if pid in used]
    for d in c.packages:
        p = by_id[d.source]
        assert d.amount == d.segments * need
        assert d.amount <= p.remaining
        assert p.category in (category, "general")
    # A source skipped or not used up could not have paid one more segment.
    if c.credit_segments:
        for pid in order:
            drawn = sum(d.amount for d in c.packages if d.source == pid)
            assert by_id[pid].remaining - drawn < need


def _account(balance: int = 5_000) -> AccountState:
    return AccountState(
        system_id="smpp-a",
        status=AccountStatus.ACTIVE,
        balance=balance,
        policy=None,
        recharge_day=None,
        recharges_today=0,
        has_packages=True,
    )


def _request(key: str, segments: int, weight: int, category: str = "") -> DebitRequest:
    return DebitRequest(
        key,
        OutboundMessage(
            message_id=f"m-{key}",
            system_id="smpp-a",
            source_addr="Shop",
            destination_addr="33600000000",
            segments=segments,
            cost=segments * weight,
            registered_delivery=0,
            pdu_body=key.encode(),
            category=category,
        ),
    )


@settings(max_examples=200, deadline=None)
@given(
    packages=packages_st,
    batch=st.lists(
        st.tuples(
            st.integers(1, 5),
            st.sampled_from([500, 1000, 2500]),
            st.sampled_from(["", *CATEGORIES]),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_the_debit_planner_conserves_each_unit(
    packages: list[PackageState], batch: list[tuple[int, int, str]]
) -> None:
    before = {p.package_id: p.remaining for p in packages}
    loaded = Loaded({"smpp-a": _account()}, {}, {}, {p.package_id: p for p in packages}, {})
    requests = [_request(f"k{i}", s, w, c) for i, (s, w, c) in enumerate(batch)]
    plan = plan_debits(requests, loaded, NOW)
    # Each unit sums to zero with its house accounts: credits and package messages.
    credit_sum = sum(e.amount for e in plan.entries)
    package_sum = sum(e.amount for e in plan.package_entries)
    deltas = dict(plan.house_deltas())
    assert credit_sum + sum(v for k, v in deltas.items() if "package" not in k) == 0
    assert package_sum + sum(v for k, v in deltas.items() if "package" in k) == 0
    for p in plan.packages.values():
        assert 0 <= p.remaining <= before[p.package_id]
    # Every accepted message has its key on exactly one entry, its draws on draw keys.
    keys = [e.idempotency_key for e in plan.entries + plan.package_entries]
    assert len(keys) == len(set(keys))
    for r, result in zip(requests, plan.results, strict=True):
        if result.status is DebitStatus.OK:
            assert keys.count(r.idempotency_key) == 1
            mine = [k for k in keys if k.endswith(r.idempotency_key)]
            extra = sorted(k for k in mine if k != r.idempotency_key)
            assert extra == [draw_key(r.idempotency_key, n) for n in range(1, len(extra) + 1)]
    # Nothing mutated in what was loaded.
    assert {p.package_id: p.remaining for p in packages} == before
