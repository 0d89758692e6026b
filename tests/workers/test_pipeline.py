"""Enqueueing against real Redis: callers racing to start the same asset make one job."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import pytest
from rq import Queue

from config import get_settings
from ingest.assets.models import new_asset_id
from runtime import handles
from tests.conftest import Stack
from workers import pipeline

CALLERS = 8
ROUNDS = 5


@pytest.fixture
def own_prefix(stack: Stack) -> Iterator[str]:
    """Queues and keys of this test only: the session's worker never takes these jobs."""
    settings = get_settings()
    old = settings.queue_prefix
    settings.queue_prefix = prefix = f"{old}race{secrets.token_hex(2)}"
    yield prefix
    conn = handles.redis_connection()
    Queue(pipeline.media_queue_name(), connection=conn).empty()
    for key in conn.scan_iter(match=f"{prefix}*"):
        conn.delete(key)
    settings.queue_prefix = old


def start_at_once(asset_id: str) -> list[str]:
    """``CALLERS`` threads released together, each calling pipeline.start; the job ids."""
    conn = handles.redis_connection()
    barrier = threading.Barrier(CALLERS)
    job_ids: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait(10)
            job_ids.append(pipeline.start(conn, asset_id).id)
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return job_ids


def test_concurrent_starts_make_exactly_one_job(own_prefix: str) -> None:
    queue = Queue(pipeline.media_queue_name(), connection=handles.redis_connection())
    for _ in range(ROUNDS):
        asset_id = new_asset_id()
        jid = pipeline.job_id("probe", asset_id)
        assert start_at_once(asset_id) == [jid] * CALLERS
        assert queue.job_ids.count(jid) == 1, queue.job_ids
