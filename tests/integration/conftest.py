"""The fixtures most integration tests share: an audited SQLite ledger and a gateway on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.app import Gateway
from ledger import Store, open_store
from tests.integration.harness import gateway_config, running_gateway


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh SQLite ledger under tmp_path; audited (balances equal journals) after."""
    s = await open_store(f"sqlite:///{tmp_path}/ledger.db")
    await s.upgrade()
    yield s
    assert await s.audit() == [], "cached balances must equal journal sums"
    await s.close()


@pytest.fixture
async def gw(store: Store, tmp_path: Path) -> AsyncIterator[Gateway]:
    """A started gateway on ``store`` with the built-in upstream simulator."""
    async with running_gateway(gateway_config(f"sqlite:///{tmp_path}/ledger.db"), store) as g:
        yield g
