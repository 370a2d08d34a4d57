"""Fixtures of the interop suite: the Node.js peers, installed once per test session.

Without node, npm or the peers directory these tests FAIL when ``CI=true`` (CI must never
pass without proving interop) and are skipped with a loud reason otherwise.
"""

from __future__ import annotations

import pytest

from tests.interop.peers import NodePeers, PeersUnavailable, peers_unavailable, setup_peers


@pytest.fixture(scope="session")
def node_peers() -> NodePeers:
    """node + the peers' scripts + NODE_PATH (``setup.sh`` runs once per session)."""
    try:
        return setup_peers()
    except PeersUnavailable as e:
        peers_unavailable(str(e))
