"""A TCP proxy that can drop a connection after a given number of bytes, as a flaky hotel
Wi-Fi would: the client's request is cut mid-body and the server sees a reset."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class CuttingProxy:
    """Forwards 127.0.0.1:``port`` to ``target_port``. ``cut_after(n)`` arms a one-shot cut:
    the connection carrying byte n+1 (client to server, counted from the call) is reset."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._budget: int | None = None
        self._lock = threading.Lock()
        self.cuts = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(self, n: int) -> None:
        with self._lock:
            self._budget = n

    def close(self) -> None:
        self._stop = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False),
                             daemon=True).start()

    def _take(self, size: int) -> int | None:
        """How much of ``size`` bytes may pass before the cut; None: all (no cut now)."""
        with self._lock:
            if self._budget is None:
                return None
            if size <= self._budget:
                self._budget -= size
                return None
            allowed, self._budget = self._budget, None
            self.cuts += 1
            return allowed

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                allowed = self._take(len(data)) if upstream else None
                if allowed is not None:
                    dst.sendall(data[:allowed])
                    _reset(src)
                    _reset(dst)
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def _reset(sock: socket.socket) -> None:
    """Drop the connection now, with RST (SO_LINGER 0) rather than a polite close. shutdown()
    first: a close() alone leaves the socket open while the other direction's thread still
    waits in recv() on it."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


@contextmanager
def cutting_proxy(target_port: int) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(target_port)
    try:
        yield proxy
    finally:
        proxy.close()
