"""The operator's view over the real stack: `/metrics` parsed with prometheus_client's own
parser, moving when a request is answered and a job runs; request ids from the API into the
worker's JSON log lines of that job."""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from api.main import create_app
from api.metrics import exposition
from cli.status import render
from config import get_settings
from runtime import handles, logs
from tests.conftest import ROOT, Stack, wait_for
from tests.support.media import make_clip
from tests.support.wait import wait_until
from workers import overview, pipeline


def scrape(client: httpx.Client) -> list[Sample]:
    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.text
    return samples(resp.text)


def samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(found: list[Sample], name: str, **labels: str) -> float:
    """The sample's value; 0 when the series does not exist yet."""
    for s in found:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


def test_every_metric_the_dashboard_queries_is_exposed(anon: httpx.Client) -> None:
    text = anon.get("/metrics").text
    exposed = set()
    for family in text_string_to_metric_families(text):  # families without samples too
        exposed |= {family.name, f"{family.name}_total"} | {s.name for s in family.samples}
        if family.type == "histogram":
            exposed |= {f"{family.name}_{part}" for part in ("bucket", "sum", "count")}
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"podium_[a-z_]+", target["expr"])}
    assert queried and queried <= exposed, queried - exposed


def test_http_latency_per_route_template_and_request_ids(anon: httpx.Client) -> None:
    before = scrape(anon)
    asset_id = f"nosuch{secrets.token_hex(4)}"
    assert anon.get(f"/play/{asset_id}.m3u8").status_code == 404
    assert anon.get("/healthz").status_code == 200
    after = scrape(anon)
    route = "/play/{asset_id}.m3u8"
    count = "podium_http_request_duration_seconds_count"
    assert value(after, count, method="GET", route=route) == \
        value(before, count, method="GET", route=route) + 1
    assert value(after, "podium_http_requests_total", method="GET", route=route,
                 status="404") >= 1
    assert value(after, count, method="GET", route="/healthz") >= \
        value(before, count, method="GET", route="/healthz") + 1
    # a route template, never the raw path: ids do not turn into label values
    assert not [s for s in after if any(asset_id in v for v in s.labels.values())]
    buckets = [s for s in after if s.name == "podium_http_request_duration_seconds_bucket"
               and s.labels["route"] == route]
    assert buckets and buckets[-1].labels["le"] == "+Inf"
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)  # cumulative

    mine = anon.get("/healthz", headers={"X-Request-ID": "rq-test.42"})
    assert mine.headers["x-request-id"] == "rq-test.42"
    made = anon.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and made != anon.get("/healthz").headers["x-request-id"]
    forged = anon.get("/healthz", headers={"X-Request-ID": "a b\"}"})
    assert forged.headers["x-request-id"] != "a b\"}" and len(forged.headers["x-request-id"]) == 32


@dataclass
class Upload:
    asset_id: str
    request_id: str
    size: int
    before: list[Sample]
    """The metrics just before the upload."""


@pytest.fixture(scope="module")
def uploaded(api_server: str, stack: Stack, worker: Path, media_dir: Path) -> Upload:
    """One 4 s clip (one channel segment) uploaded with a request id of ours, ready."""
    clip = make_clip(media_dir / "metrics-clip.mp4", width=320, height=180, seconds=4)
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as client:
        before = scrape(client)
        request_id = f"ops-{secrets.token_hex(6)}"
        with clip.open("rb") as fh:
            resp = client.post("/v1/assets", data={"captions": "none"},
                               files={"file": (clip.name, fh)},
                               headers={"X-Request-ID": request_id})
        assert resp.status_code == 202, resp.text
        assert resp.headers["x-request-id"] == request_id
        asset_id = resp.json()["id"]
        assert wait_for(client, asset_id)["status"] == "ready"
    return Upload(asset_id, request_id, clip.stat().st_size, before)


def test_a_job_moves_the_job_metrics_and_logs_its_request_id(
        client: httpx.Client, worker: Path, uploaded: Upload) -> None:
    before, request_id, asset_id = uploaded.before, uploaded.request_id, uploaded.asset_id

    def moved() -> list[Sample] | None:
        now = scrape(client)
        jobs = "podium_job_duration_seconds_count"
        done = all(value(now, jobs, stage=stage, outcome=outcome) >
                   value(before, jobs, stage=stage, outcome=outcome)
                   for stage, outcome in (("probe", "probed"), ("transcode", "transcoded"),
                                          ("publish", "ready")))
        return now if done else None

    after = wait_until(moved, timeout=20, interval=0.3, what="job metrics of the upload")
    speed = "podium_transcode_speed_ratio"
    assert value(after, f"{speed}_count") == value(before, f"{speed}_count") + 1
    ratio = value(after, f"{speed}_sum") - value(before, f"{speed}_sum")
    assert 0.05 < ratio < 500, ratio  # some multiple of real time
    received = value(after, "podium_upload_bytes_total", route="/v1/assets") - \
        value(before, "podium_upload_bytes_total", route="/v1/assets")
    assert received >= uploaded.size  # the file and its multipart framing

    def job_lines() -> list[dict[str, str]]:
        lines = []
        for raw in worker.read_text(errors="replace").splitlines():
            if request_id in raw and raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines

    lines = wait_until(lambda: [ln for ln in job_lines() if ln.get("job_id", "").startswith(
        "publish-")], timeout=20, what="the publish job's log lines")
    every = job_lines()
    assert {ln["request_id"] for ln in every} == {request_id}
    assert {ln["asset_id"] for ln in every} == {asset_id}  # every line of its jobs names it
    assert {ln["job_id"].split("-")[0] for ln in every} >= {"probe", "transcode", "publish"}
    assert all({"ts", "level", "logger", "message"} <= set(ln) for ln in lines)


