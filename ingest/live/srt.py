"""SRT ingest: one listener per open live stream, relaying to the RTMP server.

Each stream with an SRT port gets a thread that runs ``commands.srt_relay_command`` again and
again: the listener waits for the speaker, copies their MPEG-TS to
`rtmp://…/live/{key}` (where on_publish checks the key like any RTMP publisher), and exits when
they leave or stall; then it listens again. Streams that end lose their thread. `podium srt`
runs ``SrtRelays.run`` (and `podium up` supervises that process).

The key (the listener's passphrase, the RTMP stream name) is never on the relay's command line,
which every user of the host can read: ffmpeg reads it from two files in a folder of the
relay's own (0700, files 0600), removed when the relay stops.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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
        folder = Path(tempfile.mkdtemp(prefix=f"podium-srt-{stream.id}-"))  # 0700
        try:
            listing, preset = commands.srt_relay_files(f"{self.bind}:{stream.srt_port}",
                                                       stream.stream_key, stream.stream_key)
            _write_private(folder / "listener.ffconcat", listing)
            _write_private(folder / "publish.ffpreset", preset)
            args = commands.srt_relay_command(folder / "listener.ffconcat",
                                              folder / "publish.ffpreset", self.rtmp_base)
            log.info("srt listener for %s on %s:%s", stream.id, self.bind, stream.srt_port)
            while not stop.is_set():
                try:
                    ffmpeg.run(args, timeout_s=RELAY_TIMEOUT_S, nice=self.nice, stop=stop)
                except (FfmpegFailed, FfmpegTimeout) as exc:
                    log.info("srt relay of %s ended: %s", stream.id, exc.code)
                stop.wait(RESTART_S)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

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


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
