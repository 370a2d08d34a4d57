"""Fixtures for several gateway processes sharing one PostgreSQL ledger."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.simulator import UpstreamSimulator
from tests.integration.procs import free_port
from tests.ledger.conftest import (
    fresh_pg_schema,
    in_ci,
)
from tests.scaling.cluster import Cluster

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A ledger URL on a fresh schema of the shared test server, dropped afterwards."""
    yield from fresh_pg_schema("scale")


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    """A throw-away PostgreSQL cluster on a free port, removed afterwards."""
    why = Cluster.available()
    if why is not None:
        if in_ci():
            pytest.fail(f"cannot make a PostgreSQL cluster: {why}", pytrace=False)
        pytest.skip(f"NOT TESTED: cannot make a PostgreSQL cluster: {why}")
    root = Path(tempfile.mkdtemp(prefix="smppgw-pg-"))
    c = Cluster(root, free_port()).init()
    await c.start()
    try:
        yield c
    finally:
        with contextlib.suppress(RuntimeError):  # already stopped by the test
            await c.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def upstream() -> AsyncIterator[UpstreamSimulator]:
    """One upstream SMSC for every gateway of the test; it records what it received."""
    sim = UpstreamSimulator(dlr_delay_ms=10, keep_ids=True)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
