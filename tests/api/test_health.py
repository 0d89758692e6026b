"""Operations endpoints against the real stack: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import re

import httpx

from workers import pipeline


def test_healthz_answers_without_credentials(anon: httpx.Client) -> None:
    resp = anon.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_readyz_checks_redis_storage_and_ffmpeg(anon: httpx.Client) -> None:
    resp = anon.get("/readyz")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "ready",
                           "checks": {"redis": True, "storage": True, "ffmpeg": True}}


def test_metrics_are_prometheus_text(anon: httpx.Client) -> None:
    assert anon.get("/healthz").status_code == 200  # at least one counted request
    resp = anon.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert "# TYPE podium_http_requests_total counter" in text
    assert re.search(r'^podium_http_requests_total\{method="GET",route="/healthz",status="200"\} '
                     r"[1-9][0-9.e+]*$", text, re.M), text
    assert "# TYPE podium_queue_jobs gauge" in text
    media = pipeline.media_queue_name()
    assert re.search(rf'^podium_queue_jobs\{{queue="{re.escape(media)}"\}} [0-9.e+]+$',
                     text, re.M), text


def test_unknown_route_is_a_json_404(anon: httpx.Client) -> None:
    resp = anon.get("/no-such-thing")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


def test_docs_page_needs_no_cdn(anon: httpx.Client) -> None:
    page = anon.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "/static/swagger-ui/swagger-ui-bundle.js" in page.text
    script = anon.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert anon.get("/static/swagger-ui/swagger-ui.css").status_code == 200
    assert anon.get("/static/swagger-ui/package.json").status_code == 404
    assert anon.get("/static/swagger-ui/..%2F..%2Fpackage.json").status_code == 404
    assert anon.get("/openapi.json").json()["info"]["title"] == "Podium"