def test_viewers_of_a_channel_on_air(client: httpx.Client, anon: httpx.Client,
                                     uploaded: Upload) -> None:
    channel = client.post("/v1/channels", json={"name": "Metrics stage", "mode": "loop",
                                                "slate_asset_id": uploaded.asset_id}).json()
    cid = channel["id"]
    assert client.post(f"/v1/channels/{cid}/items",
                       json={"asset_id": uploaded.asset_id}).status_code == 201
    assert client.post(f"/v1/channels/{cid}/start").status_code == 200
    on_air = scrape(anon)
    assert value(on_air, "podium_channel_viewers", channel=cid) == 0  # on air, nobody watching
    assert value(on_air, "podium_channels", state="on_air") >= 1
    for agent in ("player-a", "player-b", "player-a"):  # two clients, one of them twice
        resp = anon.get(f"/live/{cid}.m3u8", headers={"User-Agent": agent})
        assert resp.status_code == 200, resp.text
    assert value(scrape(anon), "podium_channel_viewers", channel=cid) == 2
    text, _ = render()
    assert f"on air  {cid}  Metrics stage  (2 viewers" in text
    assert client.post(f"/v1/channels/{cid}/stop").status_code == 200


def test_live_streams_by_state(client: httpx.Client) -> None:
    before = scrape(client)
    resp = client.post("/v1/live-streams", json={"title": "Remote keynote", "speaker": "Ada"})
    assert resp.status_code == 201, resp.text
    after = scrape(client)
    assert value(after, "podium_live_streams", state="idle") == \
        value(before, "podium_live_streams", state="idle") + 1
    assert value(after, "podium_live_streams", state="active") == \
        value(before, "podium_live_streams", state="active")
    assert client.delete(f"/v1/live-streams/{resp.json()['id']}").status_code == 200
    assert value(scrape(client), "podium_live_streams", state="ended") == \
        value(before, "podium_live_streams", state="ended") + 1


class _Lines(logging.Handler):
    """Keeps the JSON lines of the records it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(logs.ContextFilter())
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_an_unhandled_error_is_counted_and_logged_with_its_request_id(stack: Stack) -> None:
    app = create_app()

    @app.get("/boom-for-metrics/{asset_id}")
    def boom(asset_id: str) -> None:
        raise RuntimeError("a bug")

    seen = _Lines()
    logging.getLogger("api.errors").addHandler(seen)
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            resp = c.get("/boom-for-metrics/as-0123", headers={"X-Request-ID": "boom-1"})
    finally:
        logging.getLogger("api.errors").removeHandler(seen)
    assert resp.status_code == 500 and resp.json()["error"]["code"] == "internal_error"
    assert resp.headers["x-request-id"] == "boom-1"
    [line] = [ln for ln in seen.lines if ln["message"] == "unhandled error"]
    assert (line["request_id"], line["asset_id"]) == ("boom-1", "as-0123")
    assert "RuntimeError: a bug" in line["exc"]
    found = samples(exposition(handles.redis_connection()).decode())
    assert value(found, "podium_http_requests_total", method="GET",
                 route="/boom-for-metrics/{asset_id}", status="500") == 1


@pytest.fixture
def idle_prefix(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Queues no worker serves: a job put there waits."""
    prefix = f"podiumidle{secrets.token_hex(3)}"
    monkeypatch.setenv("PODIUM_QUEUE_PREFIX", prefix)
    get_settings.cache_clear()
    yield prefix
    monkeypatch.undo()
    get_settings.cache_clear()


def test_queue_depth_and_oldest_waiting_job(idle_prefix: str) -> None:
    conn = handles.redis_connection()
    media = pipeline.media_queue_name()
    empty = samples(exposition(conn).decode())
    assert value(empty, "podium_queue_jobs", queue=media) == 0
    assert value(empty, "podium_queue_oldest_job_age_seconds", queue=media) == 0
    ids = [f"waiting{secrets.token_hex(4)}" for _ in range(2)]
    jobs = [pipeline.start(conn, asset_id) for asset_id in ids]
    [state] = [q for q in overview.queues(conn) if q.name == media]
    assert state.waiting == 2 and state.oldest_age_s is not None

    def aged() -> list[Sample] | None:
        found = samples(exposition(conn).decode())
        return found if value(found, "podium_queue_oldest_job_age_seconds",
                              queue=media) >= 1 else None

    found = wait_until(aged, timeout=5, interval=0.2, what="the oldest job's age")
    assert value(found, "podium_queue_jobs", queue=media) == 2
    for job in jobs:
        job.cancel()
        job.delete()
    assert [q.waiting for q in overview.queues(conn) if q.name == media] == [0]
