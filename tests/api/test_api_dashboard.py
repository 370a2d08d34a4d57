"""deploy/grafana/smppgw.json: valid JSON whose queries name only metrics the gateway has."""

from __future__ import annotations

import json
import re

from gateway.observability.metrics import Metrics
from tests.integration.harness import REPO

_SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def test_every_panel_queries_metrics_that_exist() -> None:
    dashboard = json.loads((REPO / "deploy" / "grafana" / "smppgw.json").read_text())
    known = {m.name for m in Metrics().registry.collect()}
    assert dashboard["uid"] == "smppgw" and dashboard["panels"]
    queried: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["title"] and panel["targets"], panel
        for target in panel["targets"]:
            for name in re.findall(r"\bsmppgw_[a-z_]+", target["expr"]):
                base = next((name.removesuffix(s) for s in _SUFFIXES if name.endswith(s)), name)
                assert base in known, f"{panel['title']}: {name} is no metric of the gateway"
                queried.add(base)
    # Every metric the gateway exposes is on the dashboard.
    assert known - queried == set()
