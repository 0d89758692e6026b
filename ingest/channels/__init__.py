"""Channels: a producer's run-of-show played to viewers as one live HLS stream.

models (the channel document), schedule (pure: document + clock → what plays when),
editing (pure: producer edits as new timeline epochs), compat (what can join a channel),
store (the document in the bucket, cached in Redis), playlists (live HLS with `m3u8`).
"""
