"""What the hit layer reads of a request itself: only values the routes would read the same way;
anything else goes to the route (which validates it and answers)."""

from __future__ import annotations

from typing import Any

import pytest

from api.playlist_hits import IF_NONE_MATCH_MAX, TOKEN_MAX, _plain_request, hot_routes


def scope(query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    return {"type": "http", "method": "GET", "query_string": query,
            "headers": [(b"host", b"x"), *(headers or [])]}


def test_a_plain_request_gives_its_token_and_etag() -> None:
    assert _plain_request(scope()) == (None, None)
    assert _plain_request(scope(b"token=1700000000.abc")) == ("1700000000.abc", None)
    assert _plain_request(scope(b"v=1&token=t&x")) == ("t", None)
    assert _plain_request(scope(b"token=a%2Bb%3D")) == ("a+b=", None)  # decoded as Starlette does
    assert _plain_request(scope(b"token=")) == ("", None)
    assert _plain_request(scope(headers=[(b"if-none-match", b'"abc"')])) == (None, '"abc"')


@pytest.mark.parametrize("query, headers", [
    (b"token=a&token=b", []),
    (b"token=" + b"t" * (TOKEN_MAX + 1), []),
    (b"", [(b"if-none-match", b'"a"'), (b"if-none-match", b'"b"')]),
    (b"", [(b"if-none-match", b"x" * (IF_NONE_MATCH_MAX + 1))]),
])
def test_anything_the_route_would_judge_goes_to_the_route(
        query: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    assert _plain_request(scope(query, headers)) is None


def test_the_limits_are_the_routes_own() -> None:
    assert _plain_request(scope(b"token=" + b"t" * TOKEN_MAX)) == ("t" * TOKEN_MAX, None)
    by_path = {hot.route.path: hot for hot in hot_routes()}
    assert set(by_path) == {"/play/{asset_id}.m3u8", "/play/{asset_id}/{rendition}.m3u8",
                            "/live/{channel_id}.m3u8", "/live/{channel_id}/{name}.m3u8"}
    for hot in by_path.values():
        token = next(p for p in hot.route.dependant.query_params if p.name == "token")
        assert [m.max_length for m in token.field_info.metadata
                if hasattr(m, "max_length")] == [TOKEN_MAX]
        assert set(hot.params) == set(hot.pattern.groupindex)
