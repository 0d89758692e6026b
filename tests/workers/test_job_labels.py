"""Labels of the job metrics: bounded by the code, never by ids."""

from __future__ import annotations

from rq import Retry
from rq.job import Job

from workers import metrics
from workers.worker import job_outcome, job_stage


def test_stage_is_the_first_word_of_the_job_id() -> None:
    assert job_stage("transcode-as-1f2e") == "transcode"
    assert job_stage("deliver-dl-9") == "deliver"
    assert job_stage("chunk-as-1f2e-00003") == "chunk"
    assert job_stage("asrun-ch-1-1700000000000") == "asrun"
    assert job_stage("0b1c2d3e") == "other"  # an id of RQ's own: no label of its own


def _job(result: object) -> Job:
    job = Job.__new__(Job)
    job._result = result
    return job


def test_outcome_is_the_returned_word_or_failed() -> None:
    assert job_outcome(_job("ready"), ok=True) == "ready"
    assert job_outcome(_job("as-1f2e is done"), ok=True) == "ok"
    assert job_outcome(_job({"x": 1}), ok=True) == "ok"
    assert job_outcome(_job(Retry(max=1)), ok=True) == "retry"
    assert job_outcome(_job("ready"), ok=False) == "failed"


def test_observation_lands_in_the_smallest_bucket_that_holds_it() -> None:
    assert metrics._bucket(metrics.TRANSCODE_SPEED, 0.1) == "0.25"
    assert metrics._bucket(metrics.TRANSCODE_SPEED, 1.0) == "1.0"
    assert metrics._bucket(metrics.TRANSCODE_SPEED, 1.01) == "1.5"
    assert metrics._bucket(metrics.TRANSCODE_SPEED, 1e6) == "+Inf"
