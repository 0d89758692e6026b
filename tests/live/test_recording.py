"""When a live stream ends, its recording (every session, slate left out) becomes an asset."""

from __future__ import annotations

from pathlib import Path

import httpx

from ingest.live.hls import LiveHls
from ingest.storage import keys
from runtime import handles
from tests.conftest import wait_for
from tests.live.conftest import Rtmp, create_stream, status_of
from tests.support.live import publish
from tests.support.wait import wait_until

SESSION_S = 10
"""Each of the two publishing sessions."""


def test_the_recording_covers_both_sessions_and_becomes_an_asset(
        client: httpx.Client, rtmp: Rtmp, live_worker: Path, worker: Path,
        tmp_path: Path) -> None:
    body = create_stream(client, reconnect_window_s=60)
    url = str(body["ingest"]["rtmp"])  # type: ignore[index]
    first = publish(url, SESSION_S, tmp_path / "first.log")
    assert first.wait(30) == 0
    wait_until(lambda: status_of(client, body["id"]) == "disconnected", 15, 0.2, "away")
    second = publish(url, SESSION_S, tmp_path / "second.log")
    assert second.wait(30) == 0
    wait_until(lambda: status_of(client, body["id"]) == "disconnected", 15, 0.2, "away again")
    assert client.delete(f"/v1/live-streams/{body['id']}").json()["status"] == "ended"

    asset_id = wait_until(lambda: client.get(f"/v1/live-streams/{body['id']}").json()
                          ["asset_id"], 90, 0.5, "recording asset")
    asset = wait_for(client, str(asset_id), timeout_s=240)
    assert asset["status"] == "ready", asset
    hls = LiveHls.model_validate_json(
        handles.storage().get_bytes(keys.live_state(str(body["id"]))))
    spoken = sum(s.duration for s in hls.segments if not s.slate)
    assert len(hls.speaker_runs()) == 2
    duration = float(asset["duration_s"])  # type: ignore[arg-type]
    assert abs(duration - spoken) < 1.5, (duration, spoken)
    # two sessions, less the start of each: what arrives before the transcoder has probed and
    # connected (1-3 s a session idle, up to 9 s seen at load average 20) is live only to nginx
    assert 4 <= duration <= 2 * SESSION_S + 1, duration
