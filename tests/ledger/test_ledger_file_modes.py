"""The SQLite ledger's files (database, -wal, -shm) are private to their owner.

They hold message bodies and password hashes. Each test sets the usual umask 022 (under
which a plain create gives 0644) and restores the process's own afterwards.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.backends.sqlite import COMPANIONS, exposed_files, ledger_files
from ledger.errors import LedgerUnavailable
from ledger.store import open_store
from tests.ledger.ledger_helpers import make_account, request


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_fresh_ledger_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    db = tmp_path / "var" / "ledger.db"
    store = await open_store(f"sqlite:///{db}")
    try:
        await store.upgrade()
        await make_account(store, balance=1_000)
        await store.debit_batch([request("k1")])  # a write: the WAL has content now
        files = ledger_files(db)
        assert [p.name for p in files] == ["ledger.db", "ledger.db-wal", "ledger.db-shm"]
        assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
        assert exposed_files(db) == []
    finally:
        await store.close()


async def test_the_mode_is_0600_even_under_a_umask_that_would_narrow_it(tmp_path: Path) -> None:
    # 0277 takes the owner's write bit away from anything created; the file is still usable.
    os.umask(0o277)
    db = tmp_path / "ledger.db"
    store = await open_store(f"sqlite:///{db}")
    try:
        await store.upgrade()
        await make_account(store, balance=1_000)
    finally:
        await store.close()
    assert oct(mode(db)) == "0o600"


async def test_an_existing_wider_file_is_left_as_it_is_and_reported(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    store = await open_store(f"sqlite:///{db}")
    await store.upgrade()
    await store.close()
    db.chmod(0o644)  # the operator's choice (a backup job in the group, say)

    store = await open_store(f"sqlite:///{db}")
    try:
        await make_account(store, balance=1_000)
        assert mode(db) == 0o644
        exposed = dict(exposed_files(db))
        assert exposed[db] == 0o644
        # SQLite gives the companions the main file's mode: they are reported too.
        assert set(exposed) == set(ledger_files(db))
    finally:
        await store.close()


async def test_companions_left_wide_beside_a_private_file_are_made_private(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    store = await open_store(f"sqlite:///{db}")
    await store.upgrade()
    await store.close()
    leftovers = [db.with_name(db.name + suffix) for suffix in COMPANIONS]
    for p in leftovers:  # as an earlier version, or a copy, could have left them
        p.touch()
        p.chmod(0o644)

    store = await open_store(f"sqlite:///{db}")
    try:
        assert [oct(mode(p)) for p in leftovers] == ["0o600", "0o600"]
        assert exposed_files(db) == []
    finally:
        await store.close()


async def test_a_path_that_cannot_be_created_is_ledger_unavailable(tmp_path: Path) -> None:
    # Its "folder" is a regular file: no mkdir or open can succeed, whoever runs this.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(LedgerUnavailable, match="cannot open SQLite ledger"):
        await open_store(f"sqlite:///{blocker / 'ledger.db'}")
