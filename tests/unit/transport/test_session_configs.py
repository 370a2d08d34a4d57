"""The sessions the transport runs, derived from the settings (no copy of the settings)."""

from __future__ import annotations

from gateway.config import ServerConfig, UpstreamConfig
from gateway.smpp import SessionConfig
from gateway.transport.server import client_session_config
from gateway.transport.upstream import upstream_session_config


def test_client_sessions_follow_the_server_settings() -> None:
    config = ServerConfig(
        max_pdu_size=8192,
        window=7,
        max_submit_inflight=100,
        response_timeout_s=3.0,
        inactivity_timeout_s=90.0,
    )
    assert client_session_config(config) == SessionConfig(
        max_pdu_size=8192,
        window=7,
        inbound_pause_at=100,
        max_inbound_pending=1600,  # refused only at 16 times the pause point
        response_timeout=3.0,
        inactivity_timeout=90.0,
    )


def test_a_small_pause_point_keeps_a_deep_hard_cap() -> None:
    session = client_session_config(ServerConfig(max_submit_inflight=4))
    assert (session.inbound_pause_at, session.max_inbound_pending) == (4, 1024)


def test_the_upstream_session_keeps_the_link_alive_and_buffers_receipts() -> None:
    config = UpstreamConfig(window=20, response_timeout_s=5.0, enquire_link_interval_s=10.0)
    session = upstream_session_config(config)
    assert (session.window, session.response_timeout) == (20, 5.0)
    assert session.enquire_link_interval == 10.0
    assert session.inactivity_timeout == 60.0  # never below a minute
    assert (
        upstream_session_config(UpstreamConfig(enquire_link_interval_s=30.0)).inactivity_timeout
        == 90.0
    )
    assert (session.inbound_pause_at, session.max_inbound_pending) == (1024, 16384)
