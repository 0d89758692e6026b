"""`podium status` against the test stack: stores, queues, workers, channels, live streams."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.conftest import Stack
from tests.support.wait import wait_until
from workers import pipeline


def test_status_shows_the_stack_at_a_glance(stack: Stack, worker: Path) -> None:
    def registered() -> str | None:
        result = CliRunner().invoke(app, ["status"])
        return result.output if result.exit_code == 0 else None

    out = wait_until(registered, timeout=30, interval=0.5, what="a healthy status")
    assert "redis ok" in out and "storage ok" in out and "ffmpeg ok" in out
    for name in [*pipeline.queue_names(), pipeline.live_queue_name()]:
        assert name in out
    assert re.search(r"^workers    [1-9][0-9]* registered", out, re.M), out
    assert "channels   " in out and "live       " in out and "0 active" in out
