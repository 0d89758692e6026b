"""A dead worker's started jobs go back to the front of their queue: at once when its pid is
known (podium up), or once their heartbeat lapses, taken by a surviving worker's maintenance.

Real workers run a plain `time.sleep` job (no ffmpeg: this is about the queue)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Retry
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.worker import Worker

from runtime import handles
from tests.conftest import Stack
from tests.support.api_process import start_worker
from tests.support.queues import own_queue_prefix
from tests.support.wait import wait_until
from workers import lost, pipeline


@pytest.fixture
def own_prefix(stack: Stack) -> Iterator[dict[str, str]]:
    """Queues of this test only, so no other worker takes its jobs."""
    with own_queue_prefix("lost") as prefix:
        yield {**os.environ, **stack.env, "PODIUM_QUEUE_PREFIX": prefix}


def _worker(env: dict[str, str], log: Path, **settings: str) -> subprocess.Popen[bytes]:
    return start_worker({**env, **settings}, log)


def _sleep_job(seconds: int, retries: int = 2) -> Job:
    media = pipeline.queue(pipeline.media_queue_name(), handles.redis_connection())
    return media.enqueue("time.sleep", seconds, retry=Retry(max=retries) if retries else None,
                         job_timeout=300)


def _running_on(job: Job) -> str | None:
    """Name of the worker running the job now, else None."""
    conn = handles.redis_connection()
    registry = StartedJobRegistry(queue=pipeline.queue(pipeline.media_queue_name(), conn))
    for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
        if job_id == job.id:
            try:
                return Execution.fetch(execution_id, job_id, conn).worker_name
            except ValueError:
                return None
    return None


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def test_jobs_of_a_dead_worker_are_requeued_at_once(own_prefix: dict[str, str],
                                                     tmp_path: Path) -> None:
    conn = handles.redis_connection()
    job = _sleep_job(120)
    waiting = _sleep_job(1)
    worker = _worker(own_prefix, tmp_path / "worker.log")
    try:
        name = lost.worker_name(worker.pid)
        assert wait_until(lambda: _running_on(job), timeout=60, what="job started") == name
    finally:
        _kill(worker)
    assert lost.requeue_jobs_of(conn, "podium.elsewhere.1") == []  # another worker: untouched
    assert lost.requeue_jobs_of(conn, name) == [job.id]
    job.refresh()
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == 1
    media = pipeline.queue(pipeline.media_queue_name(), conn)
    assert media.get_job_ids() == [job.id, waiting.id]  # at the front, before newer work
    assert name not in [w.name for w in Worker.all(connection=conn)]
    assert lost.requeue_jobs_of(conn, name) == []  # nothing twice


def test_job_out_of_retries_fails_instead(own_prefix: dict[str, str], tmp_path: Path) -> None:
    conn = handles.redis_connection()
    job = _sleep_job(120, retries=0)
    worker = _worker(own_prefix, tmp_path / "worker.log")
    try:
        wait_until(lambda: _running_on(job), timeout=60, what="job started")
    finally:
        _kill(worker)
    assert lost.requeue_jobs_of(conn, lost.worker_name(worker.pid)) == []
    assert job.get_status(refresh=True) == JobStatus.FAILED


def test_surviving_worker_takes_over_when_nobody_supervises(own_prefix: dict[str, str],
                                                            tmp_path: Path) -> None:
    """The no-supervisor path: a worker vanishes, its job's heartbeat lapses, and another
    worker's maintenance pass requeues and runs it (short intervals for the test)."""
    quick = {"PODIUM_JOB_MONITORING_INTERVAL_S": "1", "PODIUM_JOB_HEARTBEAT_GRACE_S": "3",
             "PODIUM_MAINTENANCE_INTERVAL_S": "3"}
    job = _sleep_job(120)
    first = _worker(own_prefix, tmp_path / "a.log", **quick)
    second = None
    try:
        wait_until(lambda: _running_on(job), timeout=60, what="job started")
        second = _worker(own_prefix, tmp_path / "b.log", **quick)
        survivor = lost.worker_name(second.pid)
        wait_until(lambda: survivor in [w.name for w in Worker.all(
            connection=handles.redis_connection())], timeout=60, what="second worker up")
        first.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        # RQ's worker records the execution (the started registry) before its work horse marks
        # the job started: resumed = both
        wait_until(lambda: _running_on(job) == survivor
                   and job.get_status(refresh=True) == JobStatus.STARTED,
                   timeout=60, interval=0.2, what="job resumed on the surviving worker")
        print(f"\nno supervisor: kill -> job running again on the survivor "
              f"{time.monotonic() - killed:.1f} s")
        assert job.get_status(refresh=True) == JobStatus.STARTED
    finally:
        _kill(first)
        if second is not None:
            _kill(second)
