"""schemathesis against the OpenAPI description the running gateway serves: no 5xx.

Property-based: for every operation of the served description it generates requests,
valid ones and invalid ones (paths, queries, bodies), sends them over real HTTP with an
admin token, and checks that no answer is a server error and that every status, body and
content type is one the description documents. The schema's operations are driven with
``as_strategy`` and hypothesis directly: schemathesis' own pytest collection does not
run on this pytest version.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.api.conftest import LiveApi, live_gateway

#: Cases per operation and generation mode: each operation x 2 modes x this many.
EXAMPLES = 30


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """One gateway for every generated case (its ledger fills with what they write)."""
    with live_gateway(Path(tmp_path_factory.mktemp("schemathesis"))) as running:
        yield running


def _operations(live: LiveApi) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_answers_as_described(live: LiveApi, mode: GenerationMode) -> None:
    operations = _operations(live)
    assert len(operations) >= 14, [op.label for op in operations]
    headers = {"Authorization": f"Bearer {live.admin_token}"}
    for operation in operations:
        has_input = len(operation.path_parameters) + len(operation.query) + len(operation.body)
        if mode is GenerationMode.NEGATIVE and not has_input:
            continue  # nothing to make invalid (/healthz, /sms ...)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        call()
