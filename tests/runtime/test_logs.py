"""Log lines: JSON or text, with the bound request id and the ids of what a line is about."""

from __future__ import annotations

import json
import logging

import pytest

from runtime import logs


def record(message: str = "hello %s", *args: object) -> logging.LogRecord:
    rec = logging.LogRecord("podium.test", logging.INFO, __file__, 1, message, args or ("you",),
                            None)
    logs.ContextFilter().filter(rec)
    return rec


def test_json_line_carries_the_bound_ids() -> None:
    scope = {"type": "http", "path_params": {"asset_id": "as-1", "rendition": "720p"}}
    with logs.RequestContext(scope, "req-1"), logs.bound(job_id=None, stream_id="ls-9"):
        line = json.loads(logs.JsonFormatter().format(record()))
    assert line["message"] == "hello you" and line["level"] == "info"
    assert line["logger"] == "podium.test" and line["ts"].endswith("+00:00")
    assert (line["request_id"], line["asset_id"], line["stream_id"]) == ("req-1", "as-1", "ls-9")
    assert "rendition" not in line and "job_id" not in line  # only ids; None is not bound
    after = json.loads(logs.JsonFormatter().format(record()))
    assert set(after) == {"ts", "level", "logger", "message"}  # unbound once the block ends


def test_text_line_shows_the_ids_before_a_traceback() -> None:
    with logs.bound(request_id="r", asset_id="as-2"):
        try:
            raise ValueError("boom")
        except ValueError:
            rec = record()
            rec.exc_info = __import__("sys").exc_info()
    text = logs.TextFormatter().format(rec)
    first, rest = text.split("\n", 1)
    assert first.endswith("hello you [request_id=r asset_id=as-2]")
    assert "ValueError: boom" in rest


@pytest.mark.parametrize("given, kept", [
    ("abc-123", True), ("a.b:c_d", True), ("x" * 128, True), ("x" * 129, False),
    ("", False), ("has space", False), ('q"uote', False), ("line\nbreak", False)])
def test_a_client_request_id_is_kept_only_when_it_is_a_plain_token(given: str,
                                                                    kept: bool) -> None:
    assert logs.valid_request_id(given) == (given if kept else None)


def test_configure_installs_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    level = root.level
    try:
        logs.configure("json", "INFO")
        logs.configure("json", "INFO")
        assert sum(1 for h in root.handlers if getattr(h, "podium", False)) == 1
        with logs.bound(channel_id="ch-1"):
            logging.getLogger("podium.x").info("on air")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert (line["message"], line["channel_id"]) == ("on air", "ch-1")
    finally:
        for h in [h for h in root.handlers if getattr(h, "podium", False)]:
            root.removeHandler(h)
        root.setLevel(level)
