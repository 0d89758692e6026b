"""Stream a multipart/form-data upload straight into storage, never holding the file in memory.

FastAPI's UploadFile would first spool the whole body to a temporary file; here the body is
parsed as it arrives and the file part is pushed to S3 in multipart chunks, so memory stays at
about two parts whatever the upload's size, and an oversized upload is cut off early.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from ingest.errors import (
    InvalidInput,
    InvalidMedia,
    PodiumError,
    UnsupportedMediaType,
    UploadTooLarge,
)
from ingest.media.probe import SNIFF_BYTES, sniff_demuxer
from ingest.storage.s3 import PART_SIZE, MultipartWriter, Storage

MAX_FIELD_BYTES = 4096
MAX_FIELDS = 20


class BadForm(InvalidInput):
    code = "invalid_form"


@dataclass
class StreamedForm:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0
    demuxer: str | None = None


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    headers: dict[bytes, bytes] = field(default_factory=dict)
    value: bytearray = field(default_factory=bytearray)


async def stream_form_to_storage(
    body: AsyncIterator[bytes], content_type: str, storage: Storage, key: str, max_bytes: int,
) -> StreamedForm:
    """Parse the form; the part named `file` goes to `key`. Nothing is left behind on error."""
    ctype, params = parse_options_header(content_type)
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType(
            "Send the upload as multipart/form-data with a 'file' field.")
    state = _FormState(storage, key, max_bytes)
    try:
        parser = MultipartParser(params[b"boundary"], state.callbacks())
        async for chunk in body:
            parser.write(chunk)
            state.check()
            await state.drain(final=False)
        parser.finalize()
        state.check()
        await state.drain(final=True)
        return await state.finish()
    except FormParserError as exc:  # a malformed body or boundary is the client's error
        await state.abort()
        raise BadForm("The body is not valid multipart/form-data.") from exc
    except BaseException:
        await state.abort()
        raise


class _FormState:
    """Callbacks of the multipart parser, plus the S3 writer of the file part."""

    def __init__(self, storage: Storage, key: str, max_bytes: int) -> None:
        self.storage, self.key, self.max_bytes = storage, key, max_bytes
        self.form = StreamedForm()
        self.part = _Part()
        self._hname = bytearray()
        self._hvalue = bytearray()
        self.pending = bytearray()
        self.writer: MultipartWriter | None = None
        self.error: PodiumError | None = None
        self.head = bytearray()
        self.file_seen = False
        self.file_done = False
        self.ended = False  # the closing boundary arrived (the parser itself never checks)

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin, "on_header_field": self._hfield,
            "on_header_value": self._hval, "on_header_end": self._hend,
            "on_headers_finished": self._headers_done, "on_part_data": self._data,
            "on_part_end": self._end, "on_end": self._form_end,
        }

    def _begin(self) -> None:
        self.part = _Part()

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _hval(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _hend(self) -> None:
        self.part.headers[bytes(self._hname).lower()] = bytes(self._hvalue)
        self._hname.clear()
        self._hvalue.clear()

    def _headers_done(self) -> None:
        disp, params = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        if disp != b"form-data" or b"name" not in params:
            self.error = BadForm("A form part has no name.")
            return
        self.part.name = params[b"name"].decode("utf-8", "replace")
        if b"filename" in params:
            self.part.filename = params[b"filename"].decode("utf-8", "replace")
        if self.part.name == "file":
            if self.file_seen:
                self.error = BadForm("Send exactly one 'file' part.", code="multiple_files")
            self.file_seen = True
            self.form.filename = self.part.filename

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.error:
            return
        chunk = data[start:end]
        if self.part.name == "file":
            self.form.size += len(chunk)
            if self.form.size > self.max_bytes:
                self.error = UploadTooLarge(
                    f"The file is larger than the limit of {self.max_bytes} bytes.")
                return
            self.pending += chunk
        else:
            if len(self.part.value) + len(chunk) > MAX_FIELD_BYTES:
                self.error = BadForm(f"Field '{self.part.name}' is too long.",
                                     code="field_too_long")
                return
            self.part.value += chunk

    def _end(self) -> None:
        if self.part.name == "file":
            self.file_done = True
        elif self.part.name and not self.error:
            if len(self.form.fields) >= MAX_FIELDS:
                self.error = BadForm("Too many form fields.")
                return
            try:
                self.form.fields[self.part.name] = self.part.value.decode("utf-8")
            except UnicodeDecodeError:
                self.error = BadForm(f"Field '{self.part.name}' is not UTF-8 text.")

    def _form_end(self) -> None:
        self.ended = True

    def check(self) -> None:
        if self.error:
            raise self.error

    async def drain(self, final: bool) -> None:
        """Sniff the first bytes once, then hand full parts to the S3 writer off the event loop."""
        if self.form.demuxer is None and (len(self.pending) >= SNIFF_BYTES or
                                          (final and self.file_seen)):
            self.form.demuxer = sniff_demuxer(bytes(self.pending[:SNIFF_BYTES]))
        if self.form.demuxer is None:
            return
        if self.writer is None:
            self.writer = await run_in_threadpool(self.storage.multipart_writer, self.key,
                                                  "application/octet-stream")
        if len(self.pending) >= PART_SIZE or (final and self.pending):
            data = bytes(self.pending)
            self.pending.clear()
            await run_in_threadpool(self.writer.write, data)

    async def finish(self) -> StreamedForm:
        if not self.ended:
            raise BadForm("The form ends early: its closing boundary is missing.")
        if not self.file_seen:
            raise BadForm("The form has no 'file' field.", code="file_required")
        if self.form.size == 0:
            raise InvalidMedia("The uploaded file is empty.", code="empty_file")
        assert self.writer is not None
        await run_in_threadpool(self.writer.complete)
        return self.form

    async def abort(self) -> None:
        self.pending.clear()
        if self.writer is not None:
            await run_in_threadpool(self.writer.abort)
