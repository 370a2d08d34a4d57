"""policy.bind: credentials first, then the quota held in the ledger (a real SQLite store)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.policy.bind import BindPolicy
from gateway.smpp import CommandStatus as S
from ledger import Store, open_store
from ledger.models import AccountChanges
from tests.integration.harness import PASSWORD, make_account


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:///{tmp_path}/l.db")
    await s.upgrade()
    await make_account(s, "smpp-a", max_binds=1)
    await s.register_gateway("gw1", address="test")
    yield s
    await s.close()


@pytest.fixture
async def policy(store: Store) -> AsyncIterator[BindPolicy]:
    p = BindPolicy(store, gateway_id="gw1")
    yield p
    p.close()


async def test_admitted_bind_holds_its_slot_until_released(policy: BindPolicy) -> None:
    first = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="trx", session_id="s1")
    assert (first.status, first.reason) == (S.ESME_ROK, "ok")
    assert first.account is not None and first.account.system_id == "smpp-a"
    over = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s2")
    assert (over.status, over.reason) == (S.ESME_RALYBND, "max_binds_reached")
    await policy.release("s1")
    again = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s2")
    assert again.status == S.ESME_ROK


async def test_concurrent_binds_share_a_commit_and_the_quota_stays_exact(
    policy: BindPolicy,
) -> None:
    # The first bind verifies the password (scrypt) and holds the only slot.
    first = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="trx", session_id="s0")
    assert first.status == S.ESME_ROK
    before = policy.batcher.batches

    async def bind(n: int) -> S:
        d = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id=f"s{n}")
        return d.status

    # The holder drops while ten others bind: exactly one of them gets the freed slot.
    _, *statuses = await asyncio.gather(policy.release("s0"), *(bind(n) for n in range(1, 11)))
    assert sorted(statuses).count(S.ESME_ROK) == 1
    assert statuses.count(S.ESME_RALYBND) == 9
    assert policy.batcher.batches - before < 11, "the release and claims were batched"


async def test_refused_credentials_take_no_slot(policy: BindPolicy) -> None:
    bad = await policy.admit("smpp-a", "wrong", "127.0.0.1", kind="tx", session_id="s1")
    assert (bad.status, bad.reason) == (S.ESME_RINVPASWD, "bad_password")
    good = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s2")
    assert good.status == S.ESME_ROK, "the refused bind did not use the only slot"


async def test_a_gateway_no_longer_registered_refuses_with_bindfail(
    store: Store, policy: BindPolicy
) -> None:
    await store.unregister_gateway("gw1")
    decision = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s1")
    assert (decision.status, decision.reason) == (S.ESME_RBINDFAIL, "ledger_down")


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_failed_binds_throttle_the_address_without_hashing(store: Store) -> None:
    from gateway.policy.throttle import ThrottleSettings

    clock = _Clock()
    policy = BindPolicy(
        store,
        gateway_id="gw1",
        throttle=ThrottleSettings(max_failures=3, window_s=60, backoff_s=30),
        clock=clock,
    )
    hashes: list[str] = []
    verify = policy.authenticator._verify

    async def counting(password: str, stored: str, peer_ip: str) -> bool | None:
        hashes.append(password)
        return await verify(password, stored, peer_ip)

    policy.authenticator._verify = counting  # type: ignore[method-assign]
    try:
        ip = "127.0.0.1"
        # Unknown system_ids cost no hash at all, and count as failures.
        unknown = await policy.admit("smpp-nobody", "x", ip, kind="tx", session_id="s0")
        assert (unknown.status, unknown.close) == (S.ESME_RINVSYSID, False)
        assert hashes == []
        # An address off the allowlist costs no hash either.
        off = await policy.admit("smpp-a", "x", "192.0.2.1", kind="tx", session_id="s0")
        assert (off.status, off.reason, off.close) == (S.ESME_RBINDFAIL, "ip_not_allowed", False)
        assert hashes == []
        wrong = await policy.admit("smpp-a", "wrong", ip, kind="tx", session_id="s1")
        assert (wrong.status, wrong.close) == (S.ESME_RINVPASWD, False)
        third = await policy.admit("smpp-a", "wrong2", ip, kind="tx", session_id="s2")
        assert (third.status, third.close) == (S.ESME_RINVPASWD, True)  # the limit: close
        assert hashes == ["wrong", "wrong2"]
        # Blocked: even the right password is refused, before the ledger or a hash.
        blocked = await policy.admit("smpp-a", PASSWORD, ip, kind="tx", session_id="s3")
        assert (blocked.status, blocked.reason, blocked.close) == (
            S.ESME_RBINDTHROTTLED,
            "throttled",
            True,
        )
        assert blocked.account is None
        assert hashes == ["wrong", "wrong2"]
        # Another address is not affected.
        other = await policy.admit("smpp-a", "wrong", "192.0.2.1", kind="tx", session_id="s4")
        assert other.status == S.ESME_RBINDFAIL
        # After the back-off the right password binds again.
        clock.now += 31
        ok = await policy.admit("smpp-a", PASSWORD, ip, kind="tx", session_id="s5")
        assert ok.status == S.ESME_ROK
    finally:
        policy.close()


async def test_quota_refusals_are_not_counted_as_failures(store: Store) -> None:
    from gateway.policy.throttle import ThrottleSettings

    policy = BindPolicy(
        store, gateway_id="gw1", throttle=ThrottleSettings(max_failures=1), clock=_Clock()
    )
    try:
        first = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s1")
        assert first.status == S.ESME_ROK
        over = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s2")
        assert (over.status, over.close) == (S.ESME_RALYBND, False)
        assert policy.throttle.blocked_for("127.0.0.1", 2000.0) == 0.0
    finally:
        policy.close()


async def test_a_verified_password_is_remembered_until_the_stored_hash_changes(
    store: Store,
) -> None:
    from ledger.passwords import hash_password

    policy = BindPolicy(store, gateway_id="gw1")
    hashes: list[str] = []
    verify = policy.authenticator._verify

    async def counting(password: str, stored: str, peer_ip: str) -> bool | None:
        hashes.append(password)
        return await verify(password, stored, peer_ip)

    policy.authenticator._verify = counting  # type: ignore[method-assign]
    try:

        async def bind(password: str, n: int) -> S:
            decision = await policy.admit(
                "smpp-a", password, "127.0.0.1", kind="tx", session_id=f"s{n}"
            )
            if decision.status == S.ESME_ROK:
                await policy.release(f"s{n}")
            return decision.status

        assert await bind(PASSWORD, 1) == S.ESME_ROK
        assert hashes == [PASSWORD]  # the first check is always scrypt
        assert await bind(PASSWORD, 2) == S.ESME_ROK
        assert hashes == [PASSWORD]  # a reconnect: no hash
        # A wrong password is hashed, refused, and does not replace the verified one.
        assert await bind("wrong", 3) == S.ESME_RINVPASWD
        assert hashes == [PASSWORD, "wrong"]
        assert await bind(PASSWORD, 4) == S.ESME_ROK
        assert hashes == [PASSWORD, "wrong"]
        # A password change forgets it: the old password is hashed and refused.
        await store.set_password_hash("smpp-a", hash_password("new-pass1"))
        assert await bind(PASSWORD, 5) == S.ESME_RINVPASWD
        assert await bind("new-pass1", 6) == S.ESME_ROK
        assert await bind("new-pass1", 7) == S.ESME_ROK
        assert hashes == [PASSWORD, "wrong", PASSWORD, "new-pass1"]
        # The allowlist and the status are still checked on every bind.
        off = await policy.admit("smpp-a", "new-pass1", "192.0.2.1", kind="tx", session_id="s8")
        assert off.status == S.ESME_RBINDFAIL
    finally:
        policy.close()


def test_verified_binds_stay_bounded() -> None:
    from gateway.policy.auth import VerifiedBinds

    seen = VerifiedBinds(max_entries=3)
    for i in range(10):
        seen.remember(f"smpp-{i}", "h", "pw")
    assert len(seen) == 3
    assert seen.known("smpp-9", "h", "pw") and not seen.known("smpp-0", "h", "pw")
    assert not seen.known("smpp-9", "other-hash", "pw")
    assert not seen.known("smpp-9", "h", "pw2")


async def test_a_blocked_system_id_still_binds_from_the_addresses_it_bound_from(
    store: Store,
) -> None:
    from gateway.policy.throttle import ThrottleSettings

    clock = _Clock()
    policy = BindPolicy(
        store,
        gateway_id="gw1",
        throttle=ThrottleSettings(max_failures=0),  # per address: off, to see the other
        system_id_throttle=ThrottleSettings(max_failures=2, window_s=60, backoff_s=30),
        known_address_s=3600,
        clock=clock,
    )
    try:
        ok = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s1")
        assert ok.status == S.ESME_ROK
        await policy.release("s1")
        # Unknown system_ids are not counted per system_id (they cost nothing).
        for n in range(5):
            d = await policy.admit("smpp-zz", "x", "127.0.0.1", kind="tx", session_id=f"u{n}")
            assert d.status == S.ESME_RINVSYSID
        assert policy.system_id_throttle.tracked() == 0
        # Two failures of smpp-a, wherever from, block it ...
        for n in range(2):
            d = await policy.admit("smpp-a", f"w{n}", "127.0.0.1", kind="tx", session_id="x")
            assert d.status == S.ESME_RINVPASWD
        # ... for an address that never bound it (off the allowlist too: no read needed) ...
        new = await policy.admit("smpp-a", PASSWORD, "192.0.2.1", kind="tx", session_id="s2")
        assert (new.status, new.reason, new.close) == (
            S.ESME_RBINDTHROTTLED,
            "system_id_throttled",
            True,
        )
        # ... not for the one that bound it, and not for another account.
        own = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s3")
        assert own.status == S.ESME_ROK
        other = await policy.admit("smpp-b", "x", "192.0.2.1", kind="tx", session_id="s4")
        assert other.status == S.ESME_RINVSYSID
        clock.now += 31  # the back-off is over
        after = await policy.admit("smpp-a", PASSWORD, "192.0.2.1", kind="tx", session_id="s5")
        assert (after.status, after.reason) == (S.ESME_RBINDFAIL, "ip_not_allowed")
    finally:
        policy.close()


async def test_checks_beyond_an_address_share_are_refused_unhashed(store: Store) -> None:
    policy = BindPolicy(store, gateway_id="gw1", hashes_per_address=2)
    try:

        async def bind(n: int, ip: str = "127.0.0.1") -> S:
            d = await policy.admit("smpp-a", f"w{n}", ip, kind="tx", session_id=f"s{n}")
            return d.status

        # Three at once from one address: two hashed (0x0E), the third refused at once.
        statuses = await asyncio.gather(bind(1), bind(2), bind(3))
        assert sorted(statuses) == [S.ESME_RINVPASWD, S.ESME_RINVPASWD, S.ESME_RBINDTHROTTLED]
        assert policy.authenticator.queue.in_flight("127.0.0.1") == 0, "all places freed"
        # Done: the address has its places back.
        assert await bind(4) == S.ESME_RINVPASWD
    finally:
        policy.close()


async def test_one_address_hashes_one_check_at_a_time_and_others_do_not_wait(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import gateway.policy.auth as auth

    running: dict[str, int] = {}
    most: dict[str, int] = {}
    lock = threading.Lock()
    verify = auth.verify_password

    def observed(password: str, stored: str) -> bool:
        who = password[:2]  # "a-..." from one address, "b-..." from another
        with lock:
            running[who] = running.get(who, 0) + 1
            most[who] = max(most.get(who, 0), running[who])
        try:
            return verify(password, stored)
        finally:
            with lock:
                running[who] -= 1

    monkeypatch.setattr(auth, "verify_password", observed)
    await make_account(store, "smpp-b", allowed_ips=("127.0.0.2/32",))
    policy = BindPolicy(store, gateway_id="gw1", hashes_per_address=4)
    try:

        async def bind(password: str, ip: str) -> S:
            system_id = "smpp-a" if ip == "127.0.0.1" else "smpp-b"
            d = await policy.admit(system_id, password, ip, kind="tx", session_id=password)
            return d.status

        # Four checks from one address queue (none refused) and hash one at a time,
        # leaving the second thread to another address, whose check runs beside them.
        statuses = await asyncio.gather(
            *(bind(f"a-{n}", "127.0.0.1") for n in range(4)), bind("b-0", "127.0.0.2")
        )
        assert statuses == [S.ESME_RINVPASWD] * 5
        assert most == {"a-": 1, "b-": 1}
        assert policy.authenticator._turns == {}, "no lock left behind"
    finally:
        policy.close()


async def test_binds_checking_the_same_password_at_once_share_one_hash(store: Store) -> None:
    policy = BindPolicy(store, gateway_id="gw1", hashes_per_address=1)
    hashes: list[str] = []
    verify = policy.authenticator._verify

    async def counting(password: str, stored: str, peer_ip: str) -> bool | None:
        hashes.append(password)
        return await verify(password, stored, peer_ip)

    policy.authenticator._verify = counting  # type: ignore[method-assign]
    try:
        await store.update_account("smpp-a", AccountChanges(max_binds=4))

        async def bind(n: int, password: str = PASSWORD) -> S:
            d = await policy.admit("smpp-a", password, "127.0.0.1", kind="tx", session_id=f"s{n}")
            return d.status

        # A customer's four sessions reconnect at once to a gateway that never saw them:
        # one scrypt, one place in the address's queue, four binds.
        assert await asyncio.gather(*(bind(n) for n in range(4))) == [S.ESME_ROK] * 4
        assert hashes == [PASSWORD]
        # Different passwords are different checks: the address's one place decides.
        statuses = await asyncio.gather(bind(10, "w1"), bind(11, "w2"))
        assert sorted(statuses) == [S.ESME_RINVPASWD, S.ESME_RBINDTHROTTLED]
        assert policy.authenticator._checks == {}, "nothing kept once answered"
    finally:
        policy.close()
