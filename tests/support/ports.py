"""Free loopback ports for the services a test run (or a bench) starts itself."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def weed_port() -> int:
    """An S3 port whose whole shifted port family (and gRPC +10000) is free. The search starts
    at a random family, so test runs started side by side do not pick the same one."""
    from cli import services

    families = list(range(18333, 30000, 97))
    start = random.randrange(len(families))
    for s3_port in families[start:] + families[:start]:
        offset = s3_port - services.DEFAULT_S3_PORT
        family = [s3_port, *(p + offset for p in services._WEED_PORTS.values())]
        family += [p + 10000 for p in family]
        if all(p < 65536 and not services.port_open("127.0.0.1", p) for p in family):
            return s3_port
    raise RuntimeError("no free port family for SeaweedFS")
