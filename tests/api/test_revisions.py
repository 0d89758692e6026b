"""Revisions read on the event loop, when Redis is away."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis as AsyncRedis

from api import revisions


def test_redis_away_is_one_warning_not_one_per_request(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens on port 1: every read fails as it does while Redis is down."""
    async def many() -> list[int | None]:
        away = AsyncRedis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)
        monkeypatch.setattr(revisions, "_client", lambda: away)
        try:
            return [await revisions.read(f"podium:rev:as-{n}") for n in range(50)]
        finally:
            await away.aclose()

    monkeypatch.setattr(revisions, "_unlogged", {"since": float("-inf"), "count": 0},
                        raising=False)
    with caplog.at_level(logging.WARNING, logger=revisions.__name__):
        answers = asyncio.run(many())
    assert answers == [None] * 50  # every request takes the full path
    warnings = [r for r in caplog.records if r.name == revisions.__name__]
    assert len(warnings) == 1
    assert "unreadable" in warnings[0].getMessage()
