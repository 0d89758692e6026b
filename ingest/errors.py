"""Every error Podium raises on purpose, in one hierarchy.

An error carries a stable snake_case ``code`` and a ``message`` for people; never an HTTP
status (api/errors.py maps codes to statuses in one table). The message is public: the API
answers it and asset/track records keep it, so it never holds an endpoint, a bucket, an object
key, a local path, a command or another exception's text; those go into ``detail``, which only
the logs show (``str(error)``). The base class says what kind of
failure it is, which is what jobs act on:

- ``InvalidInput``: a request, form field, caption file or id we refuse; nothing changed.
- ``NotFound`` / ``Conflict``: the thing is missing, or not in a state that allows the action.
- ``PermanentError``: processing cannot succeed (bad media, a broken limit); the job ends the
  asset or track `errored` with the code, and is not retried.
- ``TransientError``: storage, Redis or a lock is unavailable; the job raises and RQ retries.
- ``FfmpegFailed``: an ffmpeg run failed; jobs turn it into one of the above.

A subclass fixes its code; a raise site may pass a more specific ``code`` of the same kind.
"""

from __future__ import annotations

import re


class PodiumError(Exception):
    """Base of Podium's errors: ``code`` is stable and machine-readable, ``message`` for people."""

    code: str = "podium_error"

    def __init__(self, message: str, *, code: str | None = None,
                 detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    def __str__(self) -> str:
        return f"{self.message} [{self.detail}]" if self.detail else self.message


# --- requests we refuse ----------------------------------------------------------------------
class InvalidInput(PodiumError):
    """A request, form field, file or id we refuse; nothing was changed."""

    code = "invalid_request"


class TooLarge(InvalidInput):
    """A body, file or field larger than its limit."""

    code = "payload_too_large"


class UnsupportedMediaType(InvalidInput):
    """A body whose type we do not take (not multipart, not a caption file...)."""

    code = "unsupported_media_type"


class Unauthorized(PodiumError):
    """No credentials where they are needed."""

    code = "missing_api_key"


class Forbidden(PodiumError):
    """Credentials that do not allow the action."""

    code = "invalid_api_key"


class NotFound(PodiumError):
    code = "not_found"


class AssetNotFound(NotFound):
    code = "asset_not_found"

    @classmethod
    def of(cls, asset_id: str) -> AssetNotFound:
        return cls(f"No asset {asset_id!r}.")


class Conflict(PodiumError):
    """The thing exists but its state does not allow the action (not ready, busy...)."""

    code = "conflict"


class QuotaExceeded(PodiumError):
    """The caller already has as much work in flight as it may; try again once some is done."""

    code = "quota_exceeded"


class TooManyJobs(QuotaExceeded):
    code = "too_many_jobs"


# --- processing outcomes -----------------------------------------------------------------------
class PermanentError(PodiumError):
    """Retrying cannot help: the input is bad or breaks a limit. The asset ends `errored`."""

    code = "processing_failed"


class InvalidMedia(PermanentError):
    """The upload is not playable media of an accepted kind."""

    code = "invalid_media"


class LimitExceeded(PermanentError):
    """The media is playable but breaks a configured limit (duration, resolution, streams...)."""

    code = "limit_exceeded"


class UploadTooLarge(LimitExceeded):
    code = "upload_too_large"


class SourceMissing(PermanentError):
    code = "source_missing"


class TransientError(PodiumError):
    """Storage or Redis hiccup, killed process: the job is retried with backoff."""

    code = "transient_failure"


class StorageError(TransientError):
    code = "storage_unavailable"

    PUBLIC_MESSAGE = "Storage is unavailable; try again shortly."

    @classmethod
    def during(cls, action: str, exc: BaseException) -> StorageError:
        """The public message; ``action`` (with its key) and the cause only in the detail."""
        return cls(cls.PUBLIC_MESSAGE, detail=f"{action}: {exc}")


class QueueUnavailable(TransientError):
    code = "service_unavailable"


_STREAM_KEY = re.compile(r"((?:rtmps?|srt)://[^\s/?]+/[^\s/?]+/)[^\s'\"?&]+")
_STREAM_SECRET = re.compile(r"((?:passphrase|streamid)=)[^\s'\"&]+")


def redact_stream_secrets(text: str) -> str:
    """The text without live stream keys (`rtmp://host/live/{key}`) or SRT passphrases: an
    ffmpeg error names its command and input, and goes to logs and job records."""
    return _STREAM_SECRET.sub(r"\1***", _STREAM_KEY.sub(r"\1***", text))


class FfmpegFailed(PodiumError):
    """ffmpeg exited non-zero. Carries the full command and the tail of stderr for the log."""

    code = "ffmpeg_failed"

    def __init__(self, message: str, *, command: list[str], stderr_tail: str,
                 returncode: int | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.command = command
        self.stderr_tail = stderr_tail
        self.returncode = returncode

    @property
    def killed_by_signal(self) -> bool:
        """Killed from outside (OOM killer, operator): worth another try, unlike bad input."""
        return self.returncode is not None and self.returncode < 0

    def __str__(self) -> str:
        cmd = " ".join(self.command)
        return redact_stream_secrets(
            f"{super().__str__()}\ncommand: {cmd}\nstderr tail:\n{self.stderr_tail}")


class FfmpegTimeout(FfmpegFailed):
    code = "ffmpeg_timeout"
