"""gateway.config_delivery: [[upstreams]], [[routes]] and [delivery], through load_config."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from ledger.models import DEFAULT_UPSTREAM
from tests.unit.test_config import error_of, write

TWO = """
[simulator]
enabled = false

[[upstreams]]
name = "primary"
host = "10.0.0.1"
port = 2775
password_env = "PRIMARY_PW"
binds = 2
window = 20
throughput = 50

[[upstreams]]
name = "backup"
port = 2776
password = "pw"
receipt_ids = "decimal"

[[routes]]
prefix = "33"
upstreams = ["primary", "backup"]

[[routes]]
prefix = "336"
account = "acme"
category = "marketing"
upstreams = ["backup"]

[delivery]
max_validity_s = 3600
undelivered_refund = true
"""


def test_several_upstreams_and_routes_load(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO), env={"PRIMARY_PW": "s3cret"})
    primary, backup = config.links()
    assert (primary.name, primary.host, primary.binds, primary.window) == (
        "primary",
        "10.0.0.1",
        2,
        20,
    )
    assert primary.throughput == 50.0 and primary.password == "s3cret"
    assert (backup.name, backup.port, backup.binds, backup.throughput) == ("backup", 2776, 1, 0.0)
    assert config.inline_secrets == ("upstreams[1].password",)
    assert [r.upstreams for r in config.routes] == [("primary", "backup"), ("backup",)]
    assert (config.routes[1].account, config.routes[1].category) == ("acme", "marketing")
    assert config.delivery.max_validity_s == 3600.0 and config.delivery.undelivered_refund
    assert (primary.receipt_ids, backup.receipt_ids) == ("auto", "decimal")
    assert "s3cret" not in repr(config)


def test_the_single_upstream_is_named_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[upstream]\nport = 3000\n"), env={})
    [only] = config.links()
    assert (only.name, only.port) == (DEFAULT_UPSTREAM, 3000)
    assert config.upstreams == () and config.routes == ()
    assert not config.delivery.undelivered_refund  # the upstream charged us


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[upstream]\nport = 1\n[[upstreams]]\nname = 'a'\n", "upstreams: give [upstream] or"),
        ("[[upstreams]]\nname = 'a'\n", "simulator.enabled: the built-in simulator"),
        (
            "[simulator]\nenabled = false\n[[upstreams]]\nname = 'a'\n[[upstreams]]\nname = 'a'\n",
            'upstreams[1].name: "a" is used by another upstream',
        ),
        (
            "[[routes]]\nprefix = '33'\nupstreams = ['nope']\n",
            'routes[0].upstreams: no upstream is named "nope"',
        ),
        ("[[routes]]\nprefix = '33'\n", "routes[0].upstreams: name at least one upstream"),
        (
            "[[routes]]\nprefix = '+33'\nupstreams = ['default']\n",
            "routes[0].prefix: expected digits",
        ),
        (
            "[[routes]]\ncategory = 'spam'\nupstreams = ['default']\n",
            "routes[0].category: expected one of",
        ),
        (
            "[[routes]]\nupstreams = 'default'\n",
            "routes[0].upstreams: expected an array of strings",
        ),
        (
            "[[routes]]\nupstreams = [1]\n",
            "routes[0].upstreams: expected an array of strings, got [1]",
        ),
        ("routes = 3\n", "routes: expected an array of tables"),
        ("[[routes]]\nprefx = '3'\n", "routes[0].prefx: unknown key"),
        ("[upstream]\nname = 'x'\n", "upstream.name: [upstream] is"),
        ("[upstream]\nthroughput = -1\n", "upstream.throughput: must be at least 0"),
        (
            "[upstream]\nreceipt_ids = 'dec'\n",
            'upstream.receipt_ids: expected one of "auto", "same"',
        ),
        (
            "[upstream]\ntls_ca_file = 'tariff.csv'\n",
            "upstream.tls_ca_file: needs upstream.tls = true",
        ),
        (
            "[upstream]\nreconnect_min_s = 9\nreconnect_max_s = 1\n",
            "upstream.reconnect_min_s: must not",
        ),
        ("[delivery]\nthrottle_pause_s = 20\n", "delivery.throttle_pause_s: must not exceed"),
        ("[delivery]\nmax_validity_s = 0\n", "delivery.max_validity_s: must be greater than 0"),
        (
            "[simulator]\nenabled = false\n[[upstreams]]\nname = 'a'\ntls = true\n"
            "tls_ca_file = 'x.pem'\n",
            "upstreams[0].tls_ca_file: file not found",
        ),
    ],
)
def test_delivery_errors_name_the_key(tmp_path: Path, body: str, problem: str) -> None:
    assert problem in error_of(write(tmp_path, body))


def test_a_secret_of_an_upstream_is_never_echoed(tmp_path: Path) -> None:
    body = "[simulator]\nenabled = false\n[[upstreams]]\nname = 'a'\npassword = 12345\n"
    message = error_of(write(tmp_path, body))
    assert "upstreams[0].password: expected a string (the value is not shown)" in message
    assert "12345" not in message
