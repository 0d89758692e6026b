from datetime import UTC, datetime, timedelta

import pytest

from ingest.lifecycle.live import LIVE_STREAM, public_stream
from ingest.lifecycle.machine import InvalidTransition
from ingest.live.models import LiveSession, LiveStatus, LiveStream, new_stream_key

L = LiveStatus


def _stream(**extra: object) -> LiveStream:
    return LiveStream(id="ls-0123456789abcdef", title="t", stream_key=new_stream_key(),
                      reconnect_window_s=60, max_duration_s=3600, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(("before", "after"), [
    (None, L.IDLE), (L.IDLE, L.ACTIVE), (L.ACTIVE, L.DISCONNECTED), (L.DISCONNECTED, L.ACTIVE),
    (L.DISCONNECTED, L.ENDED), (L.ACTIVE, L.ENDED), (L.IDLE, L.ENDED)])
def test_allowed(before: LiveStatus | None, after: LiveStatus) -> None:
    assert LIVE_STREAM.allowed(before, after)


@pytest.mark.parametrize(("before", "after"), [
    (None, L.ACTIVE), (L.ENDED, L.ACTIVE), (L.ENDED, L.IDLE), (L.IDLE, L.DISCONNECTED),
    (L.ACTIVE, L.IDLE)])
def test_refused(before: LiveStatus | None, after: LiveStatus) -> None:
    with pytest.raises(InvalidTransition):
        LIVE_STREAM.check(before, after)


def test_window_and_duration() -> None:
    now = datetime.now(UTC)
    gone = _stream(status=L.DISCONNECTED, disconnected_at=now - timedelta(seconds=61))
    assert gone.window_passed(now)
    assert not _stream(status=L.DISCONNECTED, disconnected_at=now).window_passed(now)
    long_ = _stream(status=L.ACTIVE, sessions=[LiveSession(publisher="a#1",
                                                            started_at=now - timedelta(hours=2))])
    assert long_.over_duration(now)
    assert not _stream(status=L.ACTIVE, sessions=[LiveSession(publisher="a#1")]).over_duration()


def test_events_never_carry_the_key() -> None:
    stream = _stream()
    assert stream.stream_key not in str(public_stream(stream))
