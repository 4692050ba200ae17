"""Schemathesis over the service's own OpenAPI, against the running service.

Two properties for every operation, with generated requests that fit the schema and requests
that do not (a bounded number of each): no response is a server error, and every error answers
``{"error": code, "detail": text}``. Each runs anonymously and with the admin token, so the
admin routes are fuzzed past their door too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import FlakyFailure, Unsatisfiable
from schemathesis import GenerationMode

from tests.fuzz.conftest import ADMIN_TOKEN, LiveService

EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 20}
# A full reindex re-embeds the whole sample KB: few examples, time to finish.
SLOW = {"POST /api/kb/reindex": (3, 300)}
CALLERS = {"anonymous": {}, "admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"}}


def problem(response: Any) -> str | None:
    """What is wrong with one response, or None."""
    where = f"{response.request.method} {response.request.url} → {response.status_code}"
    if response.status_code >= 500:
        return f"{where}: {response.text[:300]}"
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{where} is not JSON: {response.text[:200]!r}"
    if not (isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]
            and isinstance(body.get("detail"), str) and body["detail"]):
        return f"{where} is not {{error, detail}}: {str(body)[:200]}"
    return None


@pytest.fixture(scope="module")
def api_schema(live_service: LiveService) -> Any:
    return schemathesis.openapi.from_url(f"{live_service.url}/openapi.json")


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
def test_no_server_error_and_every_error_has_one_shape(
    api_schema: Any, live_service: LiveService, mode: GenerationMode, caller: str
) -> None:
    problems: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    calls = 0
    statuses: dict[int, int] = {}
    for operation in operations:
        examples, timeout = SLOW.get(operation.label, (EXAMPLES[mode], 30))

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=live_service.url, headers=CALLERS[caller],
                                 timeout=timeout)  # noqa: B023 (run() is called at once)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            found = problem(response)
            assert found is None, found

        try:
            run()
        except AssertionError as exc:  # the first (shrunk) failure of this operation
            problems[operation.label] = str(exc).splitlines()[0]
        except FlakyFailure as exc:  # failed once, then not on replay: still a failure
            problems[operation.label] = str(exc.exceptions[0]).splitlines()[0]
        except Unsatisfiable:  # nothing to get wrong (no parameters, no body): nothing to send
            assert mode is GenerationMode.NEGATIVE, operation.label
    assert calls >= len(operations)
    assert 429 not in statuses, statuses  # every request reached its route
    if mode is GenerationMode.POSITIVE and caller == "admin":  # fitting requests get through
        assert sum(n for status, n in statuses.items() if status < 400) > calls // 3, statuses
    assert not problems, "\n".join(f"{op}: {what}" for op, what in problems.items())
