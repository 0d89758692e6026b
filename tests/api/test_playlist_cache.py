"""The media-playlist cache: least recently used first out, never past its byte budget."""

from __future__ import annotations

from api.playlist_cache import ENTRY_OVERHEAD, PlaylistCache


def test_entries_expire() -> None:
    cache: PlaylistCache[str] = PlaylistCache(10_000)
    cache.put("a", "text", expires_at=100.0)
    assert cache.get("a", now=99.0) == "text"
    assert cache.get("a", now=100.0) is None
    assert len(cache) == 0 and cache.nbytes == 0


def test_least_recently_used_goes_first() -> None:
    entry = 100
    cache: PlaylistCache[str] = PlaylistCache(3 * (entry + ENTRY_OVERHEAD))
    for key in "abc":
        cache.put(key, "x" * entry, expires_at=1e9)
    assert cache.get("a", now=0) is not None  # a is now the most recent
    cache.put("d", "x" * entry, expires_at=1e9)
    assert cache.get("b", now=0) is None
    assert [k for k in "acd" if cache.get(k, now=0)] == ["a", "c", "d"]
    assert cache.nbytes == 3 * (entry + ENTRY_OVERHEAD) == cache.budget_bytes


def test_never_past_the_budget() -> None:
    cache: PlaylistCache[int] = PlaylistCache(50_000)
    for i in range(10_000):
        cache.put(i, "#EXTM3U\n" * (i % 40 + 1), expires_at=1e9)
        assert cache.nbytes <= 50_000
    assert 0 < len(cache) < 10_000


def test_replacing_an_entry_and_one_larger_than_the_budget() -> None:
    cache: PlaylistCache[str] = PlaylistCache(1_000)
    cache.put("a", "x" * 100, expires_at=1e9)
    cache.put("a", "y" * 200, expires_at=1e9)
    assert len(cache) == 1 and cache.nbytes == 200 + ENTRY_OVERHEAD
    cache.put("huge", "z" * 5_000, expires_at=1e9)
    assert cache.get("huge", now=0) is None and cache.get("a", now=0) == "y" * 200
