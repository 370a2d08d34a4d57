"""``eviction_reason``: which account changes end a bound session, which only apply."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from gateway.policy.follow import eviction_reason
from ledger.models import Account, AccountStatus, Sender

BOUND = Account(
    system_id="smpp-a",
    owner="o",
    contact_email="ops@a.example",
    status=AccountStatus.ACTIVE,
    balance=5000,
    password_hash="scrypt$1",
    allowed_ips=("192.0.2.0/24",),
    senders=(Sender(5, 0, "SHOP"),),
    recharge=None,
    max_binds=2,
    throughput=0,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)
PEER = "192.0.2.7"


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (None, "account_deleted"),
        (replace(BOUND, status=AccountStatus.DISABLED), "account_disabled"),
        (replace(BOUND, status=AccountStatus.CLOSED), "account_closed"),
        (replace(BOUND, allowed_ips=("198.51.100.0/24",)), "ip_not_allowed"),
        (replace(BOUND, allowed_ips=()), "ip_not_allowed"),
        (replace(BOUND, password_hash="scrypt$2"), "password_changed"),
        # A disabled account whose password changed too: the status is named first.
        (replace(BOUND, status=AccountStatus.DISABLED, password_hash="p"), "account_disabled"),
    ],
)
def test_changes_that_revoke_the_bind(now: Account | None, reason: str) -> None:
    assert eviction_reason(BOUND, now, PEER) == reason


@pytest.mark.parametrize(
    "now",
    [
        BOUND,
        replace(BOUND, senders=()),
        replace(BOUND, balance=0, throughput=5, max_binds=1, contact_email=""),
        replace(BOUND, allowed_ips=("192.0.2.7/32", "203.0.113.0/24")),
        replace(BOUND, owner="another owner"),
    ],
)
def test_changes_that_only_apply_to_the_next_submit(now: Account) -> None:
    assert eviction_reason(BOUND, now, PEER) is None


def test_an_ipv4_mapped_peer_is_matched_as_ipv4() -> None:
    assert eviction_reason(BOUND, BOUND, "::ffff:192.0.2.7") is None


def test_a_pinned_certificate_ends_the_sessions_that_did_not_show_it() -> None:
    pin, other = "ab" * 32, "cd" * 32
    pinned = replace(BOUND, client_cert_sha256=pin)
    assert eviction_reason(BOUND, pinned, PEER) == "client_cert_changed"  # plain TCP
    assert eviction_reason(BOUND, pinned, PEER, other) == "client_cert_changed"
    assert eviction_reason(BOUND, pinned, PEER, pin) is None
    assert eviction_reason(pinned, BOUND, PEER) is None  # unpinning ends nothing
    assert eviction_reason(pinned, pinned, PEER, pin) is None
