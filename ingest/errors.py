"""Exception types of the domain. Every error carries a snake_case code a user can read."""

from __future__ import annotations


class PodiumError(Exception):
    """Base of Podium's errors: ``code`` is stable and machine-readable, ``message`` for people."""

    code: str = "podium_error"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class PermanentError(PodiumError):
    """Retrying cannot help: the input is bad or breaks a limit. The asset ends `errored`."""


class TransientError(PodiumError):
    """Storage or Redis hiccup, killed process: the job is retried with backoff."""

    code = "transient_failure"
    status = 503


class InvalidMedia(PermanentError):
    """The upload is not playable media of an accepted kind."""

    code = "invalid_media"
    status = 422


class LimitExceeded(PermanentError):
    """The media is playable but breaks a configured limit (duration, resolution, streams...)."""

    code = "limit_exceeded"
    status = 422


class UploadTooLarge(PermanentError):
    code = "upload_too_large"
    status = 413


class NotFound(PodiumError):
    code = "not_found"
    status = 404


class Conflict(PodiumError):
    code = "conflict"
    status = 409


class FfmpegFailed(PodiumError):
    """ffmpeg exited non-zero. Carries the full command and the tail of stderr for the log."""

    code = "ffmpeg_failed"
    status = 500

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
        return f"{self.message}\ncommand: {cmd}\nstderr tail:\n{self.stderr_tail}"


class FfmpegTimeout(FfmpegFailed):
    code = "ffmpeg_timeout"


class StorageError(TransientError):
    code = "storage_unavailable"
