"""SRT ingest: the stream's own listener (encrypted with its key) relays to the RTMP server,
so an SRT speaker goes through the same checks and the same live HLS as an RTMP one; and no
process but the speaker's own shows the key on its command line (`ps`)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live.conftest import Rtmp, create_stream, status_of
from tests.support.live import publish
from tests.support.procs import command_lines_naming
from tests.support.wait import wait_until


def test_publish_over_srt(client: httpx.Client, anon: httpx.Client, rtmp: Rtmp,
                          live_worker: Path, srt_relays: Path, tmp_path: Path) -> None:
    body = create_stream(client, reconnect_window_s=0)
    srt = str(body["ingest"]["srt"])  # type: ignore[index]
    assert srt.startswith("srt://127.0.0.1:") and f"passphrase={body['stream_key']}" in srt
    # a caller without the passphrase is refused by the listener (the key encrypts the link)
    wrong = publish(srt.split("?")[0] + "?passphrase=not-the-key-at-all", 8,
                    tmp_path / "wrong.log")
    assert wrong.wait(30) != 0
    assert status_of(client, body["id"]) == "idle"

    publisher = publish(srt, 90, tmp_path / "pub.log")
    try:
        wait_until(lambda: status_of(client, body["id"]) == "active", 20, 0.3, "active over SRT")
        wait_until(lambda: anon.get(f"/live-streams/{body['id']}.m3u8").status_code == 200,
                   40, 0.3, "live playlist from SRT")
        # the relay listens (ffmpeg), publishes to nginx, a worker transcodes (ffmpeg): none
        # of them names the key where any user of the host can read it
        assert command_lines_naming(str(body["stream_key"]), exclude={publisher.pid}) == []
        assert command_lines_naming(f"rtmp://127.0.0.1:{rtmp.port}/live/{body['id']}")
        # a second caller with the right passphrase finds no listener: the stream has its one
        second = publish(srt, 8, tmp_path / "second.log")
        assert second.wait(60) != 0
        assert publisher.poll() is None and status_of(client, body["id"]) == "active"
    finally:
        publisher.terminate()
        publisher.wait(10)
        client.delete(f"/v1/live-streams/{body['id']}")
