"""policy.throttle: failed binds counted per client address, pure (the test is the clock)."""

from __future__ import annotations

from gateway.policy.throttle import BindThrottle, ThrottleSettings

A, B = "203.0.113.7", "2001:db8::1"


def test_the_fifth_failure_in_the_window_blocks_for_the_backoff() -> None:
    t = BindThrottle(ThrottleSettings(max_failures=5, window_s=60, backoff_s=30))
    assert [t.failed(A, float(i)) for i in range(5)] == [False] * 4 + [True]
    assert t.blocked_for(A, 4.0) == 30.0
    assert t.blocked_for(A, 33.5) == 0.5
    assert t.blocked_for(A, 34.0) == 0.0  # the back-off is over
    assert t.blocked_for(B, 4.0) == 0.0  # other addresses are not affected
    # A fresh count after the back-off: four more failures do not block again.
    assert [t.failed(A, 40.0 + i) for i in range(4)] == [False] * 4
    assert t.blocked_for(A, 44.0) == 0.0


def test_failures_leave_the_window() -> None:
    t = BindThrottle(ThrottleSettings(max_failures=3, window_s=10, backoff_s=5))
    assert not t.failed(A, 0.0)
    assert not t.failed(A, 5.0)
    # The first has left the window at 10.0: two within it, not three.
    assert not t.failed(A, 10.0)
    assert t.failed(A, 11.0)  # 5.0, 10.0, 11.0


def test_zero_failures_turns_it_off() -> None:
    t = BindThrottle(ThrottleSettings(max_failures=0))
    assert not t.enabled
    assert not any(t.failed(A, float(i)) for i in range(100))
    assert t.blocked_for(A, 100.0) == 0.0
    assert t.tracked() == 0


def test_memory_is_bounded_and_blocked_addresses_survive_the_pruning() -> None:
    t = BindThrottle(ThrottleSettings(max_failures=2, window_s=10, backoff_s=100, max_tracked=50))
    assert not t.failed(A, 0.0)
    assert t.failed(A, 1.0)  # blocked until 101
    for i in range(500):  # many addresses failing once, long after A's failures
        t.failed(f"198.51.100.{i % 250}-{i}", 20.0 + i * 0.001)
        assert t.tracked() <= 50
    assert t.tracked() >= 45  # the pruning drops a tenth at a time, not everything


def test_blocked_entries_are_kept_while_stale_ones_are_dropped() -> None:
    t = BindThrottle(ThrottleSettings(max_failures=2, window_s=10, backoff_s=100, max_tracked=3))
    t.failed(A, 0.0)
    t.failed(A, 1.0)  # blocked until 101
    t.failed("stale-1", 2.0)
    t.failed("stale-2", 3.0)
    # Full at 50.0: the two stale entries (window over) go, A (blocked) stays.
    t.failed("new", 50.0)
    assert t.blocked_for(A, 50.0) == 51.0
    assert t.tracked() == 2


def test_known_addresses_last_keep_s_and_are_bounded_per_account() -> None:
    from gateway.policy.throttle import KnownAddresses

    k = KnownAddresses(keep_s=100, per_account=2, max_tracked=2)
    k.bound("smpp-a", A, 0.0)
    assert k.known("smpp-a", A, 99.0)
    assert not k.known("smpp-a", A, 100.0)  # too long ago
    assert not k.known("smpp-a", B, 50.0)  # never bound from there
    assert not k.known("smpp-b", A, 50.0)  # another account
    k.bound("smpp-a", B, 10.0)
    k.bound("smpp-a", "192.0.2.9", 20.0)  # a third: the least recent (A) goes
    assert not k.known("smpp-a", A, 30.0)
    assert k.known("smpp-a", B, 30.0) and k.known("smpp-a", "192.0.2.9", 30.0)
    k.bound("smpp-b", A, 30.0)
    k.bound("smpp-c", A, 31.0)  # a third account: the least recently bound (a) goes
    assert len(k) == 2
    assert not k.known("smpp-a", B, 32.0)
    assert k.known("smpp-b", A, 32.0) and k.known("smpp-c", A, 32.0)
