"""Live captions: a speaker publishes speech (espeak-ng) over RTMP in real time; the live
worker hears it as it arrives and publishes a WebVTT subtitle rendition in step with the video.

Checked: the multivariant playlist names the subtitle rendition; its playlist follows the
video's numbering; the cues carry the spoken words; a cue starts where its sentence starts in
the video's own audio (X-TIMESTAMP-MAP onto the segments' PTS); the subtitles end with the
stream. Printed (-s): how long after each video segment its WebVTT segment appeared.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import threading
import time
from pathlib import Path

import httpx
import m3u8
import numpy as np

from ingest.live.captioning import MAX_LAG_S, STEP_S
from ingest.live.hls import LiveHls, segment_name, subtitle_segment_name
from ingest.storage import keys
from runtime import handles
from tests.live.conftest import Rtmp, create_stream, status_of
from tests.support.live import publish
from tests.support.speech import bare, speech_track
from tests.support.wait import wait_until

SENTENCES = [
    ("The quarterly results show strong growth in every region.", 4.0),
    ("Our next speaker joins us from the main stage in Berlin.", 11.0),
    ("Thank you all for watching this live broadcast today.", 18.0),
]
SECONDS = 26
CUE_LINE = re.compile(r"^(\d+):(\d\d):(\d\d\.\d\d\d) --> (\d+):(\d\d):(\d\d\.\d\d\d)")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def _seconds(h: str, m: str, s: str) -> float:
    return int(h) * 3600 + int(m) * 60 + float(s)


def _cues(vtt: str) -> tuple[int, list[tuple[float, float, str]]]:
    """(MPEGTS of X-TIMESTAMP-MAP, [(start, end, text)]) of one WebVTT segment."""
    mpegts = int(re.search(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:00:00:00.000", vtt)[1])  # type: ignore[index]
    cues = []
    for block in vtt.split("\n\n"):
        lines = block.strip().splitlines()
        for n, line in enumerate(lines):
            if (match := CUE_LINE.match(line)) is not None:
                cues.append((_seconds(*match.groups()[:3]), _seconds(*match.groups()[3:]),
                             " ".join(lines[n + 1:])))
    return mpegts, cues


class Watcher:
    """A viewer polling the video and subtitle playlists: when each segment first appeared."""

    def __init__(self, base_url: str, stream_id: str) -> None:
        self.base_url, self.stream_id = base_url, stream_id
        self.seen: dict[str, dict[int, float]] = {"video": {}, "subs": {}}
        self.already: set[int] = set()
        """Segments listed at the first look: when they appeared is not known."""
        self.looked: set[str] = set()
        self.uris: dict[str, str] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as viewer:
            while not self.stop.wait(0.25):
                for kind, uri in list(self.uris.items()):
                    resp = viewer.get(uri)
                    if resp.status_code != 200:
                        continue
                    playlist = m3u8.loads(resp.text)
                    now = time.monotonic()
                    seqs = [int(playlist.media_sequence or 0) + n
                            for n in range(len(playlist.segments))]
                    if kind not in self.looked:
                        self.looked.add(kind)
                        self.already.update(seqs)
                    for seq in seqs:
                        self.seen[kind].setdefault(seq, now)


def _sentence_onsets(stream_id: str, hls: LiveHls) -> list[float]:
    """Where speech starts after a pause, in seconds of PTS, in the speaker run's own audio:
    its segments (smallest rendition) decoded with their timestamps kept."""
    storage = handles.storage()
    name = min(hls.renditions, key=lambda r: r.height).name
    first, last = hls.speaker_runs()[0]
    data = b"".join(storage.get_bytes(keys.live_hls_object(stream_id, f"{name}/{segment_name(s)}"))
                    for s in range(first, last + 1))
    pcm = subprocess.run(
        ["ffmpeg", "-hide_banner", "-v", "error", "-copyts", "-f", "mpegts", "-i", "pipe:0",
         "-map", "0:a:0", "-af", "aresample=16000:async=1:first_pts=0", "-ac", "1",
         "-f", "s16le", "pipe:1"], input=data, capture_output=True, check=True, timeout=60).stdout
    frames = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    frames = frames[: frames.size // 160 * 160].reshape(-1, 160)  # 10 ms
    loud = np.sqrt((frames ** 2).mean(axis=1)) > 300
    onsets, quiet = [], 0
    for n, is_loud in enumerate(loud.tolist()):
        if is_loud and quiet >= 100:  # after a second of silence
            onsets.append(n / 100)
        quiet = 0 if is_loud else quiet + 1
    return onsets


def test_live_captions_carry_the_spoken_words_in_step_with_the_video(
        client: httpx.Client, anon: httpx.Client, rtmp: Rtmp, live_worker: Path,
        tmp_path: Path) -> None:
    speech, _placed = speech_track(tmp_path / "speech", SENTENCES, SECONDS)
    body = create_stream(client, reconnect_window_s=1)
    stream_id = str(body["id"])
    assert body["language"] == "en"
    publisher = publish(str(body["ingest"]["rtmp"]), SECONDS, tmp_path / "pub.log",  # type: ignore[index]
                        speech=speech)
    watcher = Watcher(str(client.base_url), stream_id)
    try:
        def master() -> m3u8.M3U8 | None:
            resp = anon.get(f"/live-streams/{stream_id}.m3u8")
            return m3u8.loads(resp.text) if resp.status_code == 200 else None
        playlist = wait_until(master, 40, 0.3, "live playlist")
        [subs] = [m for m in playlist.media if m.type == "SUBTITLES"]
        assert (subs.language, subs.name, subs.default) == ("en", "English", "YES")
        assert all(p.stream_info.subtitles == "subs" for p in playlist.playlists)
        watcher.uris = {"video": playlist.playlists[0].uri, "subs": subs.uri}
        watcher.thread.start()
        assert publisher.wait(SECONDS + 30) == 0
    finally:
        _stop(publisher)
    wait_until(lambda: status_of(client, stream_id) == "ended", 30, 0.3, "ended")
    wait_until(lambda: m3u8.loads(anon.get(subs.uri).text).is_endlist, 90, 0.5,
               "subtitles end with the stream")
    watcher.stop.set()
    watcher.thread.join(10)

    video = m3u8.loads(anon.get(watcher.uris["video"]).text)
    ended = m3u8.loads(anon.get(subs.uri).text)
    assert ended.media_sequence == video.media_sequence  # segment for segment
    assert [s.duration for s in ended.segments] == [s.duration for s in video.segments]
    assert [s.discontinuity for s in ended.segments] == [s.discontinuity for s in video.segments]
    assert all(httpx.get(s.uri, timeout=10).status_code == 200 for s in ended.segments)

    storage = handles.storage()
    hls = LiveHls.model_validate_json(storage.get_bytes(keys.live_state(stream_id)))
    assert hls.captions is not None and hls.captions.next_seq == hls.next_seq
    heard: dict[tuple[float, float, str], None] = {}
    for seq in range(hls.captions.first_seq, hls.next_seq):
        vtt = storage.get_bytes(keys.live_hls_object(
            stream_id, f"subs-en/{subtitle_segment_name(seq)}")).decode()
        mpegts, cues = _cues(vtt)
        for start, end, text in cues:
            heard[(round(start + mpegts / 90_000, 3), round(end + mpegts / 90_000, 3), text)] = None
    said = bare(" ".join(text for _s, _e, text in heard))
    print("\nlive captions:\n" + "\n".join(f"{s:8.3f} {e:8.3f} {t}" for s, e, t in heard))
    for sentence, _start in SENTENCES[1:]:  # the first may begin before the stream does
        words = bare(sentence).split()
        found = [w for w in words if w in said.split()]
        assert len(found) >= 0.7 * len(words), (sentence, said)

    # each sentence begins where a cue begins, on the video's own clock
    starts = sorted(start for start, _e, _t in heard)
    onsets = _sentence_onsets(stream_id, hls)
    assert len(onsets) >= 2, onsets
    for onset in onsets[-2:]:
        nearest = min(starts, key=lambda s: abs(s - onset))
        print(f"sentence heard from {onset:.2f} s (PTS), its cue from {nearest:.2f} s")
        assert abs(nearest - onset) < 1.0, (onset, starts)

    speaker = range(*next((a, b + 1) for a, b in hls.speaker_runs()))
    delays = [watcher.seen["subs"][seq] - watcher.seen["video"][seq] for seq in speaker
              if seq in watcher.seen["subs"] and seq in watcher.seen["video"]
              and seq not in watcher.already]
    assert delays, watcher.seen
    print(f"caption delay behind the video, per 2 s segment ({len(delays)}): "
          f"median {statistics.median(delays):.1f} s, max {max(delays):.1f} s "
          f"(window step {STEP_S:.0f} s): {[round(d, 1) for d in delays]}")
    assert statistics.median(delays) < MAX_LAG_S + STEP_S, delays
