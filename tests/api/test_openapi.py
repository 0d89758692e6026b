"""The OpenAPI document tells the truth (issue 6, section 6): schemathesis generates requests for
every operation from /openapi.json and sends them to the live API (uvicorn on a loopback port,
real Redis and SeaweedFS). Every answer must be documented: no server error, no undocumented
status, no body or content type that breaks the schema."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from api.responses import PRODUCER
from tests.conftest import Stack

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          content_type_conformance]
EXAMPLES = 20
"""Per operation: enough to reach every documented branch of these small routes, and the whole
run stays well under two minutes."""


# SubRip caption uploads are text, like the WebVTT ones.
schemathesis.serializer.alias("application/x-subrip", "text/plain")

# The document the app serves at /openapi.json (test_served_document_is_this_one checks it);
# requests go to the live API over HTTP. (schemathesis.pytest.from_fixture, which would load it
# from the server, does not run under pytest 9.)
schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck), print_blob=True)
def test_every_answer_is_documented(case: Any, stack: Stack, api_server: str) -> None:
    # With the producer's key, so generated requests get past auth into the routes themselves
    # (401/403 are checked for every producer route below).
    case.call_and_validate(base_url=api_server, checks=CHECKS, timeout=30,
                           headers={"Authorization": f"Bearer {stack.api_key}"})


def test_served_document_is_this_one(api_server: str) -> None:
    served = httpx.get(f"{api_server}/openapi.json", timeout=10).json()
    assert served == create_app().openapi()


def _operations(api_server: str) -> list[tuple[str, str, dict[str, Any]]]:
    spec = httpx.get(f"{api_server}/openapi.json", timeout=10).json()
    return [(method.upper(), path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items()]


def test_every_error_status_has_the_error_schema(api_server: str) -> None:
    for method, path, op in _operations(api_server):
        for status, resp in op["responses"].items():
            if int(status) < 400 or path == "/readyz":  # /readyz: its own body, 200 or 503
                continue
            if set(resp["content"]) == {"text/html"}:  # a page's error page (speaker page)
                continue
            ref = resp["content"]["application/json"]["schema"].get("$ref", "")
            assert ref.endswith("/ErrorBody"), (method, path, status, resp)


def test_producer_routes_document_401_403_and_answer_them(api_server: str) -> None:
    producer_ops = []
    for method, path, op in _operations(api_server):
        names = {p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"}
        if "authorization" in names and not any(p["in"] == "query" and p["name"] == "token"
                                                for p in op.get("parameters", [])):
            producer_ops.append((method, path))
            assert set(map(str, PRODUCER)) <= set(op["responses"]), (method, path)
    assert ("POST", "/v1/assets") in producer_ops and ("GET", "/v1/glossary") in producer_ops
    with httpx.Client(base_url=api_server, timeout=30) as c:
        for method, path in producer_ops:
            url = path.replace("{asset_id}", "as-0123456789abcdef").replace("{lang}", "en")
            url = url.replace("{webhook_id}", "wh-0123456789abcdef")
            assert c.request(method, url).status_code == 401, (method, path)
            wrong = c.request(method, url, headers={"Authorization": "Bearer not-the-key"})
            assert wrong.status_code == 403, (method, path)
