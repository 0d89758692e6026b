"""SRT ingest: one listener per open live stream, relaying to the RTMP server.

Each stream with an SRT port gets a thread that runs ``commands.srt_relay_command`` again and
again: the listener waits for the speaker, copies their MPEG-TS to
`rtmp://…/live/{key}` (where on_publish checks the key like any RTMP publisher), and exits when
they leave or stall; then it listens again. Streams that end lose their thread. `podium srt`
runs ``SrtRelays.run`` (and `podium up` supervises that process).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from ingest.errors import FfmpegFailed, FfmpegTimeout, PodiumError
from ingest.live.models import LiveStatus, LiveStream
from ingest.live.store import LiveStreamStore
from ingest.media import commands, ffmpeg

log = logging.getLogger(__name__)
SCAN_S = 1.0
RELAY_TIMEOUT_S = 24 * 3600.0
RESTART_S = 0.3


@dataclass
class _Relay:
    stream_id: str
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class SrtRelays:
    def __init__(self, store: LiveStreamStore, bind: str, rtmp_base: str, nice: int) -> None:
        self.store = store
        self.bind = bind
        self.rtmp_base = rtmp_base
        self.nice = nice
        self.relays: dict[str, _Relay] = {}

    def scan(self) -> None:
        """Start a relay for each open stream with a port; stop those of ended streams."""
        open_streams = {s.id: s for s in self.store.list()
                        if s.status != LiveStatus.ENDED and s.srt_port is not None}
        for stream_id, relay in list(self.relays.items()):
            if stream_id not in open_streams:
                relay.stop.set()
                del self.relays[stream_id]
        for stream in open_streams.values():
            if stream.id not in self.relays:
                relay = _Relay(stream.id)
                relay.thread = threading.Thread(target=self._serve, args=(stream, relay.stop),
                                                name=f"srt-{stream.id}", daemon=True)
                self.relays[stream.id] = relay
                relay.thread.start()

    def _serve(self, stream: LiveStream, stop: threading.Event) -> None:
        args = commands.srt_relay_command(f"{self.bind}:{stream.srt_port}", stream.stream_key,
                                          f"{self.rtmp_base}/{stream.stream_key}")
        log.info("srt listener for %s on %s:%s", stream.id, self.bind, stream.srt_port)
        while not stop.is_set():
            try:
                ffmpeg.run(args, timeout_s=RELAY_TIMEOUT_S, nice=self.nice, stop=stop)
            except (FfmpegFailed, FfmpegTimeout) as exc:
                log.info("srt relay of %s ended: %s", stream.id, exc.code)
            stop.wait(RESTART_S)

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                self.scan()
            except PodiumError as exc:
                log.warning("srt: could not list live streams: %s", exc)
            stopping.wait(SCAN_S)
        for relay in self.relays.values():
            relay.stop.set()
        deadline = time.monotonic() + 10
        for relay in self.relays.values():
            if relay.thread is not None:
                relay.thread.join(max(0.1, deadline - time.monotonic()))
