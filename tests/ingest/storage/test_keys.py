"""Exact tests for object-storage key builders: layout, and names that could escape it."""

from __future__ import annotations

import pytest

from ingest.storage import keys

ID = "as-0123456789abcdef"


def test_layout() -> None:
    assert keys.asset_prefix(ID) == "assets/as-0123456789abcdef/"
    assert keys.asset_record(ID) == "assets/as-0123456789abcdef/asset.json"
    assert keys.source(ID) == "assets/as-0123456789abcdef/source/original"
    assert keys.hls_prefix(ID) == "assets/as-0123456789abcdef/hls/"
    assert keys.master_playlist(ID) == "assets/as-0123456789abcdef/hls/master.m3u8"
    assert keys.media_playlist(ID, "720p") == "assets/as-0123456789abcdef/hls/720p/index.m3u8"
    assert keys.hls_object(ID, "720p/seg-00001.ts") == (
        "assets/as-0123456789abcdef/hls/720p/seg-00001.ts"
    )
    assert keys.hls_object(ID, "subs_en.vtt") == "assets/as-0123456789abcdef/hls/subs_en.vtt"


def test_every_key_is_under_the_asset_prefix() -> None:
    prefix = keys.asset_prefix(ID)
    for key in (
        keys.asset_record(ID),
        keys.source(ID),
        keys.hls_prefix(ID),
        keys.master_playlist(ID),
        keys.media_playlist(ID, "360p"),
        keys.hls_object(ID, "a/b/c.ts"),
    ):
        assert key.startswith(prefix)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../x",
        "a/../../b",
        "..",
        "a/..",
        "/etc/passwd",
        "/x",
        "720p/",
        "720p//seg.ts",
        ".hidden",
        "a\\b",
        "seg..ts",
        "a/./b",
        "x" * 65,
        "seg 1.ts",
        "seg\n.ts",
        "%2e%2e/x",
    ],
)
def test_hls_object_rejects_unsafe_names(name: str) -> None:
    with pytest.raises(ValueError, match="unsafe HLS object name"):
        keys.hls_object(ID, name)


def test_media_playlist_rejects_unsafe_rendition() -> None:
    with pytest.raises(ValueError):
        keys.media_playlist(ID, "../other")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("720p", True),
        ("seg-00001.ts", True),
        ("index.m3u8", True),
        ("a_b.C-1", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("..", False),
        ("a..b", False),
        ("-x", False),
        ("_x", False),
        ("a/b", False),
    ],
)
def test_is_safe_name(name: str, safe: bool) -> None:
    assert keys.is_safe_name(name) is safe


@pytest.mark.parametrize(
    ("asset_id", "valid"),
    [
        (ID, True),
        ("up-ffffffffffffffff", True),
        ("as-0123456789ABCDEF", False),
        ("as-0123456789abcde", False),
        ("as-0123456789abcdef0", False),
        ("as_0123456789abcdef", False),
        ("a-0123456789abcdef", False),
        ("as-0123456789abcdeg", False),
        (ID + "\n", False),
        ("../0123456789abcdef", False),
        ("", False),
    ],
)
def test_is_valid_id(asset_id: str, valid: bool) -> None:
    assert keys.is_valid_id(asset_id) is valid


def test_new_asset_ids_are_valid() -> None:
    from ingest.assets.models import new_asset_id

    assert all(keys.is_valid_id(new_asset_id()) for _ in range(50))


def test_versions_are_stored_apart_under_the_asset_prefix() -> None:
    aid = "as-0123456789abcdef"
    assert keys.source(aid, 0) == keys.source(aid) == f"assets/{aid}/source/original"
    assert keys.source(aid, 2) == f"assets/{aid}/v2/source/original"
    assert keys.master_playlist(aid, 1) == f"assets/{aid}/v1/hls/master.m3u8"
    assert keys.media_playlist(aid, "720p", 3) == f"assets/{aid}/v3/hls/720p/index.m3u8"
    assert keys.hls_object(aid, "720p/seg-00000.ts", 1) == f"assets/{aid}/v1/hls/720p/seg-00000.ts"
    assert keys.version_root(aid, 1).startswith(keys.asset_prefix(aid))
    with pytest.raises(ValueError):
        keys.version_root(aid, -1)
