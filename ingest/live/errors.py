"""Why a live stream refuses a publisher or a request."""

from __future__ import annotations

from ingest.errors import Conflict, Forbidden, NotFound, TransientError


class LiveStreamNotFound(NotFound):
    code = "live_stream_not_found"

    @classmethod
    def of(cls, stream_id: str) -> LiveStreamNotFound:
        return cls(f"Live stream {stream_id} does not exist.")


class StreamKeyRefused(Forbidden):
    """A publisher whose key is unknown, revoked or of an ended stream."""

    code = "stream_key_refused"


class StreamKeyInUse(Conflict):
    """A second publisher on a key whose stream is already being published."""

    code = "stream_key_in_use"


class LiveStreamBusy(TransientError):
    code = "live_stream_busy"
