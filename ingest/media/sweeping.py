"""A background thread that sweeps an encoder's output directory while ffmpeg writes it.

The VOD uploader and the live shipper both move finished segments to the bucket as they
appear: `sweep()` is theirs, the thread's life is this class's. An error on the thread is kept
and raised on the job's thread by `finish()` (or earlier by `raise_if_failed()`).
"""

from __future__ import annotations

import threading


class Sweeper:
    """Calls ``sweep()`` every ``poll_s`` from ``start()`` until ``finish()``, which stops the
    thread, raises what it failed with, and sweeps once more for what ffmpeg wrote last."""

    def __init__(self, name: str, poll_s: float) -> None:
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def sweep(self) -> object:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self._poll_s):
                self.sweep()
        except BaseException as exc:  # re-raised on the job's thread
            self._error = exc

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.raise_if_failed()
        self.sweep()
