"""The API against its own OpenAPI schema: schemathesis generates requests for every
operation from the schema (valid and odd values alike) and none may get a server error.

Runs in process on a shop with data (orders, an exception, stock), with an admin token so
every operation is reached past authentication; a small number of examples per operation keeps
it inside the suite's time budget (raise ``MAX_EXAMPLES`` locally to search harder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from retail_shop import open_shop
from retailhub.adapters.storage.tokens_repo import create_token
from retailhub.entrypoints.api.app import create_app

MAX_EXAMPLES = 25


def test_no_operation_answers_with_a_server_error(tmp_path: Path) -> None:
    shop = open_shop(f"sqlite:///{tmp_path / 'schema.db'}")
    order = shop.order([shop.line("SHIRT-M"), shop.line("MYSTERY-HAT")])
    shop.deliver("orders/create", order)  # blocks on an unknown SKU: an exception to act on
    shop.deliver("orders/create", shop.order([shop.line("TEE-L")]))
    shop.process()
    with shop.hub.engine.begin() as conn:
        token = create_token(conn, "schemathesis", "admin", (), shop.hub.clock())
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(shop.hub, run_worker=False))
    auth = {"Authorization": f"Bearer {token}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        checked.append(f"{operation.method.upper()} {operation.path}")

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def no_server_error(case: Any) -> None:
            response = case.call(headers=auth)
            where = (case.method, case.formatted_path, response.status_code)
            assert response.status_code < 500, (*where, response.text[:500])
            if response.status_code >= 400:  # every error is RFC 9457 problem details
                kind = response.headers.get("content-type", [""])[0]  # a list per header
                assert kind.startswith("application/problem+json"), (*where, response.text[:300])

        no_server_error()
    assert len(checked) >= 20, checked  # every operation of the schema was exercised
    shop.hub.engine.dispose()
