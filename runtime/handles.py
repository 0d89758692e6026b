"""Per-process handles the jobs share: settings, storage, Redis, the asset and webhook stores."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis

from config import Settings, get_settings
from ingest.assets.store import AssetStore
from ingest.channels.store import ChannelStore
from ingest.live.store import LiveStreamStore
from ingest.media.probe import Limits
from ingest.storage.s3 import Storage, StorageConfig
from ingest.uploads.slots import SlotStore
from ingest.uploads.transfers import Transfers
from ingest.webhooks.store import DeliveryLog, WebhookStore


def storage_config(s: Settings) -> StorageConfig:
    if not s.s3_secret_key:
        raise RuntimeError("PODIUM_S3_SECRET_KEY is not set (podium up generates one)")
    return StorageConfig(endpoint=s.s3_endpoint, region=s.s3_region, bucket=s.s3_bucket,
                         access_key=s.s3_access_key, secret_key=s.s3_secret_key,
                         public_endpoint=s.s3_public_endpoint,
                         connect_timeout_s=s.s3_connect_timeout_s,
                         read_timeout_s=s.s3_read_timeout_s, max_attempts=s.s3_max_attempts)


def limits(s: Settings) -> Limits:
    return Limits(
        max_duration_s=s.max_duration_s, min_duration_s=s.min_duration_s,
        max_width=s.max_width, max_height=s.max_height, max_fps=s.max_fps,
        max_streams=s.max_streams, allowed_formats=s.allowed_format_set,
        allowed_video_codecs=s.allowed_video_codec_set,
        allowed_audio_codecs=s.allowed_audio_codec_set,
    )


@lru_cache
def redis_connection() -> Redis:
    return Redis.from_url(get_settings().redis_url)


READY_REDIS_TIMEOUT_S = 1.0


@lru_cache
def readiness_redis() -> Redis:
    """A connection for readiness probes only: a Redis that hangs fails the probe in a second
    (the shared one has no read timeout, as RQ's blocking dequeues need)."""
    return Redis.from_url(get_settings().redis_url, socket_connect_timeout=READY_REDIS_TIMEOUT_S,
                          socket_timeout=READY_REDIS_TIMEOUT_S)


@lru_cache
def storage() -> Storage:
    return Storage(storage_config(get_settings()))


def asset_store() -> AssetStore:
    return AssetStore(storage(), redis_connection(), get_settings().queue_prefix)


@lru_cache
def channel_store() -> ChannelStore:
    """One per process: it holds the compiled timelines the playlist requests reuse."""
    return ChannelStore(storage(), redis_connection(), get_settings().queue_prefix)


def webhook_store() -> WebhookStore:
    return WebhookStore(storage(), redis_connection(), get_settings().queue_prefix)


def delivery_log() -> DeliveryLog:
    s = get_settings()
    return DeliveryLog(redis_connection(), s.queue_prefix, s.webhook_log_size)


def reset() -> None:
    """Forget cached handles (tests change settings between runs)."""
    get_settings.cache_clear()
    redis_connection.cache_clear()
    readiness_redis.cache_clear()
    storage.cache_clear()
    channel_store.cache_clear()


def slot_store() -> SlotStore:
    return SlotStore(storage(), redis_connection(), get_settings().queue_prefix)


def transfers() -> Transfers:
    return Transfers(storage(), redis_connection(), get_settings().queue_prefix)


def live_store() -> LiveStreamStore:
    return LiveStreamStore(storage(), redis_connection(), get_settings().queue_prefix)
