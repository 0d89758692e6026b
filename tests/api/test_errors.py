"""The one code → status table: every error kind answers a deliberate status."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import api
import ingest
from api.errors import STATUS_BY_CODE, status_of
from ingest.captions.asr import AsrError
from ingest.captions.files import CaptionError
from ingest.errors import (
    AssetNotFound,
    FfmpegFailed,
    InvalidInput,
    InvalidMedia,
    PodiumError,
    StorageError,
    UploadTooLarge,
)


def _all_error_classes() -> list[type[PodiumError]]:
    for package in (ingest, api):
        for mod in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(mod.name)
    seen: list[type[PodiumError]] = []
    todo: list[type[PodiumError]] = [PodiumError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


def _instance(cls: type[PodiumError]) -> PodiumError:
    if issubclass(cls, FfmpegFailed):
        return cls("x", command=["ffmpeg"], stderr_tail="")
    if issubclass(cls, CaptionError | AsrError):
        return cls(cls.code, "x")  # type: ignore[call-arg]
    return cls("x")


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_kind_has_a_deliberate_status(cls: type[PodiumError]) -> None:
    status = status_of(_instance(cls))
    if issubclass(cls, FfmpegFailed):
        assert status == 500  # never shown as such: jobs turn it into a permanent error
    else:
        assert 400 <= status < 600 and status != 500, cls


def test_a_specific_code_falls_back_on_its_kind() -> None:
    assert status_of(InvalidInput("x", code="some_new_field_rule")) == 422
    assert status_of(AssetNotFound.of("as-0")) == 404
    assert status_of(StorageError("down")) == 503
    assert status_of(UploadTooLarge("big")) == 413
    assert status_of(InvalidMedia("bad", code="truncated_media")) == 422
    assert status_of(CaptionError("caption_binary", "NUL bytes")) == 415


def test_the_table_has_only_client_or_unavailable_statuses_but_ffmpeg() -> None:
    odd = {c: s for c, s in STATUS_BY_CODE.items() if s >= 500 and s != 503}
    assert odd == {"ffmpeg_failed": 500}
